"""The flows folder at the API's start: its files seed bots and publish what is new in them;
what was published on the pages or through the API since is kept across restarts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from omni.keys import hash_key
from tests.conftest import admin_headers, api_client, pydantic_client
from transbordo.settings import Settings

LOJA = (Path(__file__).parent.parent / "flows" / "loja.yaml").read_text()
HOLIDAY = {"date": "2026-11-20", "name": "Consciência Negra"}
STARTUP_LOG = "api.usecases.startup"


@asynccontextmanager
async def started(
    settings: Settings, engine: sa.Engine, time_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """One start of the API (its lifespan publishes the flows folder) on the same database."""
    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:
        yield http


async def newest(http: httpx.AsyncClient, bot: str = "loja") -> dict:  # type: ignore[type-arg]
    answer = await http.get(f"/api/bots/{bot}", headers=admin_headers())
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def page_edit(http: httpx.AsyncClient, body: dict) -> int:  # type: ignore[type-arg]
    """A change on the "Atendimento Humano" page: the new version's number."""
    answer = await http.patch("/api/bots/loja/settings", json=body, headers=admin_headers())
    assert answer.status_code == 201, answer.text
    return answer.json()["version"]  # type: ignore[no-any-return]


def file_of(settings: Settings, source: str) -> Path:
    settings.flows_dir.mkdir(exist_ok=True)
    path = settings.flows_dir / "loja.yaml"
    path.write_text(source, encoding="utf-8")
    return path


async def test_page_edits_survive_a_restart_with_the_same_flows_folder(
    settings, engine, time_env, monkeypatch, caplog
):
    """A holiday added and an Omni key pasted on the page are still there after a restart: the
    file's `${LOJA_OMNI_KEY}` (unset here, a dead key) does not come back over the pasted key."""
    monkeypatch.delenv("LOJA_OMNI_KEY", raising=False)
    path = file_of(settings, LOJA)
    admin = admin_headers()
    async with started(settings, engine, time_env) as http:
        assert (await newest(http))["version"] == 1
        holidays = (await http.get("/api/bots/loja/settings", headers=admin)).json()
        holidays = [*holidays["schedule"]["holidays"], HOLIDAY]
        assert await page_edit(http, {"schedule": {"holidays": holidays}}) == 2
        await http.post("/api/omni/services", json={"name": "Suporte"}, headers=admin)
        integration = await http.post(
            "/api/omni/integrations", json={"service": "Suporte", "bot": "loja"}, headers=admin
        )
        key = integration.json()["api_key"]
        assert await page_edit(http, {"human_service": {"omni_key": key}}) == 3
    caplog.clear()
    caplog.set_level(logging.INFO, logger=STARTUP_LOG)
    async with started(settings, engine, time_env) as http:
        bot = await newest(http)
        assert bot["version"] == 3
        assert bot["flow"]["human_service"]["omni_key"] == "sha256:" + hash_key(key)
        assert "Consciência Negra" in bot["source"]
        settings_now = (await http.get("/api/bots/loja/settings", headers=admin)).json()
        assert settings_now["omni_key"] == {"state": "configured", "variable": None}
    said = [r.getMessage() for r in caplog.records if r.name == STARTUP_LOG]
    assert said == [
        f"bot loja: kept version 3, published after the source of {path} (on the pages or the"
        " API); the file publishes again once its text changes"
    ]


async def test_an_edited_file_still_publishes_over_a_page_edit(
    settings, engine, time_env, monkeypatch
):
    monkeypatch.delenv("LOJA_OMNI_KEY", raising=False)
    path = file_of(settings, LOJA)
    async with started(settings, engine, time_env) as http:
        assert (await newest(http))["version"] == 1
        assert await page_edit(http, {"human_service": {"wait_time_notice": "never"}}) == 2
    edited = LOJA.replace("Bem-vindo à Loja.", "Bem-vindo à Loja Nova.")
    assert edited != LOJA
    path.write_text(edited, encoding="utf-8")
    async with started(settings, engine, time_env) as http:
        bot = await newest(http)
        assert (bot["version"], bot["source"]) == (3, edited)
    async with started(settings, engine, time_env) as http:  # and only once
        assert (await newest(http))["version"] == 3


