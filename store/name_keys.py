"""Names of services and agents unique under omni/names.py's normal form, and admin revisions.

Each table has a `name_key` column under a unique index (migration 0020), so two writers racing
with "Suporte" and "suporte" cannot both commit. It holds the SHA-256 of the normal form
(`stored_key`), not the form itself: folding can make a 100-character name several times
longer ("…" is "...", "ﷺ" is 18 characters), and a fixed-length digest fits any column and index.
A row that clashed before that migration has a NULL key (kept as it was, never renamed): the
checks here read those few rows too, so a new name that clashes with one is refused all the
same, and such a row takes its key at its next change once nobody else holds it.

A name sent that is the stored one up to trimming and NFC (`as_stored`) is not a rename: the
stored bytes stay (a name stored before NFC, or with a trailing space, is what flows name).
A reference by name (a flow's `service:`, a request body) finds its row by the normal form too,
the exact bytes first (`ids_by_name`).
A new name may not be `unusable` (omni/names.py); an unchanged one is never refused for it.

`revision` counts an admin's changes of a row; `check_revision` refuses a change made against
an older one (the route's `If-Match`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from omni.errors import Conflict, InvalidName, NotFound, Stale
from omni.names import canonical, name_key, unusable
from store.db import reads

SAME_NAME_RULE = "names are compared ignoring case, accents and repeated spaces"


def stored_key(name: str) -> str:
    """What the `name_key` column holds: the SHA-256 (hex) of the name's normal form."""
    return hashlib.sha256(name_key(name).encode()).hexdigest()


def as_stored(name: str, stored: str) -> str:
    """`stored` when `name` is it as the API receives it (trimmed, NFC), else `name`."""
    return stored if canonical(name) == canonical(stored) else name


def ids_by_stored_form(conn: Connection, table: sa.Table, names: list[str]) -> dict[str, str]:
    """Ids of rows of `table` whose stored name is one of `names` once trimmed and in NFC (the
    oldest first when two are): how a reference, always sent so, finds a name stored otherwise.
    A rare path (a name not stored byte for byte, with rows of a pair that clashed before
    migration 0020 in the table: `ids_by_name`), so reading the whole table is fine."""
    wanted: dict[str, list[str]] = {}
    for name in names:  # two spellings of one stored form ("suporte", " suporte") find one row
        wanted.setdefault(canonical(name), []).append(name)
    found: dict[str, str] = {}
    every = sa.select(table.c.id, table.c.name).order_by(table.c.created_at, table.c.id)
    for row in conn.execute(every):
        for name in wanted.get(canonical(row.name), []):
            found.setdefault(name, row.id)
    return found


def ids_by_key(conn: Connection, table: sa.Table, names: list[str]) -> dict[str, str]:
    """Ids of rows of `table` whose name is one of `names` in the normal form: the row holding
    its key, else the oldest of the rows with none (they clashed before migration 0020)."""
    by_key: dict[str, list[str]] = {}
    for name in names:
        by_key.setdefault(stored_key(name), []).append(name)
    keyed = sa.select(table.c.id, table.c.name_key).where(table.c.name_key.in_(list(by_key)))
    found = {name: row.id for row in conn.execute(keyed) for name in by_key[row.name_key]}
    missing: dict[str, list[str]] = {}
    for name in names:
        if name not in found:
            missing.setdefault(name_key(name), []).append(name)
    if missing:
        unkeyed = (
            sa.select(table.c.id, table.c.name)
            .where(table.c.name_key.is_(None))
            .order_by(table.c.created_at, table.c.id)
        )
        for row in conn.execute(unkeyed):
            for name in missing.pop(name_key(row.name), []):
                found[name] = row.id
    return found


def ids_by_name(conn: Connection, table: sa.Table, names: list[str]) -> dict[str, str]:
    """Ids of the rows of `table` that `names` name (a name found by none is left out): by
    exact bytes, else by the stored name trimmed and in NFC (`ids_by_stored_form`), else by
    the normal form (`ids_by_key`). Names are unique in the normal form, so a name found so is
    the row anyone meant; the exact bytes first keep one indexed statement the common case, and
    a row of a pair that clashed before migration 0020 found by its own name (the stored-form
    scan is read only while such rows, with no key, are in the table: else the key's index)."""
    found = {
        row.name: row.id
        for row in conn.execute(sa.select(table.c.id, table.c.name).where(table.c.name.in_(names)))
    }
    if len(found) == len(set(names)):
        return found
    unkeyed = sa.select(sa.literal(1)).select_from(table).where(table.c.name_key.is_(None))
    clashed = conn.execute(unkeyed.limit(1)).first() is not None
    for lookup in (ids_by_stored_form, ids_by_key) if clashed else (ids_by_key,):
        missing = [name for name in names if name not in found]
        if not missing:
            break
        found.update(lookup(conn, table, missing))
    return found


