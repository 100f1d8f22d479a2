"""Logging set-up of every process (worker, API, `up`): one format, and HTTP clients quiet.

httpx and httpcore log each request's URL at INFO, and the Telegram Bot API's URLs hold the bot
token (`/bot<token>/sendMessage`): they log at WARNING here, whatever the level of the rest.

The Temporal SDK's core (Rust) writes its own lines to stderr, with ANSI colour codes unless
`NO_COLOR` is set: `setup` sets it, before any Runtime exists, so the log files are plain text
(for this process and the children it starts). Forwarding the core's lines to Python's logging
(temporalio's LogForwardingConfig) was tried and left out: its thread calls into Python while
the interpreter shuts down, and a worker that stopped cleanly then aborted (exit 134) in 3 of
7 runs (sdk-python#300).
"""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("httpx", "httpcore")
"""Loggers that would write secrets (request URLs) at INFO."""
NOISY = ("alembic.runtime.plugins",)
"""Loggers that tell an operator nothing at INFO (alembic: seven "setup plugin" lines at every
start)."""


def setup(level: int, handlers: list[logging.Handler] | None = None) -> None:
    """`logging.basicConfig` at `level` (with `handlers`: replacing any), HTTP clients quiet,
    and the Temporal SDK core's lines without colour codes."""
    os.environ["NO_COLOR"] = "1"  # read by the core's console logger when a Runtime is made
    if handlers is None:
        logging.basicConfig(level=level, format=FORMAT)
    else:
        for handler in handlers:
            handler.setFormatter(logging.Formatter(FORMAT))
        logging.basicConfig(level=level, handlers=handlers, force=True)
    quiet_http_clients()


def quiet_http_clients() -> None:
    for name in QUIET + NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
