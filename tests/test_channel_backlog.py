"""Channel sends never skip entries in silence: while one send to WhatsApp or Telegram is retried
(the platform down), more entries than the workflow's transcript tail holds (200) pile up
behind it. Those that leave the tail unsent are told to the agent in one `delivery_failure`
notice, counting only what was for the customer; the rest go out in order once the platform is
back. Doc-shaped webhooks posted to the running API, the platforms stood in on loopback
(tests/channel_standin.py), on the time-skipping test server (the send's next retry is up to a
minute away: the test skips that minute)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from store.tables import conversations
from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, standin
from tests.conftest import conversation_handle, running_stack
from tests.live import eventually, skip_through
from tests.test_channel_stale_input import connect_telegram, connect_whatsapp, telegram_texts
from tests.test_channel_telegram import BOT_TOKEN, CHAT
from tests.test_channel_whatsapp import ACCESS_TOKEN, agent_transcript, post_whatsapp, wait_for
from tests.test_handoff import Omni, publish, setup_omni
from tests.test_replay import replayer
from workflows.conversation import ConversationWorkflow

pytestmark = pytest.mark.asyncio

ITEMS = 60
"""Messages the bot sends for one "Catálogo": five of them overflow the tail."""
WA_DOWN = (503, {"error": {"message": "Service temporarily unavailable", "code": 2}}, {})
TG_DOWN = (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, {})


def catalog_flow(key: str) -> str:
    after = [f"item{n}" for n in range(2, ITEMS + 1)] + ["menu"]
    items = "\n".join(
        f'  item{n}: {{type: message, text: "Item {n}", next: {then}}}'
        for n, then in enumerate(after, 1)
    )
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
      - {{label: Catálogo, next: item1}}
      - {{label: Falar com um especialista, next: humano}}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    check_hours: false
{items}
"""


