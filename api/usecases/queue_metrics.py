"""Per-service queue figures for `/metrics`, computed at scrape time from SQL and reused for
`metrics_cache_seconds` (several Prometheus servers, or a fast scrape, cost one query set).

Every API process answers the same figures (they are SQL's), so any replica may be scraped
for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from store.queue_figures import ServiceFigures, service_figures


class QueueCollector(Collector):
    """A prometheus_client collector over `store.queue_figures`."""

    def __init__(self, engine: Callable[[], Engine], cache_seconds: float) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._figures: list[ServiceFigures] = []

    def figures(self) -> list[ServiceFigures]:
        with self._lock:
            if time.monotonic() - self._read_at >= self._cache_seconds:
                self._figures = service_figures(self._engine())
                self._read_at = time.monotonic()
            return self._figures

    def collect(self) -> Iterator[Metric]:
        return iter(families(self.figures(), datetime.now(UTC)))


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
