"""A property-based fuzz run over the API's OpenAPI schema (schemathesis), in-process over ASGI
with the real SQLite database, a real time-skipping Temporal server and a running worker: no
request gets a 5xx, and every response conforms to the schema the route declares. Admin routes
are fuzzed with the admin token, agent routes with an agent's token; each operation twice: with
generated path parameters, then with those naming a real bot, conversation and agent, so the
generated queries and bodies reach past the 404s."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import pkgutil
import re

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from tests.conftest import admin_headers, running_stack

EXAMPLES_PER_OPERATION = 25
"""Bounded so the whole run stays well under a minute on CI."""
SKIPPED = re.compile(r"/stream$")
"""Streams never end by themselves; their auth and 404s are covered by the stream tests."""
BOT = """
bot: loja
start: menu
blocks:
  menu:
    type: question
    text: "Olá! Qual o seu nome?"
    save_as: nome
    next: fim
  fim: {type: end, text: "Até logo, {{ vars.nome }}."}
"""


def fuzz(app, agent_token: str, real: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Every operation with a bounded number of generated cases, then again with the path
    parameters in `real` pinned; the failures, described."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [operation for operation in operations if not SKIPPED.search(operation.path)]
    failures: list[str] = []
    for pinned in ({}, real):
        for operation in operations:
            failures.extend(_fuzz_operation(operation, agent_token, pinned))
    return failures


def _fuzz_operation(operation, agent_token: str, pinned: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    token = agent_token if operation.path.startswith("/api/agent/") else None
    headers = {"Authorization": f"Bearer {token}"} if token else admin_headers()

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy())
    def check(case) -> None:  # type: ignore[no-untyped-def]
        if case.path_parameters:
            case.path_parameters.update(
                {name: value for name, value in pinned.items() if name in case.path_parameters}
            )
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    try:
        check()
    except Exception as exc:  # noqa: BLE001  (collected: one report for the whole run)
        where = f" with {pinned}" if pinned else ""
        return [f"{operation.label}{where}: {str(exc)[:1500]}"]
    return []


def _import_ahead() -> None:
    """Import, while the module is collected (no test's threads run yet), everything the fuzz
    run would import in its own thread. pytest rewrites the asserts of its plugins' modules
    (schemathesis', hypothesis') as they are first imported, with `ast.parse`, and CPython 3.11
    keeps the AST converter's recursion depth per interpreter, not per thread: one first
    imported during the run, while another thread parsed too (3.11 parses a traceback's line
    to place its carets), failed with "AST constructor recursion depth mismatch"."""
    for package in (schemathesis, hypothesis.strategies):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            with contextlib.suppress(ImportError):  # an optional extra (allure) not installed
                importlib.import_module(module.name)


_import_ahead()


async def test_the_api_survives_a_fuzz_run(time_env, settings, engine) -> None:
    address = time_env.client.service_client.config.target_host
    fuzzed = settings.model_copy(update={"temporal_address": address, "reply_timeout_seconds": 3})
    async with running_stack(time_env, fuzzed, engine, BOT) as http:
        made = await http.post(
            "/api/omni/agents", json={"name": "Fuzz", "services": []}, headers=admin_headers()
        )
        assert made.status_code == 201, made.text
        turn = await http.post(
            "/api/bots/loja/messages", json={"contact_id": "5511", "message_id": "m1", "text": "oi"}
        )
        assert turn.status_code == 200, turn.text
        real = {
            "bot": "loja",
            "conversation_id": turn.json()["conversation_id"],
            "agent_id": made.json()["id"],
        }
        # the app connects its own Temporal client in schemathesis' event loop (its lifespan)
        app = create_app(fuzzed, engine=engine)
        failures = await asyncio.to_thread(fuzz, app, made.json()["token"], real)
    assert not failures, "\n\n".join(failures)
