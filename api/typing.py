"""Typing indicators between the web chat and the agent screen: ephemeral by design.

A `POST …/typing` is never written anywhere (no transcript, no SQL row, no Temporal call): it
wakes the streams of that conversation through the process's stream hub, which send an SSE
event `typing` to the other side. With several API replicas on PostgreSQL the signal is a
`NOTIFY` (store/notify.py `TYPING_CHANNEL`) that every replica's listener hands to its hub, so
it reaches a stream held by another process; on SQLite (one API process) the hub is told
directly. A signal is a hint for a few seconds: the screens hide it on their own, and a lost
one costs nothing. Each side of a conversation is rate-limited (`typing per conversation`).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from sse_starlette import ServerSentEvent

from api import sse
from api.stream_hub import StreamHub, Watch
from store import notify

Side = str
"""`customer` or `agent`: who is typing."""


async def signal(engine: Engine, hub: StreamHub, conversation_id: str, side: Side) -> None:
    if engine.dialect.name == "postgresql":
        await asyncio.to_thread(_notify, engine, conversation_id, side)
    else:
        hub.typing(conversation_id, side)


def _notify(engine: Engine, conversation_id: str, side: Side) -> None:
    with engine.begin() as conn:
        notify.typing(conn, conversation_id, side)


def customer_events(watch: Watch) -> list[ServerSentEvent]:
    """For the web chat's stream: the agent is typing."""
    return [
        sse.event("typing", {"from": "agent"}) for _, side in watch.take_typing() if side == "agent"
    ]


def agent_events(watch: Watch) -> list[ServerSentEvent]:
    """For the agent screen's stream: a customer of one of the agent's conversations is typing."""
    return [
        sse.event("typing", {"conversation_id": conversation_id, "from": "customer"})
        for conversation_id, side in sorted(watch.take_typing())
        if side == "customer"
    ]
