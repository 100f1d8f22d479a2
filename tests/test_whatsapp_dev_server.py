"""WhatsApp on the real dev server: a customer reaches the Humano block, an agent answers through
the agent API, the customer's phone (the Graph API stand-in) gets the agent's messages in order,
and a message the platform refuses for good is told to the agent."""

from __future__ import annotations

import asyncio
import json
import zlib

import pytest

from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, standin
from tests.conftest import running_stack
from tests.live import eventually
from tests.test_channel_whatsapp import (
    ACCESS_TOKEN,
    post_whatsapp,
    texts,
    wait_for,
    whatsapp_bot,
)

pytestmark = pytest.mark.asyncio


async def test_agent_messages_reach_the_phone_in_order(dev_env, settings, engine):  # type: ignore[no-untyped-def]
    sender = f"55119{zlib.crc32(settings.task_queue.encode()) % 10**8:08d}"  # one per test run
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(dev_env, settings, engine) as http:
            omni, _ = await whatsapp_bot(http, phone)
            hello = p.whatsapp([p.wa_text(f"wamid.{sender}.1", "oi", sender)], sender=sender)
            assert (await post_whatsapp(http, hello)).json()["messages"] == 1
            choose = p.whatsapp(
                [p.wa_list_reply(f"wamid.{sender}.2", "1", "Falar", sender)], sender=sender
            )
            assert (await post_whatsapp(http, choose)).json()["messages"] == 1
            await wait_for(phone, 3)
            [waiting] = (await http.get("/api/agent/queue", headers=omni.agent("Ana"))).json()
            conversation = waiting["conversation_id"]
            picked = await http.post(
                f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
            )
            assert picked.status_code == 200, picked.text

            phone.refuse = lambda body: "RECUSADO" in json.dumps(body)
            said = [f"Mensagem {n} da Ana" for n in range(1, 6)]
            for n, text in enumerate([*said[:3], "RECUSADO", *said[3:]]):
                sent = await http.post(
                    f"/api/agent/conversations/{conversation}/messages",
                    json={"text": text, "message_id": f"dev-{n}"},
                    headers=omni.agent("Ana"),
                )
                assert sent.status_code == 200, sent.text
            await asyncio.to_thread(phone.wait, lambda s: said[-1] in texts(s))
            assert [t for t in texts(phone) if t.startswith("Mensagem ")] == said
            assert all(s.body["to"] == sender for s in phone.requests if "to" in s.body)

            async def refused() -> list[str] | None:
                rows = await http.get(
                    f"/api/agent/conversations/{conversation}/messages", headers=omni.agent("Ana")
                )
                return [m["text"] for m in rows.json() if m["kind"] == "delivery_failure"] or None

            [notice] = await eventually(refused, "the refusal told to the agent")
            assert notice.startswith("Mensagem não entregue ao cliente no WhatsApp")
            assert phone.violations == []
