"""The delivery status of the bot's and the agent's messages on the Tela de Atendimento, in a real
Chromium: a WhatsApp customer (the Graph API stood in on loopback) reaches Ana; Meta's statuses
(delivered, read, failed) show under each message as entregue, lida, falhou; one not reported
yet reads enviada."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, standin
from tests.live import eventually
from tests.test_browser import (
    TIMEOUT_MS,
    Console,
    browser,
    live_server,
    playwright_api,
    signed_in_agent,
)
from tests.test_channel_whatsapp import ACCESS_TOKEN, post_whatsapp, wait_for, whatsapp_bot

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio


async def test_the_agent_sees_what_reached_the_customers_phone(  # type: ignore[no-untyped-def]
    time_env,
    settings,
    engine,
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with live_server(time_env, settings, engine) as base:
            async with httpx.AsyncClient(base_url=base) as http:
                omni, _ = await whatsapp_bot(http, phone)
                await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.in1", "oi")]))
                await wait_for(phone, 2)
                choose = p.wa_list_reply("wamid.in2", "1", "Falar com um especial…")
                await post_whatsapp(http, p.whatsapp([choose]))
                await wait_for(phone, 3)

                context = await browser.new_context(locale="pt-BR", base_url=base)
                agent = await signed_in_agent(
                    context, console, omni.agents["Ana"]["token"], available=False
                )
                await agent.get_by_role("button", name="Atender próximo").click()
                transcript = agent.locator("#transcript")
                await expect(transcript).to_contain_text("Vou te transferir")
                await agent.get_by_label("Mensagem ao cliente").fill("Olá, sou a Ana.")
                await agent.get_by_role("button", name="Enviar").click()
                await asyncio.to_thread(
                    phone.wait, lambda s: any("Olá, sou a Ana." in str(b) for b in s.sends())
                )

                def wamid(text: str) -> str:
                    """The stand-in numbers accepted sends wamid.out1, wamid.out2, ..."""
                    sends = [str(body) for body in phone.sends()]
                    found = [i for i, body in enumerate(sends) if text in body]
                    assert found, (text, sends)
                    return f"wamid.out{found[0] + 1}"

                conversation = await agent.locator("#conv-tabs button").first.get_attribute(
                    "data-conversation"
                )

                async def recorded() -> list[dict] | None:  # the worker wrote every send
                    got = await http.get(
                        f"/api/agent/conversations/{conversation}/deliveries",
                        headers=omni.agent("Ana"),
                    )
                    rows = got.json()
                    return rows if len(rows) >= len(phone.sends()) else None

                await eventually(recorded, "the sends recorded")
                error = {"code": 131026, "title": "Message undeliverable"}
                statuses = [
                    p.wa_status(wamid("Olá, Maria Souza!"), "delivered"),
                    p.wa_status(wamid("Olá, sou a Ana."), "delivered"),
                    p.wa_status(wamid("Olá, sou a Ana."), "read"),
                    p.wa_status(wamid("Vou te transferir"), "failed", error),
                ]
                taken = await post_whatsapp(http, p.whatsapp(statuses=statuses))
                assert taken.json() == {"messages": 0, "statuses": 4}

            def shown(text: str):  # type: ignore[no-untyped-def]
                return transcript.locator(".msg", has_text=text).locator(".delivery")

            await expect(shown("Olá, sou a Ana.")).to_have_text("lida")
            await expect(shown("Olá, Maria Souza!")).to_have_text("entregue")
            await expect(shown("Vou te transferir")).to_have_text("falhou")
            await expect(shown("Como posso ajudar?")).to_have_text("enviada")
            await expect(transcript.locator(".msg.customer .delivery")).to_have_count(0)
            await context.close()
    assert console.errors == []
