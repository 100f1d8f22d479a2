"""The agent's desk in a real Chromium after the admin changes the service: the wrap-up code the
screen lists finishes the conversation, a list gone stale is read again at the refusal, and
the customer's history names, in pt-BR, how an earlier conversation ended, its service and
its agent, and a supervisor's entries in it as the other screens do (not "Supervisor
Supervisor" for the default name)."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import admin_headers, conversation_handle, conversation_wid
from tests.test_browser import Console, browser, live_server, shot, signed_in_agent  # noqa: F401 (fixture)
from tests.test_desk_browser import setup

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.asyncio

TIMEOUT_MS = 15_000


async def change_suporte(base: str, codes: list[str]) -> None:
    """The admin edits Suporte's wrap-up codes (still required)."""
    async with httpx.AsyncClient(base_url=base, headers=admin_headers()) as http:
        services = (await http.get("/api/omni/services")).json()
        suporte = next(s["id"] for s in services if s["name"] == "Suporte")
        wrapup = {"required": True, "codes": codes}
        changed = await http.patch(f"/api/omni/services/{suporte}", json={"wrapup": wrapup})
        assert changed.status_code == 200, changed.text


async def into_queue(base: str, connector: str, contact: str, prefix: str) -> None:
    auth = {"Authorization": f"Bearer {connector}"}
    async with httpx.AsyncClient(base_url=base, headers=auth) as http:
        for i, text in enumerate(["oi", "123"]):
            body = {"contact_id": contact, "message_id": f"{prefix}-{i}", "text": text}
            said = await http.post("/api/bots/loja/messages", json=body)
            assert said.status_code == 200, said.text
        assert said.json()["status"] == "waiting"


async def supervise(base: str) -> None:
    """On the one conversation in service: a whisper and a take-over (for the same agent) under
    the default name, and a barge-in under a name with its title."""
    async with httpx.AsyncClient(base_url=base, headers=admin_headers()) as http:
        (open_now,) = (await http.get("/api/supervisor/conversations/open")).json()
        path = f"/api/supervisor/conversations/{open_now['conversation_id']}"
        for action, body in [
            ("whisper", {"text": "Confira o pedido."}),
            ("barge-in", {"text": "Já vamos resolver.", "supervisor": "Supervisora Carla"}),
            ("take-over", {"agent": open_now["agent_id"]}),
        ]:
            done = await http.post(f"{path}/{action}", json=body)
            assert done.status_code == 200, done.text


async def test_wrapup_codes_changed_while_queued_and_the_history_after(
    time_env,
    settings,
    engine: sa.Engine,
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        agent_token, connector = await setup(base, engine)  # Suporte requires Venda or Dúvida
        await into_queue(base, connector, "5511", "a")
        await change_suporte(base, ["Venda", "Dúvida", "Cancelamento"])
        context = await browser.new_context(
            locale="pt-BR", viewport={"width": 1366, "height": 900}, base_url=base
        )
        agent = await signed_in_agent(context, console, agent_token)
        await expect(agent.locator("#toast")).to_contain_text("Disponível")

        # the code added after the customer queued is listed, and it finishes
        await agent.get_by_role("button", name="Atender próximo").click()
        wrapup = agent.get_by_label("Tabulação")
        await expect(wrapup).to_contain_text("Cancelamento")
        await supervise(base)  # the admin, under the default name "Supervisor"
        await expect(agent.locator("#transcript")).to_contain_text("Supervisor assumiu")
        await wrapup.select_option("Cancelamento")
        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await expect(agent.locator("#toast")).to_contain_text("Atendimento finalizado")
        await conversation_handle(time_env, conversation_wid("loja", "5511")).result()

        # the customer comes back: the history says how the first conversation went
        await into_queue(base, connector, "5511", "b")
        await agent.get_by_role("button", name="Atender próximo").click()
        earlier = agent.locator("#history summary")
        await expect(earlier).to_have_count(1)
        await expect(earlier).to_contain_text(
            "Encerrada · Suporte · Atendente: Ana · Tabulação: Cancelamento"
        )
        await earlier.click()  # its transcript: the supervisor's entries as the screens say them
        lines = agent.locator("#history li")
        await expect(lines.filter(has_text="assumiu")).to_have_text(
            "Sistema: Supervisor assumiu o atendimento."
        )
        await expect(lines.filter(has_text="Confira o pedido")).to_have_text(
            "Supervisor (sussurro ao atendente): Confira o pedido."
        )
        await expect(lines.filter(has_text="Já vamos")).to_have_text(
            "Supervisora Carla: Já vamos resolver."
        )
        await shot(agent, "22-desk-historico-do-cliente")

        # the admin drops Cancelamento meanwhile: the refusal brings the list of now
        await expect(wrapup).to_contain_text("Cancelamento")
        await change_suporte(base, ["Venda", "Retorno"])
        await wrapup.select_option("Cancelamento")
        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await expect(agent.locator("#conv-error")).to_have_text(
            "Escolha uma tabulação da lista do serviço para finalizar."
        )
        await expect(wrapup).to_contain_text("Retorno")
        await expect(wrapup).not_to_contain_text("Cancelamento")

        # and then drops every code: the refusal says to finish without one, which finishes
        await wrapup.select_option("Retorno")
        await change_suporte(base, [])
        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await expect(agent.locator("#conv-error")).to_have_text(
            "O serviço não tem mais tabulações: finalize sem tabulação."
        )
        await expect(wrapup).not_to_contain_text("Retorno")
        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await expect(agent.locator("#toast")).to_contain_text("Atendimento finalizado")
        await context.close()
    assert console.errors == []
