"""WhatsApp and Telegram end to end: doc-shaped webhooks posted to the running API, the
platforms' send endpoints stood in by a loopback server (tests/channel_standin.py), the worker
delivering what the conversation says, on the time-skipping test server."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from channels.signatures import whatsapp_signature
from store.tables import conversations
from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, Standin, standin
from tests.conftest import admin_headers, conversation_handle, running_stack
from tests.live import eventually
from tests.test_handoff import Omni, setup_omni

pytestmark = pytest.mark.asyncio

ACCESS_TOKEN = "EAAJB-test-access-token"
APP_SECRET = "0123456789abcdef0123456789abcdef"


def flow(key: str) -> str:
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}"}}
start: inicio
blocks:
  inicio: {{type: message, text: "Olá, {{{{ contact.name }}}}!", next: menu}}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Falar com um especialista, next: humano}}
      - {{label: Sair, next: fim}}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    check_hours: false
    on: {{finished: fim}}
  fim: {{type: end, text: Até logo!}}
"""


async def post_whatsapp(
    http: httpx.AsyncClient, payload: dict, secret: str = APP_SECRET
) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await http.post(
        "/api/channels/whatsapp/loja",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": whatsapp_signature(secret, body),
        },
    )


def texts(phone: Standin) -> list[str]:
    """What the customer's phone shows, in order (text bodies, interactive bodies, templates)."""
    shown = []
    for body in phone.sends():
        if body.get("type") == "text":
            shown.append(body["text"]["body"])
        elif body.get("type") == "interactive":
            shown.append(body["interactive"]["body"]["text"])
        elif body.get("type") == "template":
            shown.append(f"template:{body['template']['name']}")
    return shown


async def wait_for(phone: Standin, count: int) -> list[str]:
    await asyncio.to_thread(phone.wait, lambda s: len(texts(s)) >= count)
    return texts(phone)


async def whatsapp_bot(http: httpx.AsyncClient, phone: Standin) -> tuple[Omni, dict]:  # type: ignore[type-arg]
    """Omni set up, the bot `loja` published with the Humano block and its WhatsApp channel
    connected to the stand-in phone: (the Omni setup, the channel's answer)."""
    omni = await setup_omni(http)
    published = await http.put(
        "/api/bots/loja",
        content=flow(omni.key),
        headers={**admin_headers(), "Content-Type": "text/yaml"},
    )
    assert published.status_code in (200, 201), published.text
    saved = await http.put(
        "/api/bots/loja/channels/whatsapp",
        json={
            "phone_number_id": phone.phone_number_id,
            "access_token": ACCESS_TOKEN,
            "app_secret": APP_SECRET,
        },
        headers=admin_headers(),
    )
    assert saved.status_code == 200, saved.text
    return omni, saved.json()


async def agent_transcript(http: httpx.AsyncClient, conversation: str, auth: dict) -> list[dict]:
    got = await http.get(f"/api/agent/conversations/{conversation}/messages", headers=auth)
    assert got.status_code == 200, got.text
    return got.json()


