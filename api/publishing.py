"""Publishing a bot: validate its YAML, keep secrets out of storage, store a new version.

The Omni key in a flow proves the bot to Omni. It must not be stored in clear nor travel into
Temporal histories, so the published flow carries the key's hash (what Omni stores too) and the
stored source has a literal key masked; `${VAR}` references are kept as written.
"""

from __future__ import annotations

import os
import re

from sqlalchemy import Engine

from bots.loader import FlowError, load_flow
from bots.models import BotFlow
from omni.keys import hash_key
from store import bots as bot_store
from store.omni import key_warning

KEY_HASH_PREFIX = "sha256:"
MASK = "********"
UNSET_KEY_PREFIX = "unset:"
_OMNI_KEY_VARIABLE = re.compile(r"""^\s*omni_key:\s*["']?\$\{([A-Za-z_][A-Za-z0-9_]*)\}""", re.M)


class PublishError(Exception):
    """The flow cannot be published; `issues` are `{line, column, message}` dicts."""

    def __init__(self, issues: list[dict[str, object]]) -> None:
        super().__init__(f"{len(issues)} problem(s)")
        self.issues = issues


def publish_source(
    engine: Engine, bot: str, source: str
) -> tuple[bot_store.BotVersion, bool, list[str]]:
    """Validate and store `source` as bot `bot`; returns (version, is_new, warnings)."""
    try:
        flow = load_flow(source, filename=f"{bot}.yaml", env=_environment(source))
    except FlowError as exc:
        raise PublishError(
            [{"line": i.line, "column": i.column, "message": i.message} for i in exc.issues]
        ) from exc
    if flow.bot != bot:
        raise PublishError(
            [{"line": 1, "column": 1, "message": f"the file is bot {flow.bot!r}, not {bot!r}"}]
        )
    warnings = _key_warnings(engine, flow)
    flow, source = _without_plain_key(flow, source)
    version, created = bot_store.publish(engine, flow, source)
    return version, created, warnings


def _environment(source: str) -> dict[str, str]:
    """The process environment; an Omni key variable that is unset publishes with a warning
    (the bot works, its Humano block answers `unavailable`) instead of blocking the bot."""
    env = dict(os.environ)
    for name in _OMNI_KEY_VARIABLE.findall(source):
        env.setdefault(name, UNSET_KEY_PREFIX + name)
    return env


def _key_warnings(engine: Engine, flow: BotFlow) -> list[str]:
    if flow.human_service is None:
        return []
    key = flow.human_service.omni_key
    if key.startswith(UNSET_KEY_PREFIX):
        name = key.removeprefix(UNSET_KEY_PREFIX)
        return [f"environment variable {name} is not set: the Humano block will be unavailable"]
    warning = key_warning(engine, flow.bot, flow.human_service.omni_key)
    return [warning] if warning else []


def _without_plain_key(flow: BotFlow, source: str) -> tuple[BotFlow, str]:
    service = flow.human_service
    if service is None or service.omni_key.startswith((KEY_HASH_PREFIX, UNSET_KEY_PREFIX)):
        return flow, source
    key = service.omni_key
    digest = KEY_HASH_PREFIX + hash_key(key)
    flow = flow.model_copy(
        update={"human_service": service.model_copy(update={"omni_key": digest})}
    )
    return flow, source.replace(key, MASK)