def for_the_customer(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries the customer's channel is to get (not the customer's, not notices for the
    agent)."""
    return [m for m in rows if m["from"] != "customer" and m["kind"] != "delivery_failure"]


def shown_as(message: dict[str, Any]) -> str:
    """How an entry reads on the phone (a menu's numbered lines are its buttons there)."""
    return str(message["text"]).split("\n", 1)[0]


async def waiting_for(http: httpx.AsyncClient, omni: Omni) -> str:
    """The conversation once it waits in Ana's queue (every turn before it is done)."""

    async def queued() -> str | None:
        queue = (await http.get("/api/agent/queue", headers=omni.agent("Ana"))).json()
        return queue[0]["conversation_id"] if queue else None

    return await eventually(queued, "the customer in the queue")


async def backlog_notices(
    http: httpx.AsyncClient, conversation: str, omni: Omni
) -> list[dict[str, Any]]:
    """The agent's transcript once it has a notice about entries that left the tail unsent."""

    async def told() -> list[dict[str, Any]] | None:
        rows = await agent_transcript(http, conversation, omni.agent("Ana"))
        found = [m for m in rows if (m["data"] or {}).get("outcome") == "backlog"]
        return rows if found else None

    return await eventually(told, "the backlog told to the agent")


async def test_whatsapp_entries_that_left_the_tail_unsent_are_told_and_the_rest_go_out(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The platform goes down while the bot answers "Catálogo" five times (310 entries) and
    hands the customer over: the first item's send is retried meanwhile. Once it is back, the
    agent reads one notice with how many were not delivered (the customer's own entries in
    that stretch not counted), and the phone gets the first item, then exactly the entries
    still in the tail, in order."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, abandon_seconds=7200)
            await publish(http, catalog_flow(omni.key))
            await connect_whatsapp(http, phone)
            await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.c0", "oi")]))
            assert await wait_for(phone, 2) == ["Olá!", "Como posso ajudar?"]

            phone.script = [WA_DOWN] * 1000
            for n, said in enumerate(["1", "1", "1", "1", "1", "2"], 1):
                taken = await post_whatsapp(http, p.whatsapp([p.wa_text(f"wamid.c{n}", said)]))
                assert taken.json() == {"messages": 1, "statuses": 0}, taken.text
            conversation = await waiting_for(http, omni)
            phone.script.clear()
            await skip_through(time_env, timedelta(minutes=1))  # ~200 sends in it

            rows = await backlog_notices(http, conversation, omni)
            [notice] = [m for m in rows if m["kind"] == "delivery_failure"]
            told = notice["data"]
            [first_item, *_] = [m["seq"] for m in rows if m["text"] == "Item 1"]
            assert told["from_seq"] == first_item + 1  # everything behind the one retried
            stretch = [m for m in rows if told["from_seq"] <= m["seq"] <= told["to_seq"]]
            lost = for_the_customer(stretch)
            assert len(lost) > 100 and len(lost) < len(stretch)  # customer entries not counted
            assert told == {**told, "count": len(lost), "outcome": "backlog"}
            assert notice["from"] == "system"
            assert notice["text"] == (
                f"{len(lost)} mensagens não foram entregues ao cliente no WhatsApp: ficaram na"
                " fila enquanto um envio anterior falhava."
            )
            still = [shown_as(m) for m in for_the_customer(rows) if m["seq"] > told["to_seq"]]
            assert still[-1] == "Vou te transferir para um especialista."
            shown = await wait_for(phone, 3 + len(still))
            assert shown == ["Olá!", "Como posso ajudar?", "Item 1", *still]
            assert phone.violations == []
            # a worker that restarts now replays the run as it went (tests/test_replay.py)
            with engine.connect() as conn:
                [wid] = conn.scalars(sa.select(conversations.c.workflow_id))
            history = await conversation_handle(time_env, wid).fetch_history()
            await replayer(ConversationWorkflow, strict=True).replay_workflow(history)


async def test_telegram_tells_exactly_the_agent_message_lost_behind_a_failing_send(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """Telegram is down while the agent writes twice and the customer sends 205 messages:
    the agent's first message is being retried (it leaves the tail, but is sent), the second
    leaves the tail unsent. The agent is told of exactly that one (not of the customer's 205,
    which never go to the channel), and the agent's next message follows the first."""
    with standin(BOT_TOKEN) as telegram:
        settings = settings.model_copy(update={"telegram_api_base": telegram.url})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, abandon_seconds=7200)
            await publish(http, catalog_flow(omni.key))
            auth = await connect_telegram(http)

            async def customer(n: int, text: str) -> None:
                update = p.telegram_text(n, 100 + n, CHAT, text)
                taken = await http.post("/api/channels/telegram/loja", json=update, headers=auth)
                assert taken.json() == {"messages": 1, "statuses": 0}, taken.text

            await customer(1, "oi")
            await customer(2, "2")
            conversation = await waiting_for(http, omni)
            picked = await http.post(
                f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
            )
            assert picked.status_code == 200, picked.text
            so_far = for_the_customer(await agent_transcript(http, conversation, omni.agent("Ana")))
            await asyncio.to_thread(telegram.wait, lambda s: len(telegram_texts(s)) >= len(so_far))

            async def agent_says(n: int, text: str) -> None:
                sent = await http.post(
                    f"/api/agent/conversations/{conversation}/messages",
                    json={"text": text, "message_id": f"ana-{n}"},
                    headers=omni.agent("Ana"),
                )
                assert sent.status_code == 200, sent.text

            telegram.script = [TG_DOWN] * 1000
            await agent_says(1, "Olá, sou a Ana.")
            await agent_says(2, "Vou ver o seu boleto.")
            for n in range(205):
                await customer(10 + n, f"mensagem {n}")
            await agent_says(3, "Pronto!")
            telegram.script.clear()
            await skip_through(time_env, timedelta(minutes=1))  # ~200 sends in it

            rows = await backlog_notices(http, conversation, omni)
            [notice] = [m for m in rows if m["kind"] == "delivery_failure"]
            [boleto] = [m["seq"] for m in rows if m["text"] == "Vou ver o seu boleto."]
            assert notice["data"] == {
                "from_seq": boleto,
                "to_seq": boleto,
                "count": 1,
                "outcome": "backlog",
            }
            assert notice["text"] == (
                "1 mensagem não foi entregue ao cliente no Telegram: ficou na fila enquanto um"
                " envio anterior falhava."
            )
            expected = [*(shown_as(m) for m in so_far), "Olá, sou a Ana.", "Pronto!"]
            await asyncio.to_thread(
                telegram.wait, lambda s: len(telegram_texts(s)) >= len(expected)
            )
            assert telegram_texts(telegram) == expected
            assert telegram.violations == []
