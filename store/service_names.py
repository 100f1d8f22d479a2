"""A service named by what people type: request bodies, quick replies and flows find it in any
case, accents or spacing, and the bots whose flows name it are known before it is renamed or
deleted.

Service names are unique in their normal form (omni/names.py, store/name_keys.py), so a name
found in that form is the one service anyone meant: `service: suporte` in a flow's Humano block
is "Suporte", a quick reply scoped "cobranca" is Cobrança's. The exact bytes are tried first
(`ids_by_name`): the common case stays one indexed statement, and a service of a pair that
clashed before migration 0020 is still found by its own name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from omni.errors import Conflict, InvalidReference, OmniCode
from omni.names import name_key
from store.name_keys import SAME_NAME_RULE, ids_by_name
from store.tables import bot_versions, services


def service_ids(conn: Connection, names: Iterable[str], field: str) -> dict[str, str]:
    """Map service names to ids; InvalidReference naming ``field`` when one names no service,
    or two name one service ("Vendas" and "vendas").

    Shared with the integration, agent and quick-reply stores, whose request bodies name
    services (store/services.py exports it too)."""
    names = list(names)
    if not names:
        return {}
    found = ids_by_name(conn, services, names)
    missing = [name for name in names if name not in found]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise InvalidReference(field, f"no service named {listed}")
    named: dict[str, str] = {}
    for name, service_id in found.items():
        if (other := named.setdefault(service_id, name)) != name:
            same = f"{other!r} and {name!r} are one service ({SAME_NAME_RULE})"
            raise InvalidReference(field, same)
    return found


_NEWEST = (
    sa.select(bot_versions.c.bot, sa.func.max(bot_versions.c.version).label("version"))
    .group_by(bot_versions.c.bot)
    .subquery()
)
_NEWEST_FLOWS = (
    sa.select(bot_versions.c.bot, bot_versions.c.flow)
    .join(
        _NEWEST,
        (bot_versions.c.bot == _NEWEST.c.bot) & (bot_versions.c.version == _NEWEST.c.version),
    )
    .order_by(bot_versions.c.bot)
)


def bots_naming(conn: Connection, service_id: str, name: str) -> list[str]:
    """The bots whose newest version names the service `service_id` (named `name`) in a Humano
    block, in whatever form finds it: renaming or deleting it would leave their handoffs
    `unavailable`. A block naming another service of a pair that clashed before migration 0020
    (found by its own bytes) is not counted."""
    key = name_key(name)
    naming: dict[str, list[str]] = {}
    for row in conn.execute(_NEWEST_FLOWS):
        for named in _human_services(row.flow):
            if name_key(named) == key:
                naming.setdefault(named, []).append(row.bot)
    if not naming:
        return []
    found = ids_by_name(conn, services, list(naming))
    bots = {bot for named, of in naming.items() if found.get(named) == service_id for bot in of}
    return sorted(bots)


def _human_services(flow: Any) -> set[str]:
    """The services a stored flow's Humano blocks name (`service:`; none: the key's own)."""
    blocks = (flow or {}).get("blocks", {}).values()
    return {
        block["service"]
        for block in blocks
        if isinstance(block, dict)
        and block.get("type") == "human"
        and isinstance(block.get("service"), str)
    }


def in_use(service: str, bots: list[str], *, change: str, instead: str) -> Conflict:
    """409 `service_in_use`: the change would leave the handoffs of `bots` unavailable."""
    return Conflict(
        f"bots {', '.join(bots)} name service {service!r} in a Humano block of their newest "
        f"version; publish them {instead}, or {change} with force=true",
        code=OmniCode.SERVICE_IN_USE,
        extra={"service": service, "bots": bots},
    )
