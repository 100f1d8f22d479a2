"""Load shedding: a process answers 503 `overloaded` (with Retry-After) instead of piling up.

Every customer message and agent action waits on a Temporal call that waits on a worker. When
the workers fall behind, calls pile up in the API: each waits longer, clients retry, workers
fall further behind (the overload spiral of bench/README.md). So the API counts the Temporal
calls that wait on a worker (Updates, update-with-start, Queries) in flight in this process; at
`max_temporal_calls_in_flight` a new one is not made and the request answers 503 at once with
`Retry-After` (`overload_retry_after_seconds`). A message's Update that times out still answers
202 (the Signal that hands it over is not counted: it waits on the server only).

The gate is a Temporal client interceptor on the API's own client (`gated`); `install` maps
`Overloaded` to the house error shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowUpdateHandle,
)

from api.errors import ErrorCode, error_body
from transbordo.settings import Settings


class Overloaded(Exception):
    """Too many Temporal calls in flight in this process; come back after `retry_after` s."""

    def __init__(self, in_flight: int, retry_after: int) -> None:
        super().__init__(f"{in_flight} Temporal calls in flight in this process; try again later")
        self.retry_after = retry_after


class TemporalGate(Interceptor):
    """Counts the calls in flight (all on the event loop: a plain counter) and refuses past
    `limit`."""

    def __init__(self, limit: int, retry_after: int) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self.in_flight = 0

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _GatedCalls(next, self)

    def __enter__(self) -> None:
        """`with gate:` holds a slot for the call (a plain class, not a generator's context
        manager: it is on every message's path)."""
        if self.in_flight >= self.limit:
            raise Overloaded(self.in_flight, self.retry_after)
        self.in_flight += 1

    def __exit__(self, *exc_info: object) -> None:
        self.in_flight -= 1


class _GatedCalls(OutboundInterceptor):
    """The calls that wait on a worker take a slot of the gate for as long as they wait."""

    def __init__(self, next: OutboundInterceptor, gate: TemporalGate) -> None:
        super().__init__(next)
        self._gate = gate

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        with self._gate:
            return await self.next.start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        with self._gate:
            return await self.next.start_update_with_start_workflow(input)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        with self._gate:
            return await self.next.query_workflow(input)


def gated(client: Client, settings: Settings) -> Client:
    """The same connection, namespace and data converter as `client`, its calls gated."""
    gate = TemporalGate(
        settings.max_temporal_calls_in_flight, settings.overload_retry_after_seconds
    )
    config = client.config()
    config["interceptors"] = [*config["interceptors"], gate]
    return Client(**config)


def gate_of(client: Client) -> TemporalGate | None:
    """The gate of a `gated` client (for tests and metrics)."""
    found = [i for i in client.config()["interceptors"] if isinstance(i, TemporalGate)]
    return found[0] if found else None


async def _overloaded(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Overloaded)
    return JSONResponse(
        error_body(str(exc), ErrorCode.OVERLOADED),
        status_code=503,
        headers={"Retry-After": str(exc.retry_after)},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(Overloaded, _overloaded)
