"""The first turn's paths where the seqs reserved for the hand-over's record (patch
`hand-over-records`) are given back or taken by a second Humano block: closed hours,
`no_agents`, voicemail, and `no_agents` followed by a block that queues in the same turn. The
SQL transcript, once the run has ended (nothing left to record), is the workflow's, with no seq
left out."""

from __future__ import annotations

import pytest

from store.conversations import get_conversation, messages_after
from tests.conftest import conversation_handle, conversation_wid, running_stack
from tests.test_handoff import publish, say, setup_omni

pytestmark = pytest.mark.asyncio

CLOSED = """schedule:
  timezone: America/Sao_Paulo
  hours: {mon-sun: ["08:00-18:00"]}
  emergency_closed: true"""


def flow(key: str, *, schedule: str = "", check: bool = False, then: str = "fim") -> str:
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: once}}
{schedule}
start: primeiro
blocks:
  primeiro:
    type: human
    service: Suporte
    check_agents_online: {str(check).lower()}
    text: Tentando o primeiro.
    on: {{finished: segundo, abandoned: fim, voicemail: fim, closed: fim, no_agents: {then},
         unavailable: fim}}
  segundo:
    type: human
    service: Suporte
    text: Tentando o segundo.
    on: {{finished: fim, abandoned: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}}
  fim: {{type: end, text: Até logo!}}
"""


@pytest.mark.parametrize("path", ["closed", "no_agents", "voicemail", "no_agents_then_queued"])
async def test_given_back_seqs_leave_no_gap(time_env, settings, engine, path):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, voicemail_seconds=60 if path == "voicemail" else 0)
        status = "paused" if path == "voicemail" else "offline"
        if path != "closed":
            for name in ("Ana", "Beto"):
                await http.post(
                    "/api/agent/status", json={"status": status}, headers=omni.agent(name)
                )
        source = {
            "closed": flow(omni.key, schedule=CLOSED),
            "no_agents": flow(omni.key, check=True),
            "voicemail": flow(omni.key),
            "no_agents_then_queued": flow(omni.key, check=True, then="segundo"),
        }[path]
        await publish(http, source)
        turn = await say(http, "c1", "1", "oi")
        conversation = turn["conversation_id"]
        replies = [r["text"] for r in turn["replies"]]
        expected = {
            "closed": (["Até logo!"], "ended"),
            "no_agents": (["Até logo!"], "ended"),
            "voicemail": (["Tentando o primeiro."], "voicemail"),
            "no_agents_then_queued": (["Tentando o segundo."], "waiting"),
        }[path]
        assert (replies[: len(expected[0])], turn["status"]) == expected, turn
        if path == "no_agents_then_queued":  # queued by the second block, recorded by it
            row = get_conversation(engine, conversation)
            assert row is not None and row.status == "waiting"
            logged = messages_after(engine, conversation)
            assert [(m.seq, m.kind) for m in logged] == [  # nobody online: no wait promised
                (1, "text"),
                (2, "text"),
            ]
            assert [r["seq"] for r in turn["replies"]] == [2]
            left = await http.post(f"/api/conversations/{conversation}/leave")
            assert left.status_code == 202
        handle = conversation_handle(time_env, conversation_wid("loja", "c1"))
        async with time_env.time_skipping_unlocked():  # voicemail: its 60 s pass
            assert (await handle.result()).status == "ended"
        workflow_log = await handle.query("transcript", 0)
        logged = messages_after(engine, conversation)
        assert [m.seq for m in logged] == list(range(1, len(logged) + 1))  # no seq left out
        assert [(m.seq, m.sender, m.kind, m.text) for m in logged] == [
            (m["seq"], m["sender"], m["kind"], m.get("text")) for m in workflow_log
        ]
        last = "O cliente saiu da conversa." if path == "no_agents_then_queued" else "Até logo!"
        assert logged[-1].text == last
