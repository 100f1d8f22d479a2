"""SQL of a conversation's labels (tags and wrap-up codes), the supervisor's search by them and
counts per service in a period, a contact's earlier conversations (the agent's "histórico do
cliente"), and who served each (its queue entries: the conversation's row forgets at the finish)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from store.common import is_postgres, now
from store.conversations import ConversationRow, _conversation
from store.db import reads
from store.supervision import in_services
from store.tables import agents, conversation_labels, conversations, queue_entries, services

LabelKind = Literal["tag", "wrapup"]


@dataclass(frozen=True, slots=True)
class Labels:
    """A conversation's tags and wrap-up codes (one per human service it had, usually one)."""

    tags: list[str] = field(default_factory=list)
    wrapup_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ServedBy:
    """Where a conversation was last queued and who served it: its last queue entry's service
    and status (`finished`, `abandoned`, …), the last agent who had it, and every agent who did,
    first served first (a transfer: more than one). Names of deleted services and agents: None."""

    service: str | None
    queue_status: str
    agent: str | None
    agents: list[str] = field(default_factory=list)


def record_labels(
    engine: Engine,
    conversation_id: str,
    *,
    wrapup_code: str | None,
    tags: Iterable[str],
    service: str | None,
    agent: str | None,
) -> None:
    """Add the labels (a label already there stays as it was: retries are safe)."""
    wanted: list[tuple[LabelKind, str]] = [("tag", tag) for tag in tags]
    if wrapup_code is not None:
        wanted.append(("wrapup", wrapup_code))
    with engine.begin() as conn:
        for kind, value in wanted:
            values = dict(
                conversation_id=conversation_id,
                kind=kind,
                value=value,
                service=service,
                agent=agent,
                created_at=now(),
            )
            insert = postgresql.insert if is_postgres(conn) else sqlite.insert
            conn.execute(insert(conversation_labels).values(**values).on_conflict_do_nothing())


def labels_of(engine: Engine, conversation_ids: Iterable[str]) -> dict[str, Labels]:
    """The labels of these conversations (absent: none)."""
    ids = list(conversation_ids)
    found: dict[str, Labels] = {}
    if not ids:
        return found
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(conversation_labels)
            .where(conversation_labels.c.conversation_id.in_(ids))
            .order_by(conversation_labels.c.created_at, conversation_labels.c.value)
        )
        for row in rows:
            labels = found.setdefault(row.conversation_id, Labels())
            (labels.tags if row.kind == "tag" else labels.wrapup_codes).append(row.value)
    return found


def served_by(engine: Engine, conversation_ids: Iterable[str]) -> dict[str, ServedBy]:
    """Who served these conversations, from their queue entries (absent: never queued)."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    entry = queue_entries.c
    query = (
        sa.select(
            entry.conversation_id, entry.status, entry.picked_up_at, services.c.name, agents.c.name
        )
        .select_from(queue_entries)
        .outerjoin(services, services.c.id == entry.service_id)
        .outerjoin(agents, agents.c.id == entry.agent_id)
        .where(entry.conversation_id.in_(ids))
        .order_by(  # a conversation's entries run one after another: by when each ended, the
            entry.conversation_id,  # open one last (a requeue keeps its old `enqueued_at`)
            entry.ended_at.is_(None),
            entry.ended_at,
            entry.enqueued_at,
            entry.id,
        )
    )
    found: dict[str, ServedBy] = {}
    with reads(engine) as conn:
        for conversation_id, status, picked_up_at, service, agent in conn.execute(query):
            before = found.get(conversation_id)
            served = list(before.agents) if before is not None else []
            if agent is not None and agent not in served:
                served.append(agent)
            last = before.agent if before is not None else None
            if picked_up_at is not None:  # served in this entry (None: its agent was deleted)
                last = agent
            found[conversation_id] = ServedBy(service, status, last, served)
    return found


def search(
    engine: Engine,
    *,
    tag: str | None = None,
    wrapup_code: str | None = None,
    service: str | None = None,
    limit: int = 100,
    service_ids: Collection[str] | None = None,
) -> list[ConversationRow]:
    """Conversations with this tag and/or wrap-up code (optionally of one service), newest
    first; of the conversations queued in one of `service_ids` when given (a supervisor's)."""
    query = sa.select(conversations).order_by(conversations.c.updated_at.desc()).limit(limit)
    if service_ids is not None:
        query = query.where(in_services(conversations.c.id, service_ids))
    for kind, value in (("tag", tag), ("wrapup", wrapup_code)):
        if value is None:
            continue
        label = conversation_labels.alias(f"label_{kind}")
        query = query.where(
            sa.exists().where(
                label.c.conversation_id == conversations.c.id,
                label.c.kind == kind,
                label.c.value == value,
                *([label.c.service == service] if service is not None else []),
            )
        )
    if service is not None and tag is None and wrapup_code is None:
        query = query.where(
            sa.exists().where(
                conversation_labels.c.conversation_id == conversations.c.id,
                conversation_labels.c.service == service,
            )
        )
    with reads(engine) as conn:
        return [_conversation(row) for row in conn.execute(query)]


def earlier_conversations(
    engine: Engine, current: ConversationRow, limit: int = 20
) -> list[ConversationRow]:
    """The same contact's other conversations on the same bot, started before `current`,
    newest first."""
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(conversations)
            .where(
                conversations.c.bot == current.bot,
                conversations.c.contact_id == current.contact_id,
                conversations.c.id != current.id,
                conversations.c.created_at <= current.created_at,
            )
            .order_by(conversations.c.created_at.desc())
            .limit(limit)
        )
        return [_conversation(row) for row in rows]


def counts_by_service(
    engine: Engine, start: datetime, end: datetime
) -> dict[str, dict[LabelKind, dict[str, int]]]:
    """Per service name, per kind: how many conversations got each label recorded in
    [start, end), most used first."""
    labels = conversation_labels.c
    used = sa.func.count()
    query = (
        sa.select(labels.service, labels.kind, labels.value, used)
        .where(labels.created_at >= start, labels.created_at < end, labels.service.is_not(None))
        .group_by(labels.service, labels.kind, labels.value)
        .order_by(labels.service, labels.kind, used.desc(), labels.value)
    )
    found: dict[str, dict[LabelKind, dict[str, int]]] = {}
    with reads(engine) as conn:
        for service, kind, value, count in conn.execute(query):
            found.setdefault(service, {}).setdefault(kind, {})[value] = int(count)
    return found