async def test_a_whatsapp_customer_reaches_an_agent(time_env, settings, engine) -> None:  # type: ignore[no-untyped-def]
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni, saved = await whatsapp_bot(http, phone)
            verify_token = saved["generated"]["verify_token"]
            assert saved["secrets_set"] == ["access_token", "app_secret", "verify_token"]
            listed = (await http.get("/api/bots/loja/channels", headers=admin_headers())).json()
            assert ACCESS_TOKEN not in json.dumps(listed) and verify_token not in json.dumps(listed)

            # Meta's subscription handshake
            hub = {
                "hub.mode": "subscribe",
                "hub.verify_token": verify_token,
                "hub.challenge": "1158201444",
            }
            shake = await http.get("/api/channels/whatsapp/loja", params=hub)
            assert (shake.status_code, shake.text) == (200, "1158201444")
            wrong = await http.get(
                "/api/channels/whatsapp/loja", params={**hub, "hub.verify_token": "nope-nope"}
            )
            assert wrong.status_code == 403

            # a bad signature, and a body signed with another secret, are refused
            first = p.whatsapp([p.wa_text("wamid.in1", "oi")])
            bad = await http.post(
                "/api/channels/whatsapp/loja",
                json=first,
                headers={"X-Hub-Signature-256": "sha256=00"},
            )
            assert bad.status_code == 401 and bad.json()["code"] == "unauthorized"
            assert (await post_whatsapp(http, first, secret="another-secret")).status_code == 401
            assert phone.requests == []

            taken = await post_whatsapp(http, first)
            assert taken.status_code == 200 and taken.json() == {"messages": 1, "statuses": 0}
            shown = await wait_for(phone, 2)
            assert shown == ["Olá, Maria Souza!", "Como posso ajudar?"]
            menu = phone.sends()[1]["interactive"]
            assert menu["type"] == "list"  # "Falar com um especialista" is over 20 characters
            receipts = [s.body for s in phone.requests if s.body.get("status") == "read"]
            assert receipts == [
                {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in1"}
            ]

            # Meta delivers the same webhook again: nothing new is said
            assert (await post_whatsapp(http, first)).status_code == 200

            choose = await post_whatsapp(
                http, p.whatsapp([p.wa_list_reply("wamid.in2", "1", "Falar com um especial…")])
            )
            assert choose.json()["messages"] == 1
            shown = await wait_for(phone, 3)
            assert shown == [
                "Olá, Maria Souza!",
                "Como posso ajudar?",
                "Vou te transferir para um especialista.",
            ]
            await post_whatsapp(http, p.whatsapp([p.wa_image("wamid.in3", "meu boleto")]))

            queue = (await http.get("/api/agent/queue", headers=omni.agent("Ana"))).json()
            [waiting] = queue
            conversation = waiting["conversation_id"]
            picked = await http.post(
                f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
            )
            assert picked.status_code == 200, picked.text
            said = [m for m in picked.json()["transcript"] if m["from"] == "customer"]
            assert [m["text"] for m in said] == ["oi", "1", "[imagem] meu boleto"]
            assert said[2]["data"]["media"] == {
                "type": "image",
                "id": "1003383421387256",
                "mime_type": "image/jpeg",
            }

            # the agent answers; a Graph API 429 then a 503 are retried, and order holds
            phone.script = [
                (
                    429,
                    {"error": {"message": "(#130429) Rate limit hit", "code": 130429}},
                    {"Retry-After": "1"},
                ),
                (503, {"error": {"message": "Service temporarily unavailable", "code": 2}}, {}),
            ]
            for n, text in enumerate(["Olá, sou a Ana.", "Vou ver o seu boleto.", "Pronto!"]):
                sent = await http.post(
                    f"/api/agent/conversations/{conversation}/messages",
                    json={"text": text, "message_id": f"ana-{n}"},
                    headers=omni.agent("Ana"),
                )
                assert sent.status_code == 200, sent.text
                if n == 0:  # an internal note between two messages never reaches the phone
                    note = await http.post(
                        f"/api/agent/conversations/{conversation}/notes",
                        json={"text": "nota interna: cliente VIP"},
                        headers=omni.agent("Ana"),
                    )
                    assert note.status_code == 200, note.text
            shown = await wait_for(phone, 7)
            assert not any("nota interna" in t for t in shown)
            agent_part = [t for t in shown[3:] if "Ana" in t or "boleto" in t or t == "Pronto!"]
            assert agent_part[-3:] == ["Olá, sou a Ana.", "Vou ver o seu boleto.", "Pronto!"]
            assert shown.count("Vou ver o seu boleto.") == 1 and shown.count("Olá, sou a Ana.") == 1
            assert phone.violations == []

            # statuses: delivered and read, recorded per message, visible to the agent (once the
            # worker recorded what it sent: a status of a send not yet recorded is not ours)
            async def deliveries() -> list[dict] | None:
                got = await http.get(
                    f"/api/agent/conversations/{conversation}/deliveries", headers=omni.agent("Ana")
                )
                rows = got.json()
                return rows if len(rows) >= len(phone.sends()) else None

            await eventually(deliveries, "the sends recorded")
            ana_wamid = next(
                f"wamid.out{i + 1}"
                for i, body in enumerate(phone.sends())
                if body.get("text", {}).get("body") == "Olá, sou a Ana."
            )
            statuses = p.whatsapp(
                statuses=[
                    p.wa_status(ana_wamid, "delivered"),
                    p.wa_status(ana_wamid, "read"),
                    p.wa_status(ana_wamid, "delivered"),
                ]
            )
            assert (await post_whatsapp(http, statuses)).json() == {"messages": 0, "statuses": 3}
            recorded = await eventually(deliveries, "the statuses")
            assert [d["status"] for d in recorded].count("read") == 1
            assert all(d["status"] in ("sent", "delivered", "read") for d in recorded)

            # a permanent refusal is told to the agent, and the next message still goes out
            phone.refuse = lambda body: "PROIBIDO" in json.dumps(body)
            for n, text in enumerate(["texto PROIBIDO", "Algo mais?"]):
                await http.post(
                    f"/api/agent/conversations/{conversation}/messages",
                    json={"text": text, "message_id": f"ana-p{n}"},
                    headers=omni.agent("Ana"),
                )
            await wait_for(phone, 8)
            assert texts(phone)[-1] == "Algo mais?"

            async def failures() -> list[dict] | None:
                rows = await agent_transcript(http, conversation, omni.agent("Ana"))
                return [m for m in rows if m["kind"] == "delivery_failure"] or None

            [failure] = await eventually(failures, "the refusal told to the agent")
            assert failure["from"] == "system"
            assert failure["text"].startswith(
                "Mensagem não entregue ao cliente no WhatsApp: HTTP 400"
            )

            # 25 hours later the window is closed: nothing free-form goes out, the agent is told
            await time_env.sleep(timedelta(hours=25))
            before = len(phone.sends())
            await http.post(
                f"/api/agent/conversations/{conversation}/messages",
                json={"text": "Ainda está aí?", "message_id": "ana-late"},
                headers=omni.agent("Ana"),
            )

            async def notices(count: int) -> list[str] | None:
                rows = await agent_transcript(http, conversation, omni.agent("Ana"))
                found = [m["text"] for m in rows if m["kind"] == "delivery_failure"]
                return found if len(found) >= count else None

            closed = await eventually(lambda: notices(2), "the window-closed notice")
            assert closed[-1].startswith("Janela de 24 horas do WhatsApp fechada")
            assert len(phone.sends()) == before

            # with an approved template configured, the customer gets it (once per silence)
            await http.put(
                "/api/bots/loja/channels/whatsapp",
                json={
                    "phone_number_id": phone.phone_number_id,
                    "template_name": "retomar_atendimento",
                },
                headers=admin_headers(),
            )
            for n in range(2):
                await http.post(
                    f"/api/agent/conversations/{conversation}/messages",
                    json={"text": f"Olá de novo {n}", "message_id": f"ana-t{n}"},
                    headers=omni.agent("Ana"),
                )
            found = await eventually(lambda: notices(4), "the template notices")
            assert [t for t in texts(phone) if t.startswith("template:")] == [
                "template:retomar_atendimento"
            ]
            assert found[-1].startswith(
                "Janela de 24 horas do WhatsApp fechada: a mensagem não foi entregue; enviamos"
            )
            assert phone.violations == []


async def test_a_message_to_a_conversation_still_closing_is_sent_again_by_meta(
    dev_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The conversation ended, its farewell still waits on a Graph API 429: a new message from
    the customer cannot start the next conversation yet. The webhook says 503 with Retry-After,
    so Meta sends it again, rather than 200 with nothing taken (the message lost)."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(dev_env, settings, engine) as http:
            await whatsapp_bot(http, phone)
            first = await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.e1", "oi")]))
            assert first.status_code == 200, first.text
            await wait_for(phone, 2)  # the greeting and the menu
            busy = {"error": {"message": "(#130429) Rate limit hit", "code": 130429}}
            phone.script = [(429, busy, {"Retry-After": "30"})]  # the farewell waits 30 s
            bye = await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.e2", "2")]))
            assert bye.status_code == 200, bye.text
            hello = p.whatsapp([p.wa_text("wamid.e3", "oi de novo")])
            again = await post_whatsapp(http, hello)
            assert again.status_code == 503, again.text
            assert again.json()["code"] == "conversation_ending"
            assert int(again.headers["Retry-After"]) >= 1
            # the farewell goes, the conversation closes; Meta's resend starts the next one
            with engine.connect() as conn:
                [wid] = conn.scalars(sa.select(conversations.c.workflow_id))
            await asyncio.wait_for(conversation_handle(dev_env, wid).result(), 60)
            resent = await post_whatsapp(http, hello)
            assert resent.json() == {"messages": 1, "statuses": 0}, resent.text


async def test_a_text_with_a_control_character_is_taken_not_lost(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """A form feed pasted from a PDF: the message is the customer's all the same (the character
    replaced), never refused in silence behind Meta's 200."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            await whatsapp_bot(http, phone)
            taken = await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.ff", "oi\x0c")]))
            assert taken.json() == {"messages": 1, "statuses": 0}, taken.text
            assert (await wait_for(phone, 2))[1].startswith("Como posso ajudar?")
            with engine.connect() as conn:
                said = conn.scalar(sa.text("SELECT text FROM messages WHERE sender = 'customer'"))
            assert said == "oi\ufffd"


async def test_an_attempt_sends_nothing_once_its_time_is_up(engine) -> None:  # type: ignore[no-untyped-def]
    """An attempt within its last seconds before Temporal times it out sends nothing (the next
    attempt would send the same part while this one's is on its way: twice to the customer);
    an attempt with time left sends it."""
    import dataclasses
    from datetime import UTC, datetime

    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from activities.channel_send import ChannelEndpoints, ChannelSend, ChannelSender
    from store import channel_connectors
    from transbordo.stack import stack_ring
    from workflows.contracts import ChannelRef, Message

    with standin(ACCESS_TOKEN) as phone:
        ring = stack_ring()
        secrets = {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET}
        channel_connectors.save(
            engine,
            ring,
            channel_connectors.ConnectorSettings(
                bot="loja", platform="whatsapp", account_id=phone.phone_number_id,
                secrets=secrets, template_name=None, template_language=None,
            ),
        )  # fmt: skip
        base = ChannelEndpoints(whatsapp=f"{phone.url}/{WA_VERSION}", telegram=phone.url)
        sender = ChannelSender(engine, ring, base)
        now = datetime.now(UTC)
        job = ChannelSend(
            conversation_id="c-late", bot="loja",
            channel=ChannelRef(platform="whatsapp", recipient=p.CUSTOMER),
            message=Message(seq=1, sender="bot", text="Olá!", at=now), last_customer_at=now,
        )  # fmt: skip
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, start_to_close_timeout=timedelta(seconds=3))
        with pytest.raises(ApplicationError, match="time is up"):
            await env.run(sender.send, job)
        assert texts(phone) == []
        env.info = dataclasses.replace(env.info, start_to_close_timeout=timedelta(seconds=60))
        assert (await env.run(sender.send, job)).outcome == "sent"
        assert texts(phone) == ["Olá!"]
