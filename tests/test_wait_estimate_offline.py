"""No wait is promised when nobody who serves the service is online, and the emergency closure's
help text says what it closes (job H9), against the example bot `loja` (flows/loja.yaml) on the
real stack.

The plantão branch (`2`, block `humano`: `check_hours: false`, `check_agents_online: false`)
queues the customer whoever is logged in. With every agent of Suporte offline the customer reads
the block's text and no "Tempo estimado de espera" (not even the periodic ones); agents who are
paused or away are still online (logged in) and the estimate stands, as with one available.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from omni.care_words import about_minutes
from tests.conftest import admin_headers, conversation_handle, conversation_wid, running_stack
from tests.test_browser import browser, live_server  # noqa: F401 (fixture)
from tests.test_browser_admin_edits import admin_page
from tests.test_care import flow as care_flow
from tests.test_handoff import Omni, publish, say, setup_omni
from transbordo.connector_auth import ConnectorAuth

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.asyncio

LOJA = (Path(__file__).resolve().parents[1] / "flows" / "loja.yaml").read_text(encoding="utf-8")
PLANTAO = "Vou te transferir para um especialista."


def loja(key: str) -> str:
    """The example bot as shipped, with this stack's integration key."""
    return LOJA.replace("${LOJA_OMNI_KEY}", key)


async def set_status(http: httpx.AsyncClient, omni: Omni, name: str, status: str) -> None:
    changed = await http.post(
        "/api/agent/status", json={"status": status}, headers=omni.agent(name)
    )
    assert changed.status_code == 200, changed.text


async def plantao(http: httpx.AsyncClient, contact: str) -> dict:
    """`oi`, then `2` (Falar com um especialista): the customer waits in Suporte's queue."""
    await say(http, contact, f"{contact}-1", "oi")
    turn = await say(http, contact, f"{contact}-2", "2")
    assert turn["status"] == "waiting", turn
    return turn


async def test_nobody_of_the_service_online_hears_no_wait_estimate(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, loja(omni.key))
        for name in ("Ana", "Beto"):  # all of Suporte; Caio (Financeiro) stays available
            await set_status(http, omni, name, "offline")
        turn = await plantao(http, "5511")
        assert [(r["kind"], r["text"]) for r in turn["replies"]] == [("text", PLANTAO)]
        conversation = turn["conversation_id"]
        info = (await http.get(f"/api/conversations/{conversation}")).json()
        assert info["position"] == 1 and info["estimated_wait_seconds"] is None
        said = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        assert [m["kind"] for m in said].count("wait_time_notice") == 0
        assert [m["seq"] for m in said] == list(range(1, len(said) + 1))  # the seq given back

        # someone comes online: from then on the estimate is there again
        await set_status(http, omni, "Ana", "available")
        info = (await http.get(f"/api/conversations/{conversation}")).json()
        assert info["position"] == 1 and info["estimated_wait_seconds"] is not None


async def test_an_available_agent_keeps_the_estimate(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, loja(omni.key))
        await set_status(http, omni, "Beto", "offline")  # Ana alone, free: taken at once
        turn = await plantao(http, "5511")
        assert [r["text"] for r in turn["replies"]] == [
            PLANTAO,
            "Tempo estimado de espera: menos de 1 minuto.",
        ]
        assert turn["replies"][1]["kind"] == "wait_time_notice"
        assert turn["replies"][1]["data"] == {"estimated_wait_seconds": 0, "position": 1}


@pytest.mark.parametrize("status", ["paused", "away"])
async def test_a_paused_or_away_agent_is_online_and_the_estimate_stands(
    time_env, settings, engine, status
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, loja(omni.key))
        await set_status(http, omni, "Beto", "offline")
        await set_status(http, omni, "Ana", "paused")
        if status == "away":  # set by automatic assignment after lapsed offers (store/routing)
            agent_id = omni.agents["Ana"]["id"]
            changed = await http.patch(
                f"/api/omni/agents/{agent_id}", json={"status": "away"}, headers=admin_headers()
            )
            assert changed.status_code == 200, changed.text
        turn = await plantao(http, "5511")
        notice = turn["replies"][1]
        assert notice["kind"] == "wait_time_notice"
        seconds = notice["data"]["estimated_wait_seconds"]
        assert notice["text"] == f"Tempo estimado de espera: {about_minutes(seconds)}."


async def test_periodic_looks_promise_nothing_while_nobody_is_online(time_env, settings, engine):
    care = {"wait_notice_interval_seconds": 60, "wait_notice_repeat": 2}
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, care=care, abandon_seconds=600)
        await publish(http, care_flow(omni.key, "periodic"))
        for name in ("Ana", "Beto"):
            await set_status(http, omni, name, "offline")
        await say(http, "espera", "espera-1", "oi")
        turn = await say(http, "espera", "espera-2", "1")
        assert turn["status"] == "waiting"
        handle = conversation_handle(time_env, conversation_wid("loja", "espera"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"  # abandoned at 600 s
        said = (await http.get(f"/api/conversations/{turn['conversation_id']}/messages")).json()
        texts = [m["text"] for m in said]
        assert "Atendimento encerrado por inatividade." in texts  # ten looks went by
        assert [m for m in said if m["kind"] == "wait_time_notice"] == []
        assert not any("Tempo estimado" in (text or "") for text in texts)


async def test_the_emergency_closure_says_that_the_plantao_still_hands_over(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    errors: list[str] = []
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, auth=ConnectorAuth(engine)) as http,
    ):
        omni = await setup_omni(http)
        await publish(http, loja(omni.key))
        page = await admin_page(browser, base, "/bots/loja/atendimento-humano", errors)
        expect = playwright_api.expect
        await expect(page.locator("#version-line")).to_have_text("Versão 1 publicada")
        switch = page.get_by_label("Fechamento emergencial")
        await expect(switch).to_have_accessible_description(
            re.compile(r"Blocos que não checam o horário \(plantão\) continuam transferindo")
        )
        await switch.check()
        hours = page.locator("#hours-form")
        await hours.get_by_role("button", name="Salvar").click()
        await expect(page.locator("#version-line")).to_have_text("Versão 2 publicada")

        # what the text says: the plantão (check_hours: false) still hands over ...
        turn = await plantao(http, "5511")
        assert turn["replies"][0]["text"] == PLANTAO
        # ... and a block that checks the hours takes its "fora do horário" route
        await say(http, "5522", "5522-1", "oi")
        await say(http, "5522", "5522-2", "1")
        closed = await say(http, "5522", "5522-3", "12345678901")
        assert closed["status"] == "bot"
        assert closed["replies"][0]["text"].startswith(
            "A segunda via com um atendente sai só no horário de atendimento. Voltamos assim que"
        )
    assert not errors, errors
