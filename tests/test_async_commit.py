"""PostgreSQL: the API's writes ahead commit without waiting for the WAL flush
(store/loop_statements.py), so a crash of the server may take the last ones with it. Those
turns are not lost to the transcript: when the API finds its connection broken, the workflows
whose turns it committed just before record their outboxes again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store import loop_statements
from tests.conftest import running_stack
from tests.live import eventually
from tests.test_kept_timer import ECO
from tests.test_log_ahead import eco_turns
from tests.test_loop_statements import loop_backends

MENU = "Escolha uma opção\n1. De novo"


def seqs(engine: sa.Engine, conversation: str) -> list[int]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT seq FROM messages WHERE conversation_id = :c ORDER BY seq"),
            {"c": conversation},
        )
        return list(found.scalars())


@pytest.mark.asyncio
async def test_turns_a_crash_may_have_taken_are_recorded_again_by_their_workflows(
    time_env, settings, postgres_engine
):
    engine = postgres_engine
    async with running_stack(time_env, settings, engine, ECO) as http:
        assert await loop_statements.ready(engine)
        conversation = await eco_turns(http, "pg1", 3)  # on the loop's connection
        assert seqs(engine, conversation) == [1, 2, 3, 4, 5, 6]
        with engine.begin() as conn:  # the crash took the last commits (never flushed)...
            conn.execute(
                sa.text("DELETE FROM messages WHERE conversation_id = :c AND seq > 2"),
                {"c": conversation},
            )
            [backend] = loop_backends(engine)  # ... and the connection with them
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": backend})

        other = await eco_turns(http, "pg2", 1)  # finds the connection broken

        async def whole() -> bool | None:
            return seqs(engine, conversation) == [1, 2, 3, 4, 5, 6] or None

        await eventually(whole, "the lost turns recorded again by their workflow")
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        assert [m["text"] for m in log] == ["oi", MENU, "1", MENU, "1", MENU]
        assert seqs(engine, other) == [1, 2]
