"""How the log's writers raise a conversation's row: `last_seq` and the status columns.

Two writers raise the same row: the workflow's records (`UPDATE`, `UPDATE_GUARDED`) and the
API's turns written ahead (`RAISE_TOP`, `RAISE_TOP_WITH_STATUS`; a first message's form
`FIRST_TURN`). The seq a status was taken at (`status_seq`) orders them, whatever order their
writes land in (store/conversations.py `record_turn`). Every statement is built once, as the
API's other per-message statements (store/hand_over.py's reasoning).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from store.tables import conversations

STATUS_COLUMNS = ("status", "block", "service", "agent")
NEW_COLUMNS = ("workflow_id", "bot", "bot_version", "contact_id", "status")
"""A new conversation's own columns (store/new_conversations.py `NewConversation`), bound as
`new_<column>` by `FIRST_TURN`'s statements."""

_top = sa.bindparam("top", type_=sa.Integer)
_at = sa.bindparam("at", type_=conversations.c.updated_at.type)
_by_id = conversations.c.id == sa.bindparam("conversation")
_highest = sa.case((conversations.c.last_seq > _top, conversations.c.last_seq), else_=_top)


def _status_taken_at(seq: sa.BindParameter[int], newer: sa.ColumnElement[bool]) -> dict[str, Any]:
    """SET clauses: the status columns (bound as `<column>_now`) and `status_seq`, written
    only where `newer` holds. The seq a status was taken at orders the writers (the API's
    `record_turn`, the workflow's records), whatever other writes raised `last_seq`."""
    c = conversations.c
    columns = {
        name: sa.case((newer, sa.bindparam(f"{name}_now", type_=c[name].type)), else_=c[name])
        for name in STATUS_COLUMNS
    }
    return {**columns, "status_seq": sa.case((newer, seq), else_=c.status_seq)}


_RAISE = conversations.update().where(_by_id).values(last_seq=_highest)
UPDATE = _RAISE.values(
    status_seq=sa.case((conversations.c.status_seq > _top, conversations.c.status_seq), else_=_top)
)
"""The workflow's record of a batch taken without `through` (a run until its first write ahead,
a continued-as-new one included; the hand-over's first turn): `last_seq` raised to `top`, the
status columns (bound by their names) written as they are, and `status_seq` raised to `top`
(the status was taken after the batch's messages; a batch without messages leaves it)."""
_through = sa.bindparam("through", type_=sa.Integer)
UPDATE_GUARDED = _RAISE.values(_status_taken_at(_through, conversations.c.status_seq <= _through))
"""A batch taken when the run was at seq `through`: its status is written unless a
`log_ahead` caller wrote one taken later (`record_turn`); `last_seq` as `UPDATE`."""

_TOP_SET = {"last_seq": _top, "updated_at": _at}
_TOP_GUARD = conversations.c.last_seq < _top
_TOP_WITH_STATUS_SET = {
    "last_seq": _highest,
    "updated_at": _at,
    # strictly newer: a status the pump took at the same seq is the newer one (it takes
    # batches only between handlers, after the Update that answered this turn)
    **_status_taken_at(_top, conversations.c.status_seq < _top),
}
RAISE_TOP = conversations.update().where(_by_id, _TOP_GUARD).values(_TOP_SET)
"""A turn written ahead without a status: `last_seq` raised to `top`."""
RAISE_TOP_WITH_STATUS = conversations.update().where(_by_id).values(_TOP_WITH_STATUS_SET)
"""A turn written ahead with the status its Update gave (`<column>_now`, taken at `top`)."""


def _first_turn(with_status: bool) -> postgresql.Insert:
    """PostgreSQL: a first message's row as `insert_new` and then the turn's UPDATE leave it,
    in one INSERT (store/turn_statement.py joins the entries to it): the status is the turn's,
    taken at `top`, or the new conversation's (`status_seq` 0, as `insert_new`'s); a row the
    workflow recorded first is raised as the UPDATE raises it (`ON CONFLICT`)."""
    c = conversations.c
    row: dict[str, Any] = {
        "id": sa.bindparam("conversation"),
        **{name: sa.bindparam(f"new_{name}", type_=c[name].type) for name in NEW_COLUMNS},
        "block": None,
        "service": None,
        "agent": None,
        "last_seq": _top,
        "status_seq": 0,
        "created_at": _at,
        "updated_at": _at,
    }
    if with_status:
        taken = {name: sa.bindparam(f"{name}_now", type_=c[name].type) for name in STATUS_COLUMNS}
        row.update(taken, status_seq=_top)
    insert = postgresql.insert(conversations).values(row)
    if with_status:
        return insert.on_conflict_do_update(index_elements=["id"], set_=_TOP_WITH_STATUS_SET)
    return insert.on_conflict_do_update(index_elements=["id"], set_=_TOP_SET, where=_TOP_GUARD)


FIRST_TURN = {RAISE_TOP: _first_turn(False), RAISE_TOP_WITH_STATUS: _first_turn(True)}
"""By the turn's UPDATE, the INSERT a first message writes in its place (PostgreSQL)."""
