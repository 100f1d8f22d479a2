"""A platform down costs one hour, not one hour per waiting message: when a send to WhatsApp or
Telegram gives up (CHANNEL_GIVE_UP), the entries waiting behind it are told to the agent at once
in one `delivery_failure` notice and passed over; what comes after is sent as usual once the
platform is back. Doc-shaped webhooks posted to the running API, the platform stood in on
loopback (tests/channel_standin.py), on the time-skipping test server (the hour is skipped).
The recorded history of that path (`tests/histories/channel_give_up.json`, patch
`channel-give-up-behind`) replays only along it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from temporalio import workflow
from temporalio.workflow import NondeterminismError

from store.tables import conversations
from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, standin
from tests.conftest import conversation_handle, running_stack
from tests.live import eventually, skip_through
from tests.test_channel_backlog import WA_DOWN, for_the_customer, shown_as, waiting_for
from tests.test_channel_stale_input import connect_whatsapp
from tests.test_channel_whatsapp import ACCESS_TOKEN, agent_transcript, post_whatsapp, wait_for
from tests.test_handoff import Omni, publish, setup_omni
from tests.test_replay import load, replayer
from workflows import patches
from workflows.conversation import ConversationWorkflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import ConversationInput, ConversationSnapshot

pytestmark = pytest.mark.asyncio

HISTORY = Path(__file__).parent / "histories" / "channel_give_up.json"


def flow(key: str) -> str:
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}"}}
start: inicio
blocks:
  inicio: {{type: message, text: "Olá!", next: menu}}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Novidades, next: n1}}
      - {{label: Falar com um especialista, next: humano}}
  n1: {{type: message, text: Novidade 1, next: n2}}
  n2: {{type: message, text: Novidade 2, next: n3}}
  n3: {{type: message, text: Novidade 3, next: menu}}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    check_hours: false
"""


async def failure_notices(
    http: httpx.AsyncClient, conversation: str, omni: Omni, count: int
) -> list[dict[str, Any]]:
    """The agent's transcript once it has `count` delivery-failure notices."""

    async def told() -> list[dict[str, Any]] | None:
        rows = await agent_transcript(http, conversation, omni.agent("Ana"))
        found = [m for m in rows if m["kind"] == "delivery_failure"]
        return rows if len(found) >= count else None

    return await eventually(told, f"{count} delivery failures told to the agent")


async def test_whatsapp_down_for_an_hour_tells_every_waiting_message_at_once(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """WhatsApp refuses every send while the bot answers "Novidades" and hands the customer
    over: the first news is retried, the rest wait behind it. One hour later the agent reads
    that the first news was not delivered and, in one notice, that the ones behind it were not
    either, because WhatsApp did not answer for an hour (before: one more hour for each).
    WhatsApp back, the agent's message reaches the phone; the passed-over ones never do."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, abandon_seconds=7200)
            await publish(http, flow(omni.key))
            await connect_whatsapp(http, phone)
            await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.g0", "oi")]))
            assert await wait_for(phone, 2) == ["Olá!", "Como posso ajudar?"]

            phone.script = [WA_DOWN] * 1000  # every send refused (read receipts aside)
            for n, said in enumerate(["1", "2"], 1):
                taken = await post_whatsapp(http, p.whatsapp([p.wa_text(f"wamid.g{n}", said)]))
                assert taken.json() == {"messages": 1, "statuses": 0}, taken.text
            conversation = await waiting_for(http, omni)
            await skip_through(time_env, timedelta(minutes=61))

            rows = await failure_notices(http, conversation, omni, 2)
            first, behind = [m for m in rows if m["kind"] == "delivery_failure"]
            [news] = [m["seq"] for m in rows if m["text"] == "Novidade 1"]
            assert first["data"]["seq"] == news
            assert first["text"].startswith(
                "Mensagem não entregue ao cliente no WhatsApp: tentamos por 1 hora, sem sucesso ("
            )  # pt-BR for the agent; the data keeps the technical detail
            assert first["data"]["detail"].startswith("gave up: ")
            waiting = [m for m in for_the_customer(rows) if news < m["seq"] < behind["seq"]]
            assert [shown_as(m) for m in waiting][:3] == [
                "Novidade 2",
                "Novidade 3",
                "Como posso ajudar?",
            ]
            assert shown_as(waiting[-1]) == "Vou te transferir para um especialista."
            assert behind["from"] == "system"
            assert behind["data"] == {
                "from_seq": waiting[0]["seq"],
                "to_seq": waiting[-1]["seq"],
                "count": len(waiting),
                "outcome": "gave_up_behind",
                "after_seq": news,
            }
            assert behind["text"] == (
                f"{len(waiting)} mensagens não foram entregues ao cliente no WhatsApp: o WhatsApp"
                " ficou indisponível por 1 hora."
            )

            phone.script.clear()
            picked = await http.post(
                f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
            )
            assert picked.status_code == 200, picked.text
            sent = await http.post(
                f"/api/agent/conversations/{conversation}/messages",
                json={"text": "Olá, sou a Ana.", "message_id": "ana-1"},
                headers=omni.agent("Ana"),
            )
            assert sent.status_code == 200, sent.text

            async def since_the_notice() -> list[str] | None:
                rows = await agent_transcript(http, conversation, omni.agent("Ana"))
                after = [shown_as(m) for m in for_the_customer(rows) if m["seq"] > behind["seq"]]
                return after if after and after[-1] == "Olá, sou a Ana." else None

            after = await eventually(since_the_notice, "the agent's message in the transcript")
            shown = await wait_for(phone, 2 + len(after))
            assert shown == ["Olá!", "Como posso ajudar?", *after]
            assert phone.violations == []
            # a worker that restarts now replays the run as it went (tests/test_replay.py)
            with engine.connect() as conn:
                [wid] = conn.scalars(sa.select(conversations.c.workflow_id))
            history = await conversation_handle(time_env, wid).fetch_history()
            await replayer(ConversationWorkflow, strict=True).replay_workflow(history)


@workflow.defn(name="ConversationWorkflow")
class EachItsHour(ConversationWorkflow):
    """Asks the patch `channel-give-up-behind` when a send gave up with entries behind it (its
    marker matched) but sends them in turn, as before it."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    def _tell_behind(self, platform: str, gave_up: int) -> None:
        patches.patched(patches.CHANNEL_GIVE_UP_BEHIND)


async def test_the_give_up_history_replays_only_along_its_new_path() -> None:
    """`channel_give_up.json` (tests/record_histories.py: the menu's send gave up with four
    entries behind it, told at once) replays with the current code (tests/test_replay.py
    replays every history), and code that asks the patch but schedules the next send, as
    before it, fails to replay it: the history guards the new path, not only the marker."""
    assert HISTORY.exists()
    current = await replayer(ConversationWorkflow, strict=True).replay_workflow(
        load(HISTORY), raise_on_replay_failure=False
    )
    assert current.replay_failure is None
    old = await replayer(EachItsHour).replay_workflow(load(HISTORY), raise_on_replay_failure=False)
    assert isinstance(old.replay_failure, NondeterminismError), old.replay_failure
