"""The `transbordo` command: up, worker, api, migrate, validate, schema, chat, test, replay,
keys."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from transbordo import heap, logs
from transbordo.health import VersionFlag
from transbordo.keys_cli import add_keys_parser, run_keys
from transbordo.settings import Settings, setting_problem

if TYPE_CHECKING:  # the commands import what they use when they run
    from bots.models import BotFlow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="transbordo", description=__doc__)
    parser.add_argument("--version", action=VersionFlag)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run Temporal (dev server), the worker and the API")
    _server_flags(up)
    up.add_argument("--temporal-port", type=int, help="dev server gRPC port (default 7233)")
    up.add_argument("--ui-port", type=int, help="Temporal Web UI port (default 8233)")
    up.add_argument(
        "--no-demo",
        action="store_true",
        help="do not prepare the demo (services, integrations, agent) on a first start",
    )
    up.add_argument("--workers", type=_positive, default=1, help="worker processes (default 1)")
    up.add_argument(
        "--api-workers",
        type=_positive,
        default=1,
        help="API processes sharing the one API port (default 1); docs/operations.md",
    )

    commands.add_parser("worker", help="run the Temporal worker")
    api = commands.add_parser("api", help="run the HTTP API")
    _server_flags(api)
    api.add_argument(
        "--fd",
        type=int,
        default=None,
        help="serve an inherited listening socket instead of binding --host/--port"
        " (`up --api-workers` passes it)",
    )
    commands.add_parser(
        "migrate", help="bring the SQL schema up to date and exit (before starting replicas)"
    )

    validate = commands.add_parser(
        "validate", help="check bot files; errors and warnings as file:line:col"
    )
    validate.add_argument("paths", nargs="+", type=Path)
    validate.add_argument(
        "--check-keys", action="store_true", help="also check each bot's Omni key against the DB"
    )
    validate.add_argument(
        "--data-dir", type=Path, help="data folder whose demo keys count as set (default .data)"
    )

    commands.add_parser("schema", help="print the JSON Schema of a bot file (for editors)")

    chat = commands.add_parser("chat", help="talk to a bot from the terminal")
    chat.add_argument("bot")
    chat.add_argument(
        "--api",
        default=None,
        help="API address (default: the one `up` runs on this data folder, else from settings)",
    )
    chat.add_argument("--data-dir", type=Path, help="data folder of `up` (default .data)")
    chat.add_argument(
        "--token",
        default=os.environ.get("TRANSBORDO_CHANNEL_TOKEN"),
        help="the bot's channel credential (tbc_…); without it, a web session",
    )
    chat.add_argument("--contact", default=None, help="contact id (needs --token)")
    chat.add_argument("--name", default=None, help="contact name")

    test = commands.add_parser("test", help="run conversation tests (*.test.yaml) of the bots")
    test.add_argument("paths", nargs="+", type=Path, help="test files or folders (flows/)")
    test.add_argument("-k", dest="name", default=None, help="only tests whose name contains this")

    replaying = commands.add_parser(
        "replay", help="replay conversation histories against this code (non-determinism check)"
    )
    replaying.add_argument("files", nargs="*", type=Path, help="exported history JSON files")
    replaying.add_argument(
        "--query",
        default=None,
        help="a visibility filter added to the default (conversations running or closed within"
        " --hours), e.g. 'ConversationStatus = \"waiting\"'",
    )
    replaying.add_argument("--limit", type=int, default=100, help="histories at most (default 100)")
    replaying.add_argument(
        "--hours", type=float, default=24, help="closed conversations this recent (default 24)"
    )

    add_keys_parser(commands)

    args = parser.parse_args(argv)
    _log_to_console(args.command)
    match args.command:
        case "up":
            from transbordo.up import run_up

            return run_up(
                _settings(args),
                demo=not args.no_demo,
                workers=args.workers,
                api_workers=args.api_workers,
            )
        case "worker":
            import worker

            worker.main()  # SIGINT and SIGTERM stop it gracefully (worker.main)
            return 0
        case "api":
            return _run_api(_settings(args), args.fd)
        case "migrate":
            return _migrate(_settings(args))
        case "validate":
            return _validate(args.paths, args.check_keys, _settings(args))
        case "schema":
            from bots.loader import flow_json_schema

            print(json.dumps(flow_json_schema(), indent=2, ensure_ascii=False))
            return 0
        case "chat":
            from transbordo.chat import run_chat

            return run_chat(_chat_api(args), args.bot, args.contact, args.name, args.token)
        case "test":
            from transbordo import flowtest

            _exit(flowtest.main(args.paths, args.name))
        case "keys":
            return run_keys(args, _settings(args))
        case "replay":
            from transbordo import replay

            _exit(replay.main(_settings(args), args.files, args.query, args.limit, args.hours))
    return 2


CONSOLE_LOG_LEVELS = {
    "up": None,
    "chat": logging.WARNING,
    "validate": logging.WARNING,
    "keys": logging.WARNING,
}
"""Commands a person reads: `up` logs to a file in the data folder (transbordo/up.py), `chat`,
`validate` and `keys` show only problems. The others (worker, api, ...) log INFO to the console,
which `up` sends to their log files."""


def _log_to_console(command: str) -> None:
    level = CONSOLE_LOG_LEVELS.get(command, logging.INFO)
    if level is not None:
        logs.setup(level)


def _exit(code: int) -> NoReturn:
    """Leave without the interpreter's teardown, where the Temporal SDK can crash after all
    work is done (sdk-python#300) and turn the exit code into 134."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="data folder (default .data)")
    parser.add_argument("--host", help="API host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="API port (default 8000)")
    parser.add_argument("--admin-token", help="admin token (default: generated once, kept)")
    parser.add_argument("--flows", type=Path, help="folder of bot files to publish (flows/)")


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the flags that were given."""
    flags = {
        "data_dir": getattr(args, "data_dir", None),
        "api_host": getattr(args, "host", None),
        "api_port": getattr(args, "port", None),
        "admin_token": getattr(args, "admin_token", None),
        "flows_dir": getattr(args, "flows", None),
        "temporal_port": getattr(args, "temporal_port", None),
        "temporal_ui_port": getattr(args, "ui_port", None),
    }
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:  # e.g. a short admin token: one clear line, no traceback
        for error in exc.errors():
            print(f"transbordo: {setting_problem(error)}", file=sys.stderr)
        raise SystemExit(2) from None


STOP_GRACE_SECONDS = 10
"""How long a stopping API process waits for its requests: streams end at once (their
connection's drain, api/stream_drain.py); this bounds anything else."""


def _run_api(settings: Settings, fd: int | None = None) -> int:
    """Serve the API on host/port, or on the listening socket inherited as `fd` (several API
    processes behind one port, transbordo/up.py)."""
    import socket

    import uvicorn

    os.umask(0o077)  # files this process creates are private (transbordo/up.py)
    from api.app import create_app
    from api.coalesced_http import CoalescedHttpToolsProtocol

    app = create_app(settings)
    heap.settle_after_startup()
    if fd is None:
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level="info",
            access_log=False,  # the client's address and raw query: api/http_metrics.py logs
            ws="none",  # no WebSocket route; its handshake log would name address and query too
            http=CoalescedHttpToolsProtocol,  # a response's head and body in one write
            timeout_graceful_shutdown=STOP_GRACE_SECONDS,
        )
        return 0
    sock = socket.socket(fileno=fd)  # family, type and protocol read from the socket itself
    config = uvicorn.Config(
        app,
        log_level="info",
        access_log=False,
        ws="none",
        http=CoalescedHttpToolsProtocol,
        timeout_graceful_shutdown=STOP_GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the stopping signal once it has stopped
        pass  # (uvicorn.run, the path above, catches it the same way)
    return 0


def _migrate(settings: Settings) -> int:
    """Migrations run at every start of the API and the worker; with several replicas on a new
    database (or a new version), run this once first so they do not race (docs/operations.md)."""
    from sqlalchemy.engine import make_url

    from store.db import open_database

    open_database(settings.effective_database_url).dispose()
    where = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    print(f"schema up to date: {where}")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _chat_api(args: argparse.Namespace) -> str:
    """`--api`, else transbordo/api_address.py's order (the environment, `up`, the default)."""
    from transbordo.api_address import chat_address

    return str(args.api) if args.api else chat_address(_settings(args))


def _validate(paths: list[Path], check_keys: bool, settings: Settings) -> int:
    from bots.loader import load_flow_file, validate_path
    from transbordo.demo import kept_demo
    from transbordo.settings import get_settings

    demo = kept_demo(settings.data_dir.resolve())
    env = _validation_env(paths, demo.keys if demo else {})
    flows = settings.flows_dir.resolve()
    problems = 0
    for path in paths:
        for file, issues in validate_path(path, env, get_settings().flow_limits()).items():
            for issue in issues:
                print(issue)
                problems += 1
            if issues:
                continue
            flow = load_flow_file(file, env, get_settings().flow_limits())
            _flow_warnings(file, flow)
            up_prepares = demo is None and file.resolve().is_relative_to(flows)
            if _unset_key_warning(file, flow, up_prepares):
                continue
            if check_keys:
                problems += _check_key(file, flow)
    if problems:
        print(f"{problems} problem(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


def _validation_env(paths: list[Path], demo_keys: dict[str, str]) -> dict[str, str]:
    """The environment as publishing sees it: an unset Omni key variable does not stop a bot
    from being published (its Humano block answers `unavailable`), so it is a warning here too;
    other unset variables (http urls and headers) stay errors. The data folder's demo keys
    count as set: `up` gives them to the API (the README's demo: nothing to export)."""
    from api.usecases.publishing import publishing_environment

    env = {**demo_keys, **os.environ}
    for path in paths:
        files = [path] if path.is_file() else [*path.rglob("*.yaml"), *path.rglob("*.yml")]
        for file in files:
            try:
                source = file.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                continue  # validate_path reports it
            for name, value in publishing_environment(source).items():
                env.setdefault(name, value)
    return env


def _flow_warnings(file: Path, flow: BotFlow) -> None:
    """What publishing (and the /bots editor) would warn of, said here too; a warning does not
    fail the file: such a bot works, only not in every case."""
    from bots.warnings import flow_warnings

    source = file.read_text(encoding="utf-8-sig")  # as load_flow_file read it
    for issue in flow_warnings(flow, source, str(file)):
        print(f"{issue.file}:{issue.line}:{issue.column}: warning: {issue.message}")


def _key_warning(file: Path, message: str, code: str) -> None:
    """A warning about the Omni key, at its `omni_key` line as the others are at theirs."""
    from bots.warnings import key_warning

    issue = key_warning(file.read_text(encoding="utf-8-sig"), str(file), message, code)
    print(f"{issue.file}:{issue.line}:{issue.column}: warning: {issue.message}")


def _unset_key_warning(file: Path, flow: BotFlow, up_prepares: bool) -> bool:
    """`up_prepares`: a bot `up` publishes and no demo yet: `up`'s demo would set the key."""
    from api.usecases.publishing import UNSET_KEY_PREFIX

    key = flow.human_service.omni_key if flow.human_service else ""
    if not key.startswith(UNSET_KEY_PREFIX):
        return False
    name = key.removeprefix(UNSET_KEY_PREFIX)
    demo = (
        " (`transbordo up` makes one for its demo on its first start with the bot)"
        if up_prepares
        else ""
    )
    message = f"environment variable {name} is not set: the Humano block will answer `unavailable`"
    _key_warning(file, message + demo, "env_not_set")
    return True


def _check_key(file: Path, flow: BotFlow) -> int:
    from store.db import open_database
    from store.integrations import key_warning

    if flow.human_service is None:
        return 0
    engine = open_database(Settings().effective_database_url)
    try:
        warning = key_warning(engine, flow.bot, flow.human_service.omni_key)
    finally:
        engine.dispose()
    if warning:
        _key_warning(file, warning, "omni_key_not_live")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
