"""SQL of quick replies ("respostas rápidas"): global or per service, by shortcut.

The service is named at creation as people type it ("cobranca" is Cobrança's) and kept by id.

A shortcut is unique among the global ones and within each service: checked here to name the
scope, and by two partial unique indexes (migration 0020) against two admins racing."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from omni.desk import QuickReplyCreate, QuickReplyPublic, QuickReplyUpdate
from omni.errors import Conflict, NotFound, OmniCode
from store.common import new_id, now
from store.db import reads
from store.name_keys import check_revision, write_revision
from store.service_names import service_ids
from store.tables import quick_replies, services


def _select() -> sa.Select[Any]:
    return (
        sa.select(quick_replies, services.c.name.label("service_name"))
        .outerjoin(services, services.c.id == quick_replies.c.service_id)
        .order_by(  # the global one first, on both databases (NULLs sort differently)
            quick_replies.c.shortcut, quick_replies.c.service_id.is_not(None), services.c.name
        )
    )


def _public(row: sa.Row[Any]) -> QuickReplyPublic:
    return QuickReplyPublic(
        id=row.id,
        shortcut=row.shortcut,
        title=row.title,
        text=row.text,
        service=row.service_name,
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def list_quick_replies(
    engine: Engine, services_of: Iterable[str] | None = None
) -> list[QuickReplyPublic]:
    """Every quick reply, or (given service names) the global ones and those services'."""
    query = _select()
    if services_of is not None:
        query = query.where(
            sa.or_(quick_replies.c.service_id.is_(None), services.c.name.in_(list(services_of)))
        )
    with reads(engine) as conn:
        return [_public(row) for row in conn.execute(query)]


def get_quick_reply(engine: Engine, reply_id: str) -> QuickReplyPublic:
    with reads(engine) as conn:
        return _get(conn, reply_id)


def _get(conn: Connection, reply_id: str) -> QuickReplyPublic:
    row = conn.execute(_select().where(quick_replies.c.id == reply_id)).first()
    if row is None:
        raise NotFound(f"no quick reply {reply_id!r}")
    return _public(row)


def _check_shortcut(
    conn: Connection, shortcut: str, service_id: str | None, exclude_id: str | None = None
) -> None:
    same_scope = (
        quick_replies.c.service_id.is_(None)
        if service_id is None
        else quick_replies.c.service_id == service_id
    )
    query = sa.select(quick_replies.c.id).where(quick_replies.c.shortcut == shortcut, same_scope)
    if exclude_id is not None:
        query = query.where(quick_replies.c.id != exclude_id)
    if conn.execute(query).first() is not None:
        raise _taken(shortcut)


def _taken(shortcut: str) -> Conflict:
    return Conflict(
        f"a quick reply {shortcut!r} already exists here",
        code=OmniCode.DUPLICATE_QUICK_REPLY,
        extra={"existing": shortcut},
    )


def create_quick_reply(engine: Engine, body: QuickReplyCreate) -> QuickReplyPublic:
    try:
        return _create(engine, body)
    except IntegrityError:  # a concurrent one took the shortcut in this scope
        raise _taken(body.shortcut) from None


def _create(engine: Engine, body: QuickReplyCreate) -> QuickReplyPublic:
    reply_id, at = new_id("qr"), now()
    with engine.begin() as conn:
        service_id = None
        if body.service is not None:  # in any case, accents or spacing (store/service_names.py)
            service_id = service_ids(conn, [body.service], "service")[body.service]
        _check_shortcut(conn, body.shortcut, service_id)
        conn.execute(
            sa.insert(quick_replies).values(
                id=reply_id,
                shortcut=body.shortcut,
                title=body.title,
                text=body.text,
                service_id=service_id,
                created_at=at,
                updated_at=at,
            )
        )
        return _get(conn, reply_id)


def update_quick_reply(
    engine: Engine,
    reply_id: str,
    body: QuickReplyUpdate,
    *,
    expected: Collection[int] | None = None,
) -> QuickReplyPublic:
    """Change the fields sent; `expected`: the revisions an `If-Match` accepts (else Stale)."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    try:
        with engine.begin() as conn:
            row = conn.execute(
                sa.select(quick_replies).where(quick_replies.c.id == reply_id)
            ).first()
            if row is None:
                raise NotFound(f"no quick reply {reply_id!r}")
            what = f"quick reply {row.shortcut}"
            check_revision(row.revision, expected, what)  # stale: told before a taken shortcut
            if "shortcut" in changes:
                _check_shortcut(conn, changes["shortcut"], row.service_id, exclude_id=reply_id)
            changes["updated_at"] = now()
            write_revision(conn, quick_replies, row, changes, expected=expected, what=what)
            return _get(conn, reply_id)
    except IntegrityError:
        raise _taken(body.shortcut or "") from None


def delete_quick_reply(engine: Engine, reply_id: str) -> None:
    with engine.begin() as conn:
        deleted = conn.execute(sa.delete(quick_replies).where(quick_replies.c.id == reply_id))
        if deleted.rowcount == 0:
            raise NotFound(f"no quick reply {reply_id!r}")
