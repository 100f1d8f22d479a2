"""A new run queued by its first message has that turn recorded by the hand-over's local
activity (patch `hand-over-records`): the conversation's row says `waiting` in its service and
the log holds the turn, the block's text and the wait notice at the seqs the reply gave, before
the answer comes back; no recording timer, task or marker of its own follows."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType

from store.conversations import get_conversation, messages_after
from tests.conftest import conversation_handle, conversation_wid, running_stack
from tests.test_handoff import publish, say, setup_omni

pytestmark = pytest.mark.asyncio


def direto(key: str, notice: str = "once") -> str:
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: {notice}}}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    on: {{finished: fim, abandoned: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}}
  fim: {{type: end, text: Até logo!}}
"""


@pytest.mark.parametrize("notice", ["once", "never"])
async def test_the_first_turn_is_recorded_by_the_hand_over(time_env, settings, engine, notice):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, direto(omni.key, notice))
        turn = await say(http, "direto", "1", "oi")
        conversation = turn["conversation_id"]
        row = get_conversation(engine, conversation)
        assert row is not None
        assert (row.status, row.service, row.block) == ("waiting", "Suporte", "humano")
        logged = [
            (m.seq, m.sender, m.kind, m.text, m.data) for m in messages_after(engine, conversation)
        ]
        replies = [(r["seq"], "bot", r["kind"], r["text"], r.get("data")) for r in turn["replies"]]
        assert logged[0][1:4] == ("customer", "text", "oi")
        assert [m[:4] for m in logged[1:]] == [r[:4] for r in replies]
        assert [m[0] for m in logged] == list(range(1, len(logged) + 1))  # no seq left out
        kinds = [m[2] for m in logged]
        assert kinds == (["text", "text", "wait_time_notice"] if notice == "once" else ["text"] * 2)
        history = await conversation_handle(
            time_env, conversation_wid("loja", "direto")
        ).fetch_history()
        types = [event.event_type for event in history.events]
        assert types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1
        assert types.count(EventType.EVENT_TYPE_MARKER_RECORDED) == 1  # the LA (no patch's)
        # the pickup's record comes after: the log goes on from there, nothing twice
        picked = await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        assert picked.status_code == 200, picked.text
        await http.post(
            f"/api/agent/conversations/{conversation}/messages",
            json={"text": "Olá, sou a Ana."},
            headers=omni.agent("Ana"),
        )
        again = await say(http, "direto", "2", "obrigado")
        after = messages_after(engine, conversation)
        assert [m.seq for m in after] == list(range(1, len(after) + 1))
        assert [(m.sender, m.text) for m in after[: len(logged)]] == [m[1::2][:2] for m in logged]
        assert after[-1].text == "obrigado" and again["status"] == "in_service"
