"""Logging set-up of every process (worker, API, `up`): one format, and HTTP clients quiet.

httpx and httpcore log each request's URL at INFO, and the Telegram Bot API's URLs hold the bot
token (`/bot<token>/sendMessage`): they log at WARNING here, whatever the level of the rest.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("httpx", "httpcore")
"""Loggers that would write secrets (request URLs) at INFO."""


def setup(level: int, handlers: list[logging.Handler] | None = None) -> None:
    """`logging.basicConfig` at `level` (with `handlers`: replacing any), HTTP clients quiet."""
    if handlers is None:
        logging.basicConfig(level=level, format=FORMAT)
    else:
        for handler in handlers:
            handler.setFormatter(logging.Formatter(FORMAT))
        logging.basicConfig(level=level, handlers=handlers, force=True)
    quiet_http_clients()


def quiet_http_clients() -> None:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