def same_name(
    conn: Connection, table: sa.Table, name: str, *, exclude_id: str | None = None
) -> str | None:
    """The name of another row of `table` whose name is `name` in the normal form, if any."""
    key = name_key(name)
    query = sa.select(table.c.name).where(table.c.name_key == stored_key(name))
    if exclude_id is not None:
        query = query.where(table.c.id != exclude_id)
    found = conn.execute(query.limit(1)).scalar_one_or_none()
    if found is not None:
        return str(found)
    unkeyed = sa.select(table.c.id, table.c.name).where(table.c.name_key.is_(None))
    for row in conn.execute(unkeyed):
        if row.id != exclude_id and name_key(row.name) == key:
            return str(row.name)
    return None


def refuse_same_name(
    conn: Connection,
    table: sa.Table,
    name: str,
    *,
    what: str,
    code: str,
    exclude_id: str | None = None,
) -> str:
    """The key to store for a new `name`; InvalidName when it is unusable, Conflict naming the
    existing row when another has it."""
    if (problem := unusable(name)) is not None:
        raise InvalidName("name", f"{_article(what)} {what} name {problem}")
    existing = same_name(conn, table, name, exclude_id=exclude_id)
    if existing is not None:
        raise duplicate(what, existing, code)
    return stored_key(name)


def duplicate(what: str, existing: str, code: str) -> Conflict:
    return Conflict(
        f"{_article(what)} {what} named {existing!r} already exists ({SAME_NAME_RULE})",
        code=code,
        extra={"existing": existing},
    )


def key_on_update(
    conn: Connection, table: sa.Table, row: Any, name: str, *, what: str, code: str
) -> str | None:
    """The `name_key` to store when `row` is changed to `name` (already `as_stored`). A new
    name must be usable and free; one that is the same name (case or spacing changed) keeps
    the row's key, or takes it now when it has none and nobody else holds it (a row that
    clashed before migration 0020 stays editable: the page sends its name with every change)."""
    if name_key(name) != name_key(row.name):
        return refuse_same_name(conn, table, name, what=what, code=code, exclude_id=row.id)
    if name != row.name and (problem := unusable(name)) is not None:
        raise InvalidName("name", f"{_article(what)} {what} name {problem}")
    if row.name_key is not None:
        return str(row.name_key)
    return None if same_name(conn, table, name, exclude_id=row.id) else stored_key(name)


def raced(engine: Engine, table: sa.Table, name: str, what: str, code: str) -> Conflict:
    """The 409 of a write the unique index refused (a concurrent one took the name first)."""
    with reads(engine) as conn:
        existing = same_name(conn, table, name)
    if existing is None:
        return Conflict(f"a {what} with this name already exists", code=code)
    return duplicate(what, existing, code)


def check_revision(current: int, expected: Collection[int] | None, what: str) -> None:
    """Stale (412) when the caller changed an older revision than `current` (None: no check)."""
    if expected is not None and current not in expected:
        raise Stale(
            f"{what} changed since it was read (revision {current} now): read it again",
            current=current,
        )


def write_revision(
    conn: Connection,
    table: sa.Table,
    row: Any,
    values: dict[str, Any],
    *,
    expected: Collection[int] | None,
    what: str,
) -> None:
    """Update `row` with `values` and one revision more. With `expected` (an `If-Match`) only
    if nobody changed it since `row` was read in this transaction: the revision compared in
    the UPDATE itself, so of two racing editors of one revision one wins and one gets Stale."""
    check_revision(row.revision, expected, what)
    statement = (
        sa.update(table).where(table.c.id == row.id).values(**values, revision=table.c.revision + 1)
    )
    if expected is None:
        conn.execute(statement)
        return
    if conn.execute(statement.where(table.c.revision == row.revision)).rowcount == 0:
        now_at = conn.execute(sa.select(table.c.revision).where(table.c.id == row.id)).scalar()
        if now_at is None:  # deleted since it was read: gone, not changed
            raise NotFound(f"{what} no longer exists")
        check_revision(int(now_at), expected, what)


def _article(noun: str) -> str:
    """English's indefinite article for `noun` ("an agent", "a service")."""
    return "an" if noun[:1] in "aeiou" else "a"
