"""Publishing a bot: validate its YAML, keep secrets out of storage, store a new version.

The Omni key in a flow proves the bot to Omni. It must not be stored in clear nor travel into
Temporal histories, so the published flow carries the key's hash (what Omni stores too) and the
stored source has a literal key masked; `${VAR}` references are kept as written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection

from sqlalchemy import Engine

from bots.errors import FLOW_ERROR
from bots.limits import FlowLimits
from bots.loader import FlowError, load_flow
from bots.models import BotFlow
from bots.warnings import flow_warnings
from omni.keys import hash_key
from store import bots as bot_store
from store.integrations import key_warning, resolve_integration
from transbordo.settings import get_settings

KEY_HASH_PREFIX = "sha256:"
MASK = "HIDDEN-OMNI-KEY"
"""Stands where a literal key was in a stored source (plain YAML text: no quoting needed)."""
UNSET_KEY_PREFIX = "unset:"
_OMNI_KEY_VARIABLE = re.compile(r"""\bomni_key:\s*["']?\$\{([A-Za-z_][A-Za-z0-9_]*)\}""")


BOT_NAME_MISMATCH = "bot_name_mismatch"
"""The file's `bot:` is not the name it is published as."""
YAML_NOT_EDITABLE = "yaml_not_editable"
"""The stored source cannot be edited by the settings screen (not a YAML mapping)."""


class PublishError(Exception):
    """The flow cannot be published; `issues` are `{line, column, message, code, ctx}` dicts
    (`ctx`: the values the code is about, `{}` when none)."""

    def __init__(self, issues: list[dict[str, object]]) -> None:
        super().__init__(f"{len(issues)} problem(s)")
        self.issues = [
            {"code": FLOW_ERROR, **issue, "ctx": issue.get("ctx") or {}} for issue in issues
        ]


def publish_source(
    engine: Engine,
    bot: str,
    source: str,
    limits: FlowLimits | None = None,
    *,
    expected: int | None = None,
) -> tuple[bot_store.BotVersion, bool, list[str]]:
    """Validate and store `source` as bot `bot`; returns (version, is_new, warnings).
    `limits`: the operator's (default: this process's settings). `expected`: the version the
    source was written against (`If-Match`; 0: none yet), else `bot_store.VersionMismatch`."""
    limits = limits or get_settings().flow_limits()
    try:
        flow = load_flow(
            source, filename=f"{bot}.yaml", env=publishing_environment(source), limits=limits
        )
    except FlowError as exc:
        raise PublishError([issue.public() for issue in exc.issues]) from exc
    if flow.bot != bot:
        message = f"the file is bot {flow.bot!r}, not {bot!r}"
        ctx = {"file_bot": flow.bot, "bot": bot}
        raise PublishError(
            [{"line": 1, "column": 1, "message": message, "code": BOT_NAME_MISMATCH, "ctx": ctx}]
        )
    flow = _with_kept_key(engine, flow)
    warnings = _key_warnings(engine, flow)
    warnings += [str(issue) for issue in flow_warnings(flow, source, f"{bot}.yaml")]
    flow, source = _without_plain_key(flow, source)
    version, created = bot_store.publish(engine, flow, source, expected=expected)
    return version, created, warnings


def publish_checked(
    engine: Engine,
    bot: str,
    source: str,
    limits: FlowLimits,
    expected: Collection[int] | None,
    refused: Collection[int] = (),
) -> tuple[bot_store.BotVersion, bool, list[str]]:
    """`publish_source` for `PUT /bots/{bot}`: with `expected` (an `If-Match`; `{0}` from
    `If-None-Match: *`), only while the newest version is one of those (0: the bot has none
    yet) and not one of `refused` (`If-None-Match` tags), else VersionMismatch (412)."""
    if expected is None and not refused:
        return publish_source(engine, bot, source, limits)
    current = bot_store.latest(engine, bot)
    number = current.version if current is not None else 0
    if (expected is not None and number not in expected) or number in refused:
        raise bot_store.VersionMismatch(bot, number)
    return publish_source(engine, bot, source, limits, expected=number)


