"""The metrics scrape's totals (store/service_totals.py): counted by the transactions that pick
up or abandon an entry, once each, and read from their rows, not from the queue's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from omni.models import OPEN_QUEUE_STATUSES, ServiceCreate
from store import queue
from store.queue_figures import ServiceFigures, service_figures
from store.services import create_service, delete_service
from store.tables import queue_entries, service_totals
from tests.test_queue_store import enqueue, staffed
from transbordo.stack import stack_ring


def totals(figures: ServiceFigures) -> tuple[int, int, int]:
    return figures.abandoned, figures.answered, figures.answered_within_target


def test_the_writers_count_once_and_the_scrape_reads_no_history(any_engine: sa.Engine) -> None:
    service, (ana, beto) = staffed(any_engine)  # answer time 60 s
    for n in (1, 2, 3, 4):
        enqueue(any_engine, service, n)
    late = datetime.now(UTC) - timedelta(seconds=600)
    with any_engine.begin() as conn:
        conn.execute(sa.update(queue_entries).where(queue_entries.c.id == "q4").values(
            enqueued_at=late))  # fmt: skip
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert queue.claim(any_engine, "q1", ana).code == "ok"  # a retry: counted once
    assert queue.close_waiting(any_engine, "q2", "abandoned")
    assert queue.close_waiting(any_engine, "q2", "abandoned")  # a retry: counted once
    assert queue.close_waiting(any_engine, "q3", "voicemail")  # neither answered nor abandoned
    assert queue.claim(any_engine, "q4", beto).code == "ok"  # after 600 s: not within 60 s
    assert not queue.close_waiting(any_engine, "q4", "abandoned")  # the pickup came first
    queue.finish(any_engine, "q1")
    [figures] = service_figures(any_engine)
    assert totals(figures) == (1, 2, 1)
    metrics = queue.metrics(any_engine, service)
    assert (metrics.abandoned, metrics.answered, metrics.answered_within_target) == (1, 2, 1)
    with any_engine.begin() as conn:  # the history gone (an archive, say): the counters stay
        conn.execute(queue_entries.delete().where(queue_entries.c.status.not_in(
            OPEN_QUEUE_STATUSES)))  # fmt: skip
    [after] = service_figures(any_engine)
    assert totals(after) == (1, 2, 1)
    assert (after.waiting, after.in_service) == (0, 1)  # q4, still open


def test_a_deleted_service_takes_its_totals_along(any_engine: sa.Engine) -> None:
    """Its entries stay as detached history; its totals row goes (store/service_removal.py),
    and a new service of the same name starts from zero."""
    service, (ana, _) = staffed(any_engine)
    enqueue(any_engine, service, 1)
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    queue.finish(any_engine, "q1")
    assert totals(service_figures(any_engine)[0]) == (0, 1, 1)
    delete_service(any_engine, service)
    with any_engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(service_totals)).scalar() == 0
    create_service(any_engine, ServiceCreate(name="Suporte"), stack_ring())
    assert totals(service_figures(any_engine)[0]) == (0, 0, 0)
