"""The `transbordo` command as a user types it: validate, schema, and chat against a real API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from tests.conftest import pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, serving
from tests.test_channel_dev_server import LOJA_YAML
from transbordo.stack import stack_ring

REPO = Path(__file__).resolve().parents[1]
BLOCK_TYPES = {"message", "question", "menu", "condition", "set", "http", "human", "end"}


def transbordo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "transbordo", *args],
        cwd=REPO,
        env=env or _env_without("LOJA_OMNI_KEY"),
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )


def _env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


def test_validate_accepts_the_example_flows() -> None:
    done = transbordo("validate", "flows/")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "ok"
    # The Omni key variable unset is what publishing tolerates (Humano answers `unavailable`).
    assert "warning: environment variable LOJA_OMNI_KEY is not set" in done.stdout


def test_validate_with_the_key_set_prints_only_ok() -> None:
    done = transbordo("validate", "flows/", env={**os.environ, "LOJA_OMNI_KEY": "tbk_test"})
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


def test_validate_reports_file_line_column_and_fails(tmp_path: Path) -> None:
    broken = tmp_path / "quebrado.yaml"
    broken.write_text(
        "bot: quebrado\n"
        "start: inicio\n"
        "blocks:\n"
        "  inicio: {type: message, text: Oi, next: mneu}\n"
        "  menu: {type: end, text: Tchau}\n",
        encoding="utf-8",
    )
    done = transbordo("validate", str(broken))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    expected = "4:43: block 'inicio', next: unknown block 'mneu' (did you mean 'menu'?)"
    assert f"{broken}:{expected}" in lines
    assert all(line.startswith(f"{broken}:") for line in lines), lines
    assert "problem(s)" in done.stderr and "ok" not in lines


def test_validate_an_unset_http_variable_stays_an_error() -> None:
    done = transbordo("validate", "tests/flows_broken/http_env_vars.yaml")
    assert done.returncode == 1
    assert "url: environment variable FLOW_CRM_URL is not set" in done.stdout


def test_schema_prints_json_schema_with_every_block_type() -> None:
    done = transbordo("schema")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"bot", "start", "blocks"} <= set(schema["properties"])
    types = {
        definition["properties"]["type"].get("const")
        for definition in schema["$defs"].values()
        if "type" in definition.get("properties", {})
    }
    assert types >= BLOCK_TYPES


@pytest.mark.asyncio
async def test_chat_talks_to_a_bot_through_the_api(dev_env, settings, engine) -> None:
    async with running_stack(dev_env, settings, engine, LOJA_YAML):
        app = create_app(settings, engine=engine, client=pydantic_client(dev_env))
        async with serving(app) as api:
            chat = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "transbordo", "chat", "loja",
                "--api", api, "--name", "Ana",
                cwd=REPO,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            async with asyncio.timeout(DEADLINE_SECONDS):
                out, err = await chat.communicate(b"oi\n\n1\n")
    assert chat.returncode == 0, err.decode()
    assert "INFO" not in err.decode()  # no httpx request lines between the bot's messages
    lines = out.decode().splitlines()
    assert lines[0].startswith("Conversando com loja como web_")  # a web session's contact
    assert lines[0].endswith(". Ctrl-D para sair.")
    assert lines[1:] == [
        "bot> Olá, Ana! Bem-vindo à Loja.",
        "bot> Como posso ajudar?",
        "1. Segunda via de boleto",
        "2. Falar com um especialista",
        "3. Horário de atendimento",
        "bot> Qual o seu CPF? (somente os 11 números)",
    ]


def test_chat_says_when_the_api_is_not_there() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "transbordo", "chat", "loja", "--api", "http://127.0.0.1:9"],
        cwd=REPO,
        input="oi\n",
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )
    assert done.returncode == 1
    assert "não respondeu" in done.stderr and "Traceback" not in done.stderr


def test_validate_check_keys_reports_a_key_with_no_live_integration(tmp_path: Path) -> None:
    from omni.models import IntegrationCreate, ServiceCreate
    from store import integrations as integration_store
    from store import services as service_store
    from store.db import open_database

    url = f"sqlite:///{tmp_path / 'omni.db'}"
    engine = open_database(url)
    service_store.create_service(engine, ServiceCreate(name="Suporte"), stack_ring())
    key = integration_store.create_integration(
        engine, IntegrationCreate(service="Suporte", bot="loja")
    ).api_key
    engine.dispose()
    env = {**_env_without("LOJA_OMNI_KEY"), "DATABASE_URL": url, "LOJA_OMNI_KEY": key}
    live = transbordo("validate", "--check-keys", "flows/loja.yaml", env=env)
    assert live.returncode == 0 and live.stdout.strip() == "ok", live.stdout + live.stderr
    env["LOJA_OMNI_KEY"] = "tbk_not-a-key"
    dead = transbordo("validate", "--check-keys", "flows/loja.yaml", env=env)
    assert dead.returncode == 1
    assert "tbk_not-a-key" not in dead.stdout
    # at the omni_key's line and column, as the flow's other warnings are
    assert "flows/loja.yaml:7:13: warning: the omni_key of bot 'loja' matches no" in dead.stdout
