"""Which bots of the flows folder cannot hand a customer over, and why: one line each for `up`.

A Humano block answers `unavailable` when its bot's Omni key is missing or dead; the customer
then gets the flow's `on.unavailable` route. `up` says so once at start-up, so the reason is on
the console and not only in the API's log.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from transbordo.bot_files import read_bot_files


def unavailable_handoffs(engine: Engine, flows_dir: Path, env: dict[str, str]) -> list[str]:
    """One line per bot whose Humano blocks will answer `unavailable` with `env` as the
    environment of the API that publishes them."""
    from store.integrations import key_warning

    lines = []
    for bot_file in read_bot_files(flows_dir, env):
        human_service, bot = bot_file.flow.human_service, bot_file.flow.bot
        if human_service is None:
            continue
        variable = bot_file.key_variable
        if variable and variable not in env:
            reason: str | None = f"{variable} is not set"
        else:
            reason = key_warning(engine, bot, human_service.omni_key)
        if reason:
            lines.append(f"Warning: bot {bot}: Humano blocks answer `unavailable`: {reason}")
    return lines