def publishing_environment(source: str) -> dict[str, str]:
    """The process environment; an Omni key variable that is unset publishes with a warning
    (the bot works, its Humano block answers `unavailable`) instead of blocking the bot."""
    env = dict(os.environ)
    for name in _OMNI_KEY_VARIABLE.findall(source):
        env.setdefault(name, UNSET_KEY_PREFIX + name)
    return env


def _with_kept_key(engine: Engine, flow: BotFlow) -> BotFlow:
    """A source downloaded from here has its key masked: publishing it again keeps the key of
    the newest version (its hash) instead of hashing the mask."""
    service = flow.human_service
    if service is None or service.omni_key != MASK:
        return flow
    current = bot_store.latest(engine, flow.bot)
    kept = current.flow.human_service if current is not None else None
    if kept is None or not kept.omni_key.startswith(KEY_HASH_PREFIX):
        return flow
    return flow.model_copy(
        update={"human_service": service.model_copy(update={"omni_key": kept.omni_key})}
    )


def _key_warnings(engine: Engine, flow: BotFlow) -> list[str]:
    if flow.human_service is None:
        return []
    key = flow.human_service.omni_key
    if key.startswith(UNSET_KEY_PREFIX):
        name = key.removeprefix(UNSET_KEY_PREFIX)
        return [f"environment variable {name} is not set: the Humano block will be unavailable"]
    if key == MASK:
        return ["the omni_key is masked and no earlier version has a key: paste the API key"]
    if key.startswith(KEY_HASH_PREFIX):  # an already hashed key (kept, or written back)
        if resolve_integration(engine, flow.bot, key.removeprefix(KEY_HASH_PREFIX), None):
            return []
        return [
            f"the omni_key of bot {flow.bot!r} matches no live Omni integration"
            " (revoked, rotated or its service deleted); paste a new API key"
        ]
    warning = key_warning(engine, flow.bot, key)
    return [warning] if warning else []


def as_stored(bot: str, source: str, limits: FlowLimits) -> tuple[str, str | None] | None:
    """What publishing `source` would store: its text (a literal Omni key masked) and, for a
    literal key, the key's stored hash (a masked text alone does not say which key it had);
    None when the source does not load."""
    try:
        flow = load_flow(
            source, filename=f"{bot}.yaml", env=publishing_environment(source), limits=limits
        )
    except FlowError:
        return None
    stored_flow, stored = _without_plain_key(flow, source)
    if stored == source or stored_flow.human_service is None:
        return stored, None
    return stored, stored_flow.human_service.omni_key


def _without_plain_key(flow: BotFlow, source: str) -> tuple[BotFlow, str]:
    service = flow.human_service
    if service is None or service.omni_key == MASK:
        return flow, source
    if service.omni_key.startswith((KEY_HASH_PREFIX, UNSET_KEY_PREFIX)):
        return flow, source
    key = service.omni_key
    digest = KEY_HASH_PREFIX + hash_key(key)
    flow = flow.model_copy(
        update={"human_service": service.model_copy(update={"omni_key": digest})}
    )
    return flow, _masked(source, key)


def _masked(source: str, key: str) -> str:
    """`source` with the key masked where it is `omni_key`'s value: a key that is also other
    text of the file ("loja") must not mask that too. A key written some other way (a YAML
    block scalar) is masked wherever it is: never kept in clear."""
    value = re.compile(rf"(omni_key\s*:\s*)([\"']?){re.escape(key)}\2(?=\s*(?:[,}}#\n]|$))")
    masked, found = value.subn(lambda m: f"{m[1]}{m[2]}{MASK}{m[2]}", source)
    return masked if found else source.replace(key, MASK)