async def test_a_new_variable_value_republishes_the_file_that_made_the_newest_version(
    settings, engine, time_env, monkeypatch
):
    file_of(settings, LOJA)
    monkeypatch.setenv("LOJA_OMNI_KEY", "tbk_first-key")
    async with started(settings, engine, time_env) as http:
        assert (await newest(http))["version"] == 1
    monkeypatch.setenv("LOJA_OMNI_KEY", "tbk_second-key")
    async with started(settings, engine, time_env) as http:
        bot = await newest(http)
        assert bot["version"] == 2
        assert bot["flow"]["human_service"]["omni_key"] == "sha256:" + hash_key("tbk_second-key")
    async with started(settings, engine, time_env) as http:  # the same value: no new version
        assert (await newest(http))["version"] == 2


@pytest.mark.parametrize("written", ["tbk_literal-key", '"tbk_literal-key"'])
async def test_a_file_with_a_literal_key_keeps_a_page_edit_too(settings, engine, time_env, written):
    """The stored source has a literal key masked: the file is recognised as published all
    the same."""
    literal = LOJA.replace("${LOJA_OMNI_KEY}", written)
    assert literal != LOJA
    file_of(settings, literal)
    async with started(settings, engine, time_env) as http:
        first = await newest(http)
        assert first["version"] == 1 and "tbk_literal-key" not in first["source"]
        assert await page_edit(http, {"human_service": {"wait_time_notice": "never"}}) == 2
    async with started(settings, engine, time_env) as http:
        bot = await newest(http)
        assert bot["version"] == 2 and "wait_time_notice: never" in bot["source"]


KEY_LINE = "omni_key: ${LOJA_OMNI_KEY}         # API key da integração (Omni → Integrações)"


async def test_a_new_variable_value_applies_to_a_version_kept_over_the_file(
    settings, engine, time_env, monkeypatch
):  # type: ignore[no-untyped-def]
    """Review: a holiday added on the page, then the key's variable rotated: the kept version's
    own `${LOJA_OMNI_KEY}` is read again at start (the README's own path: export the key)."""
    file_of(settings, LOJA)
    monkeypatch.setenv("LOJA_OMNI_KEY", "tbk_first-key")
    async with started(settings, engine, time_env) as http:
        assert (await newest(http))["version"] == 1
        now = (await http.get("/api/bots/loja/settings", headers=admin_headers())).json()
        holidays = [*now["schedule"]["holidays"], HOLIDAY]
        assert await page_edit(http, {"schedule": {"holidays": holidays}}) == 2
    monkeypatch.setenv("LOJA_OMNI_KEY", "tbk_second-key")
    async with started(settings, engine, time_env) as http:
        bot = await newest(http)
        assert "${LOJA_OMNI_KEY}" in bot["source"] and "Consciência Negra" in bot["source"]
        assert bot["flow"]["human_service"]["omni_key"] == "sha256:" + hash_key("tbk_second-key")
    async with started(settings, engine, time_env) as http:
        assert (await newest(http))["version"] == 3  # nothing changed: no new version


async def test_a_key_pasted_over_a_quoted_literal_key_survives_a_restart(
    settings, engine, time_env
):  # type: ignore[no-untyped-def]
    """Review: the page writes the pasted key as the file wrote its own, so both texts mask to
    the same stored text; the key's hash tells them apart."""
    file_of(settings, LOJA.replace(KEY_LINE, 'omni_key: "tbk_file-key"'))
    async with started(settings, engine, time_env) as http:
        assert await page_edit(http, {"human_service": {"omni_key": "tbk_pasted-key"}}) == 2
    async with started(settings, engine, time_env) as http:
        bot = await newest(http)
        assert bot["flow"]["human_service"]["omni_key"] == "sha256:" + hash_key("tbk_pasted-key")


async def test_a_commented_key_line_above_a_literal_key_keeps_a_page_edit(
    settings, engine, time_env
):  # type: ignore[no-untyped-def]
    """Review: the text is read as publishing reads it, not by the first `omni_key:` match."""
    file_of(
        settings, LOJA.replace(KEY_LINE, "# omni_key: ${LOJA_OMNI_KEY}\n  omni_key: tbk_file-key")
    )
    async with started(settings, engine, time_env) as http:
        assert await page_edit(http, {"human_service": {"wait_time_notice": "never"}}) == 2
    async with started(settings, engine, time_env) as http:
        bot = await newest(http)
        assert bot["version"] == 2 and "wait_time_notice: never" in bot["source"]
