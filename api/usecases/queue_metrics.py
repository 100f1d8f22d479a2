"""Per-service queue figures for `/metrics`, computed at scrape time from SQL and reused for
`metrics_cache_seconds` (several Prometheus servers, or a fast scrape, cost one query set).

Every API process answers the same figures (they are SQL's), so any replica may be scraped
for them.

SQL down never fails the scrape: the process's other series (HTTP, process, build info) still
come out. A read that fails, or takes longer than `READ_TIMEOUT_SECONDS`, leaves the queue
figures out of that scrape and sets `transbordo_queue_figures_error` to 1 (0 otherwise); the
first failure of a streak is logged (its exception's type only: SQL errors can name hosts), and
so is the read that ends it. A read that hangs is never started again beside itself (one read
at a time, in a daemon thread: transbordo/health.py `in_daemon_thread`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from store.queue_figures import ServiceFigures, service_figures
from transbordo.health import in_daemon_thread

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 3.0
"""The longest a scrape waits for the queue figures (Prometheus' scrape timeout is 10 s)."""


class QueueCollector(Collector):
    """A prometheus_client collector over `store.queue_figures`."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        cache_seconds: float,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._read_timeout = read_timeout
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._figures: list[ServiceFigures] = []
        self._reading: concurrent.futures.Future[list[ServiceFigures]] | None = None
        self._failing = False

    def figures(self) -> list[ServiceFigures] | None:
        """The figures, read again when older than `cache_seconds`; None when SQL did not
        give them within `read_timeout`."""
        with self._lock:
            if time.monotonic() - self._read_at < self._cache_seconds:
                return self._figures
            if self._reading is None or self._reading.done():
                self._reading = in_daemon_thread(self._read, "queue-figures")
            reading = self._reading
        try:
            return reading.result(self._read_timeout)
        except Exception as exc:  # noqa: BLE001 - the scrape goes on without them
            with self._lock:
                if not self._failing:
                    self._failing = True
                    log.warning(
                        "queue figures left out of /metrics: SQL did not answer (%s)",
                        "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__,
                    )
            return None

    def _read(self) -> list[ServiceFigures]:
        figures = service_figures(self._engine())
        with self._lock:
            self._figures, self._read_at = figures, time.monotonic()
            if self._failing:
                self._failing = False
                log.info("queue figures back in /metrics: SQL answers again")
        return figures

    def collect(self) -> Iterator[Metric]:
        figures = self.figures()
        error = GaugeMetricFamily(
            "transbordo_queue_figures_error",
            "1 when this scrape could not read the queue figures from SQL (they are left out).",
        )
        error.add_metric([], 0 if figures is not None else 1)
        return iter([*families(figures or [], datetime.now(UTC)), error])


def families(figures: list[ServiceFigures], now: datetime) -> list[Metric]:
    """The metric families of every service's figures, labelled by service name."""

    def gauge(name: str, text: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"transbordo_{name}", text, labels=["service"])

    def counter(name: str, text: str) -> CounterMetricFamily:
        return CounterMetricFamily(f"transbordo_{name}", text, labels=["service"])

    waiting = gauge("queue_waiting", "Customers waiting for an agent.")
    oldest = gauge("queue_oldest_wait_seconds", "How long the first in line has waited (0: none).")
    in_service = gauge("queue_in_service", "Conversations an agent has now.")
    level = gauge("service_level_percent", "Answered within the answer time over answered plus"
                  " abandoned, since the service began (absent before any).")  # fmt: skip
    target = gauge("service_level_target_percent", "The service's service-level target.")
    answer = gauge("answer_time_seconds", "The service's answer-time target.")
    abandoned = counter("queue_abandoned", "Customers who left the queue before a pickup.")
    answered = counter("queue_answered", "Customers picked up by an agent.")
    within = counter("queue_answered_within_target", "Of them, picked up within the answer time.")
    for row in figures:
        labels = [row.service]
        waited = (now - row.oldest_waiting_since).total_seconds() if row.oldest_waiting_since else 0
        waiting.add_metric(labels, row.waiting)
        oldest.add_metric(labels, max(waited, 0.0))
        in_service.add_metric(labels, row.in_service)
        if row.service_level_percent is not None:
            level.add_metric(labels, row.service_level_percent)
        target.add_metric(labels, row.target_service_level_percent)
        answer.add_metric(labels, row.answer_time_seconds)
        abandoned.add_metric(labels, row.abandoned)
        answered.add_metric(labels, row.answered)
        within.add_metric(labels, row.answered_within_target)
    return [waiting, oldest, in_service, level, target, answer, abandoned, answered, within]
