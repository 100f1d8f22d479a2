"""Edit a bot's "Atendimento Humano" and schedule in its YAML source, keeping comments and layout.

The YAML stays the source of truth: the settings screen does not store settings beside the flow,
it rewrites the flow's `human_service` and `schedule` sections (ruamel.yaml round-trip mode, so
comments, key order and flow/block style of untouched parts survive) and publishes the result as
a new version through `api.usecases.publishing.publish_source`, with the same validation as `PUT`.

A key typed into "Chave Omni" is written as given and masked by publishing (`HIDDEN-OMNI-KEY`
in the stored source, its hash in the flow); publishing a source that holds the mask keeps the
newest version's key, so a settings change never breaks it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken
from sqlalchemy import Engine

from api.models.bots import (
    BotSettingsChange,
    BotSettingsPublic,
    HumanServiceChange,
    KeyStatus,
    ScheduleChange,
)
from api.usecases.delivery import UnknownBot
from api.usecases.publishing import (
    UNSET_KEY_PREFIX,
    YAML_NOT_EDITABLE,
    PublishError,
    publish_source,
)
from bots.schedule import Schedule, _parse_day_key
from store import bots as bot_store

_VARIABLE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
DEFAULT_ZONE: str = Schedule.model_fields["timezone"].default  # a schedule's own default
EDIT_ATTEMPTS = 5
"""How often a settings change without `If-Match` is applied again on a version published
meanwhile, before its VersionMismatch reaches the caller (412)."""


# --- reading ---------------------------------------------------------------------------------


def read_settings(version: bot_store.BotVersion) -> BotSettingsPublic:
    flow = version.flow.model_dump(mode="json", by_alias=True, exclude_none=False)
    human = flow.get("human_service")
    if human is not None:
        human = {k: v for k, v in human.items() if k != "omni_key"}
    return BotSettingsPublic(
        bot=version.bot,
        version=version.version,
        human_service=human,
        omni_key=key_status(version),
        # `hours: null`: none given, open at any hour (a stored schedule leaves the key out)
        schedule={"hours": None, **flow["schedule"]} if flow.get("schedule") else None,
        start=flow["start"],
        blocks=flow["blocks"],
    )


def key_status(version: bot_store.BotVersion) -> KeyStatus:
    service = version.flow.human_service
    if service is None:
        return KeyStatus(state="missing")
    written = _written_key(version.source)
    variable = _VARIABLE.match(written or "")
    if service.omni_key.startswith(UNSET_KEY_PREFIX):
        return KeyStatus(state="unset_variable", variable=service.omni_key[len(UNSET_KEY_PREFIX) :])
    if variable:
        return KeyStatus(state="variable", variable=variable[1])
    return KeyStatus(state="configured")


def _written_key(source: str) -> str | None:
    try:
        doc = _yaml().load(source)
    except YAMLError:
        return None
    service = doc.get("human_service") if isinstance(doc, dict) else None
    key = service.get("omni_key") if isinstance(service, dict) else None
    return str(key) if key is not None else None


# --- editing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    version: bot_store.BotVersion
    created: bool
    warnings: list[str]


def apply_settings(
    engine: Engine, bot: str, change: BotSettingsChange, *, expected: Collection[int] | None = None
) -> Published:
    """Rewrite the newest source with `change` and publish it (PublishError on a bad flow).

    `expected`: the versions an `If-Match` names; another newest version is VersionMismatch
    (412). Without it the change is a patch of the fields sent: one published meanwhile by
    someone else (between this read and this write) is not overwritten, the change is applied
    again on top of it, as often as `EDIT_ATTEMPTS`."""
    for _ in range(EDIT_ATTEMPTS - 1):
        try:
            return _apply_once(engine, bot, change, expected)
        except bot_store.VersionMismatch:
            if expected is not None:
                raise
    return _apply_once(engine, bot, change, expected)


def _apply_once(
    engine: Engine, bot: str, change: BotSettingsChange, expected: Collection[int] | None
) -> Published:
    current = bot_store.latest(engine, bot)
    if current is None:
        raise UnknownBot(bot)
    if expected is not None and current.version not in expected:
        raise bot_store.VersionMismatch(bot, current.version)
    source = edit_source(current, change)
    version, created, warnings = publish_source(engine, bot, source, expected=current.version)
    return Published(version, created, warnings)


def edit_source(current: bot_store.BotVersion, change: BotSettingsChange) -> str:
    """The newest source with the change applied; comments and layout of the rest untouched."""
    yaml = _yaml()
    try:
        doc = yaml.load(current.source)
    except YAMLError as exc:  # a stored source always parsed once; be explicit anyway
        raise _not_editable(f"YAML: {exc}") from exc
    if not isinstance(doc, CommentedMap):
        raise _not_editable("the bot file is not a mapping")
    if change.human_service is not None:
        _edit_human_service(doc, change.human_service)
    if change.schedule is not None:
        _edit_schedule(doc, change.schedule)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _not_editable(message: str) -> PublishError:
    return PublishError([{"line": 1, "column": 1, "message": message, "code": YAML_NOT_EDITABLE}])


def _yaml() -> YAML:
    yaml = YAML()  # round-trip, YAML 1.2 like the flow loader
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _ensure_section(doc: CommentedMap, key: str, after: tuple[str, ...]) -> CommentedMap:
    """The mapping under `key`, created after the last present key of `after` when missing."""
    value = doc.get(key)
    if isinstance(value, CommentedMap):
        return value
    value = CommentedMap()
    keys = list(doc.keys())
    position = 0
    for name in after:
        if name in doc:
            position = max(position, keys.index(name) + 1)
    if key in doc:
        doc[key] = value
    else:
        doc.insert(position, key, value)
    return value


def _set(node: CommentedMap, key: str, value: Any) -> None:
    """Set `key` only when the value differs, so untouched keys keep their exact text."""
    if node.get(key) != value:
        node[key] = value


def _edit_human_service(doc: CommentedMap, change: HumanServiceChange) -> None:
    node = _ensure_section(doc, "human_service", after=("bot",))
    if "platform" not in node or change.platform is not None:
        _set(node, "platform", change.platform or "omni_v2")
    if change.omni_key is not None:
        _set(node, "omni_key", DoubleQuotedScalarString(change.omni_key.strip()))
    if change.wait_time_notice is not None:
        _set(node, "wait_time_notice", change.wait_time_notice)


def _edit_schedule(doc: CommentedMap, change: ScheduleChange) -> None:
    """No `hours` key means open all day every day (bots/schedule.py), so a change that does not
    name the hours leaves them absent; `hours: null` sent removes them ("Sem horário definido")."""
    new = not isinstance(doc.get("schedule"), CommentedMap)
    node = _ensure_section(doc, "schedule", after=("bot", "human_service"))
    if change.timezone is not None:
        _set(node, "timezone", change.timezone)
    elif "timezone" not in node:
        node.insert(0, "timezone", DEFAULT_ZONE)
    if change.hours is not None:
        _edit_hours(node, change.hours)
    elif "hours" in change.model_fields_set and "hours" in node:
        del node["hours"]
    if change.holidays is not None:
        _edit_holidays(node, [(h.date.strip(), h.name.strip()) for h in change.holidays])
    if change.emergency_closed is not None:
        if change.emergency_closed:
            _set(node, "emergency_closed", True)
        elif "emergency_closed" in node:
            del node["emergency_closed"]
    if new and dict(node) == {"timezone": DEFAULT_ZONE}:
        del doc["schedule"]  # says what no schedule says: a save of an untouched form


def _windows(values: list[str]) -> CommentedSeq:
    seq = CommentedSeq(DoubleQuotedScalarString(v.strip()) for v in values)
    seq.fa.set_flow_style()
    return seq


def _per_day(hours: Any) -> dict[int, list[str]] | None:
    """Day index → sorted windows; None when a key does not parse (then it is rewritten)."""
    days: dict[int, list[str]] = {}
    try:
        for key, windows in dict(hours).items():
            for day in _parse_day_key(str(key)):
                days[day] = sorted(str(w).strip() for w in windows or [])
    except (ValueError, TypeError):
        return None
    return {d: w for d, w in days.items() if w}


def _edit_hours(schedule: CommentedMap, hours: dict[str, list[str]]) -> None:
    old = schedule.get("hours")
    if isinstance(old, CommentedMap):
        same = _per_day(old)
        if same is not None and same == _per_day(hours):
            return  # the same week: keep the file's own day keys and layout
        with _trailing_gap_kept(old):
            for key in [k for k in old if k not in hours]:
                del old[key]
            for key, windows in hours.items():
                if [str(w) for w in old.get(key) or []] != windows or key not in old:
                    old[key] = _windows(windows)
        return
    new = CommentedMap((key, _windows(windows)) for key, windows in hours.items())
    if len(new) <= 3:
        new.fa.set_flow_style()
    schedule["hours"] = new


def _holiday(date: str, name: str) -> CommentedMap:
    item = CommentedMap([("date", DoubleQuotedScalarString(date))])
    if name:
        item["name"] = name
    item.fa.set_flow_style()
    return item


def _edit_holidays(schedule: CommentedMap, wanted: list[tuple[str, str]]) -> None:
    old = schedule.get("holidays")

    def pair(item: Any) -> tuple[str, str]:
        return (str(item.get("date", "")), str(item.get("name", "") or ""))

    if not isinstance(old, CommentedSeq):
        seq = CommentedSeq(_holiday(d, n) for d, n in wanted)
        schedule["holidays"] = seq
        return
    if [pair(item) for item in old] == wanted:
        return
    with _trailing_gap_kept(old):
        # keep the items that stay (with their comments), drop the others, append the new ones
        for index in reversed(range(len(old))):
            item = old[index]
            if not isinstance(item, dict) or pair(item) not in wanted:
                del old[index]
        present = [pair(item) for item in old]
        for date, name in wanted:
            if (date, name) not in present:
                old.append(_holiday(date, name))
        if [pair(item) for item in old] != wanted:  # reordered: write the list as asked
            old.clear()
            old.ca.items.clear()
            old.extend(_holiday(d, n) for d, n in wanted)


@contextmanager
def _trailing_gap_kept(node: CommentedMap | CommentedSeq) -> Iterator[None]:
    """Blank lines after a collection ride on its last item's end-of-line comment; keep them
    after the collection's (new) last item when items are added or removed."""
    slot = 0 if isinstance(node, CommentedSeq) else 2
    last = _last_key(node)
    gap = 0
    token = node.ca.items.get(last, [None] * 4)[slot] if last is not None else None
    if token is not None:
        body = token.value.rstrip("\n")
        gap = len(token.value) - len(body) - 1
        if gap > 0:
            token.value = body + "\n"
    yield
    last = _last_key(node)
    if gap <= 0 or last is None:
        return
    entry = node.ca.items.setdefault(last, [None] * 4)
    if entry[slot] is None:
        entry[slot] = CommentToken("\n" * (gap + 1), CommentMark(0), None)
    else:
        entry[slot].value = entry[slot].value.rstrip("\n") + "\n" * (gap + 1)


def _last_key(node: CommentedMap | CommentedSeq) -> Any:
    if isinstance(node, CommentedSeq):
        return len(node) - 1 if len(node) else None
    return next(reversed(node), None) if len(node) else None
