"""Admin-given names unique under a normal form, quick-reply shortcuts unique per scope, and a
revision on what admins edit (for `If-Match`).

- `services.name_key`, `agents.name_key`: the SHA-256 (hex) of the name in omni/names.py's
  normal form (case, marks, format characters, spacing folded), under a unique index, so
  "Suporte" and "suporte " cannot both be made. A digest, not the form: folding may make a
  100-character name far longer ("…" is "..."), more than a column or an index entry holds. A
  database may already hold such pairs: the migration must not fail on them, and renaming a
  service breaks the flows that name it, so nothing is renamed. The oldest row of each clashing
  group gets the key; the others keep a NULL key (a unique index ignores NULLs) and are listed
  in the log with what they clash with. The stores still refuse a new name that clashes with a
  NULL-keyed row, and a NULL-keyed row gets its key at its next change once it is free. No name
  is rewritten either: one stored in NFD or with spaces around keeps its bytes, which flows
  name (the API finds it by its NFC form; docs/omni.md, "Names").
- `quick_replies`: one shortcut among the global ones and one per service (two partial unique
  indexes; NULLs are distinct in a plain one). A shortcut repeated in one scope expanded one of
  the texts at random: the later rows get a numbered shortcut (`/boleto-2`), logged, so both
  texts stay reachable and the admin sees which to fix.
- `revision` (from 1) on services, agents and quick replies: each admin change adds one.

Revision ID: 0020
Revises: 0019
"""

import hashlib
import logging
import unicodedata
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
SHORTCUT_MAX = 41  # "/" + 40, omni/desk.py SHORTCUT_PATTERN


def _name_key(name: str) -> str:
    """store.name_keys.stored_key as of this migration (frozen here: a migration never changes):
    NFKD, marks (M*) and format characters (Cf) dropped, casefolded, spaces collapsed, hashed."""
    bare = "".join(
        c
        for c in unicodedata.normalize("NFKD", name)
        if unicodedata.category(c)[0] != "M" and unicodedata.category(c) != "Cf"
    )
    return hashlib.sha256(" ".join(bare.casefold().split()).encode()).hexdigest()


def upgrade() -> None:  # plain ALTERs and indexes: no table rebuild on SQLite
    for table in ("services", "agents"):
        op.add_column(table, sa.Column("name_key", sa.String(64), nullable=True))
        op.add_column(table, sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
        _fill_name_keys(table)
        op.create_index(f"uq_{table}_name_key", table, ["name_key"], unique=True)
    op.add_column(
        "quick_replies", sa.Column("revision", sa.Integer, nullable=False, server_default="1")
    )
    _number_repeated_shortcuts()
    for name, columns, where in (
        ("uq_quick_replies_global_shortcut", ["shortcut"], "service_id IS NULL"),
        ("uq_quick_replies_service_shortcut", ["service_id", "shortcut"], "service_id IS NOT NULL"),
    ):
        op.create_index(
            name,
            "quick_replies",
            columns,
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def _fill_name_keys(table_name: str) -> None:
    conn = op.get_bind()
    table = sa.table(
        table_name,
        sa.column("id"),
        sa.column("name"),
        sa.column("name_key"),
        sa.column("created_at"),
    )
    rows = conn.execute(
        sa.select(table.c.id, table.c.name).order_by(table.c.created_at, table.c.id)
    )
    first: dict[str, tuple[str, str]] = {}
    for row in rows.all():
        key = _name_key(row.name)
        if key in first:
            log.warning(
                "%s %r (%s) has the same name as %r (%s) ignoring case and accents: kept as it "
                "is, without a name key; rename one of them",
                table_name[:-1],
                row.name,
                row.id,
                *first[key],
            )
            continue
        first[key] = (row.name, row.id)
        conn.execute(sa.update(table).where(table.c.id == row.id).values(name_key=key))


def _number_repeated_shortcuts() -> None:
    conn = op.get_bind()
    table = sa.table(
        "quick_replies",
        sa.column("id"),
        sa.column("shortcut"),
        sa.column("service_id"),
        sa.column("created_at"),
    )
    rows = conn.execute(
        sa.select(table.c.id, table.c.shortcut, table.c.service_id).order_by(
            table.c.created_at, table.c.id
        )
    ).all()
    taken: dict[str | None, set[str]] = defaultdict(set)
    for row in rows:
        taken[row.service_id].add(row.shortcut)
    seen: dict[str | None, set[str]] = defaultdict(set)
    for row in rows:
        scope = seen[row.service_id]
        if row.shortcut not in scope:
            scope.add(row.shortcut)
            continue
        number = 2
        while (new := _numbered(row.shortcut, number)) in taken[row.service_id]:
            number += 1
        taken[row.service_id].add(new)
        scope.add(new)
        conn.execute(sa.update(table).where(table.c.id == row.id).values(shortcut=new))
        log.warning(
            "quick reply %s: shortcut %s repeated in its scope (%s), now %s",
            row.id,
            row.shortcut,
            row.service_id or "global",
            new,
        )


def _numbered(shortcut: str, number: int) -> str:
    suffix = f"-{number}"
    return shortcut[: SHORTCUT_MAX - len(suffix)] + suffix


def downgrade() -> None:
    op.drop_index("uq_quick_replies_service_shortcut", table_name="quick_replies")
    op.drop_index("uq_quick_replies_global_shortcut", table_name="quick_replies")
    op.drop_column("quick_replies", "revision")
    for table in ("agents", "services"):
        op.drop_index(f"uq_{table}_name_key", table_name=table)
        op.drop_column(table, "revision")
        op.drop_column(table, "name_key")
