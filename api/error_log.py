"""An unexpected exception as the log may hold it: types, value-free attributes and frames.

An exception's message may quote what a request sent (a pydantic error quotes its input, a
psycopg DataError the value it could not read, a KeyError the key), so it is never logged;
what an operator needs to tell one failure from another is kept from an allow-list:

- Temporal's `RPCError.status` (UNAVAILABLE, RESOURCE_EXHAUSTED...);
- psycopg's `sqlstate`, constraint, table and column names, and `diag.message_primary` except
  for class 22 (data exception: "invalid input syntax for type uuid: "<value>""). Integrity
  errors (class 23) keep the row's values in `message_detail` ("Key (cpf)=(...)"), never logged;
- sqlite3's `sqlite_errorname` (SQLITE_BUSY: "database is locked"), SQLAlchemy's `code` and the
  type of its `orig` (the driver's exception, itself described);
- `OSError.errno` (by name), a codec error's `encoding` and `reason`, a JSON error's position.

Each exception shows its last `MAX_FRAMES` frames; the chain (`__cause__`, `__context__`) and an
ExceptionGroup's members are followed, at most `MAX_EXCEPTIONS` in all.
"""

from __future__ import annotations

import errno
import json
import traceback
from typing import Any

MAX_FRAMES = 30
MAX_EXCEPTIONS = 10
MAX_ATTRIBUTE = 200
"""Characters of one attribute kept (a message_primary names identifiers, never long)."""


def described(title: str, exc: BaseException) -> str:
    """`title`, then each exception: its type, allow-listed attributes and last frames."""
    lines = [title]
    queue: list[tuple[str, BaseException]] = [("", exc)]
    shown: set[int] = set()
    while queue and len(shown) < MAX_EXCEPTIONS:
        how, seen = queue.pop(0)
        if id(seen) in shown:
            continue
        shown.add(id(seen))
        if how:
            lines.append(how)
        name = f"{type(seen).__module__}.{type(seen).__qualname__}"
        attributes = ", ".join(f"{key}={value}" for key, value in attributes_of(seen))
        lines.append(f"{name} ({attributes}), raised at:" if attributes else f"{name}, raised at:")
        frames = traceback.extract_tb(seen.__traceback__)
        if len(frames) > MAX_FRAMES:
            lines.append(f"  ({len(frames) - MAX_FRAMES} earlier frames left out)")
        lines.extend(traceback.StackSummary.from_list(frames[-MAX_FRAMES:]).format())
        if isinstance(seen, BaseExceptionGroup):
            queue.extend(("member of the group above:", member) for member in seen.exceptions)
        origin = getattr(seen, "orig", None)
        if isinstance(origin, BaseException):
            queue.append(("from the driver:", origin))
        following = seen.__cause__ or seen.__context__
        if following is not None:
            queue.append(("while handling (or caused by):", following))
    if queue:
        lines.append(f"(more exceptions left out: at most {MAX_EXCEPTIONS} shown)")
    return "\n".join(line.rstrip("\n") for line in lines)


def attributes_of(exc: BaseException) -> list[tuple[str, str]]:
    """The allow-listed, value-free attributes of `exc` (see the module's docstring)."""
    found: list[tuple[str, Any]] = []
    status = getattr(exc, "status", None)
    if type(exc).__name__ == "RPCError" and status is not None:
        found.append(("status", getattr(status, "name", status)))
    sqlstate = getattr(exc, "sqlstate", None)
    diag = getattr(exc, "diag", None)
    if isinstance(sqlstate, str):
        found.append(("sqlstate", sqlstate))
        for field in ("constraint_name", "table_name", "column_name"):
            found.append((field, getattr(diag, field, None)))
        if not sqlstate.startswith("22"):  # a data exception's primary quotes the value
            found.append(("message_primary", getattr(diag, "message_primary", None)))
    found.append(("sqlite_errorname", getattr(exc, "sqlite_errorname", None)))
    if type(exc).__module__.startswith("sqlalchemy"):
        found.append(("code", getattr(exc, "code", None)))
        origin = getattr(exc, "orig", None)
        if origin is not None:
            found.append(("orig", f"{type(origin).__module__}.{type(origin).__qualname__}"))
    if isinstance(exc, OSError) and isinstance(exc.errno, int):
        found.append(("errno", errno.errorcode.get(exc.errno, exc.errno)))
    if isinstance(exc, UnicodeError):
        found.append(("encoding", getattr(exc, "encoding", None)))
        found.append(("reason", getattr(exc, "reason", None)))
    if isinstance(exc, json.JSONDecodeError):
        found.extend([("reason", exc.msg), ("pos", exc.pos)])
    return [(key, str(value)[:MAX_ATTRIBUTE]) for key, value in found if value is not None]
