"""What a supervisor limited to some services reads of a conversation that also went through
services it does not supervise: the transcript, the search's summaries and the audit log with
the other services' internals left out (the rule: api/supervisor_scope.py).

A conversation whose queue entries are all in the caller's services (or the admin's call) is
read as it is; only a "mixed" one is redacted. Which service wrote an entry: the n-th pickup
notice of the transcript opens the n-th picked-up queue entry; every agent-side entry (agent
and supervisor messages, notes, whispers, supervisor notices, pickup notices) comes after the
pickup of the entry it was written in. Actions are placed the same way by their time (the
workflow's clock, as the transcript's). Counts that differ fail closed: every service of the
conversation owns the entry."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine

from api.models.desk import ConversationSummary
from api.supervisor_scope import Supervisor
from api.usecases.desk import summaries
from omni.desk import AGENT_ONLY_KINDS
from store import care, supervision
from store import conversations as conversation_log
from store.conversations import ConversationRow, MessageRow
from store.supervision import PICKUP_NOTICE, Passage, SupervisorAction

GENERIC_PICKUP = f"{PICKUP_NOTICE}um de nossos especialistas."
"""The pickup notice without the agent's name (what the customer reads when the block hides it)."""
NAMES = ("agent", "supervisor")
"""The `data` keys that name a person."""

Mark = TypeVar("Mark", int, datetime)


def owners(passages: Sequence[Passage], marks: Sequence[Mark], at: Mark) -> frozenset[str | None]:
    """The service(s) a transcript entry at seq (or an action at time) `at` was written in,
    given the conversation's queue entries and its pickups' seqs (or times), in order: the one
    of the last pickup at or before `at`; every service of the conversation when the pickups
    and the picked-up entries do not pair up, or before the first pickup."""
    picked = [one for one in passages if one.picked]
    everywhere = frozenset(one.service_id for one in passages)
    if len(picked) != len(marks):
        return everywhere
    index = bisect_right(marks, at) - 1
    return everywhere if index < 0 else frozenset({picked[index].service_id})


def agent_side(row: MessageRow) -> bool:
    """An entry written by or naming the agent side: what another service may keep to itself."""
    return (
        row.kind in AGENT_ONLY_KINDS
        or row.sender in NAMES
        or (row.sender == "system" and (row.text or "").startswith(PICKUP_NOTICE))
    )


def redacted(row: MessageRow) -> MessageRow | None:
    """The entry as a supervisor of another service reads it: None for an internal one (note,
    whisper, supervisor notice), else without the names of that service's people."""
    if row.kind in AGENT_ONLY_KINDS:
        return None
    if row.sender == "system":
        if (row.text or "").startswith(PICKUP_NOTICE):
            return replace(row, text=GENERIC_PICKUP)
        return row
    data = {key: value for key, value in (row.data or {}).items() if key not in NAMES}
    return replace(row, data=data or None)


def transcript(
    engine: Engine, caller: Supervisor, conversation_id: str, after: int, limit: int
) -> list[MessageRow]:
    """The monitor's page after `after`: as recorded for the admin and for a conversation
    only in the caller's services; else with the other services' parts redacted (a page
    emptied by that reads on, so a full page stays full)."""
    rows = conversation_log.messages_after(engine, conversation_id, after, limit)
    trail = supervision.passages(engine, [conversation_id]).get(conversation_id, [])
    if caller.sees_all(one.service_id for one in trail):
        return rows
    marks = [seq for seq, _ in supervision.pickups(engine, conversation_id)]
    found: list[MessageRow] = []
    while True:
        for row in rows:
            mine = not agent_side(row) or caller.sees_all(owners(trail, marks, row.seq))
            kept = row if mine else redacted(row)
            if kept is not None:
                found.append(kept)
        if len(rows) < limit or len(found) >= limit:
            return found[:limit]
        rows = conversation_log.messages_after(
            engine, conversation_id, rows[-1].seq, limit - len(found)
        )


def conversation_summaries(
    engine: Engine, caller: Supervisor, rows: list[ConversationRow]
) -> list[ConversationSummary]:
    """The search's summaries; of a conversation that was also in another service, only the
    agents, labels and satisfaction answer of the caller's services."""
    found = summaries(engine, rows)
    names = caller.service_names
    if names is None:
        return found
    trails = supervision.passages(engine, [one.conversation_id for one in found])
    mixed = {
        one.conversation_id
        for one in found
        if not caller.sees_all(p.service_id for p in trails.get(one.conversation_id, []))
    }
    if not mixed:
        return found
    labelled = supervision.labels_in(engine, mixed, names)
    answers = care.csat_of(engine, list(mixed))
    out = []
    for summary in found:
        if summary.conversation_id not in mixed:
            out.append(summary)
            continue
        trail = trails.get(summary.conversation_id, [])
        agents: list[str] = []
        for one in trail:
            if one.agent is not None and caller.sees(one.service_id) and one.agent not in agents:
                agents.append(one.agent)
        last = next((one for one in reversed(trail) if one.picked), None)
        tags, codes = labelled.get(summary.conversation_id, ([], []))
        answer = answers.get(summary.conversation_id)
        answered = answer is not None and caller.sees(answer.service_id)
        update = {
            "agent": summary.agent if last is not None and caller.sees(last.service_id) else None,
            "agents": agents,
            "tags": tags,
            "wrapup_codes": codes,
            "csat_score": summary.csat_score if answered else None,
            "csat_comment": summary.csat_comment if answered else None,
        }
        out.append(summary.model_copy(update=update))
    return out


def audit(
    engine: Engine, caller: Supervisor, conversation_id: str | None, limit: int
) -> list[SupervisorAction]:
    """The audit log, newest first: for a supervisor, the actions on conversations of its
    services taken while one of its services had the conversation."""
    scope = caller.service_ids
    if scope is None:
        return supervision.list_actions(engine, conversation_id, limit)
    found: list[SupervisorAction] = []
    offset = 0
    while len(found) < limit:
        page = supervision.list_actions(engine, conversation_id, limit, scope, offset)
        trails = supervision.passages(engine, {one.conversation_id for one in page})
        times: dict[str, list[datetime]] = {}
        for action in page:
            trail = trails.get(action.conversation_id, [])
            if not caller.sees_all(one.service_id for one in trail):
                if action.conversation_id not in times:
                    marks = supervision.pickups(engine, action.conversation_id)
                    times[action.conversation_id] = [at for _, at in marks]
                where = owners(trail, times[action.conversation_id], action.created_at)
                if not caller.sees_all(where):
                    continue
            found.append(action)
        if len(page) < limit:
            break
        offset += limit
    return found[:limit]
