"""`GET /healthz` and `GET /readyz`: the API process's probes (docs/operations.md, "Probes").

No credential, no rate limit (a probe refused would take the replica out), and nothing in the
answer but states: no version (that is `/metrics`' `transbordo_build_info`, behind its token),
no error text, no address.

- `/healthz`, liveness: the process's event loop answers. Nothing else is checked, so a
  database or Temporal outage never gets every replica restarted.
- `/readyz`, readiness: SQL answers `SELECT 1` and Temporal answers its health check, each
  within 2 s (transbordo/health.py `Readiness`; one check at a time per process, its answer
  reused for a second). 200 `{"status": "ready", "checks": {"sql": "ok", "temporal": "ok"}}`,
  else 503 `{"status": "not_ready", "checks": {..., "temporal": "unreachable"}}` with
  `Retry-After`.

Their latency is recorded under their own route labels (`/healthz`, `/readyz`), never
`unmatched`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from transbordo.health import RETRY_AFTER_SECONDS, Readiness, readiness_body, ready

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    readiness: Readiness | None = getattr(state, "readiness", None)
    if readiness is None:  # made on the first probe: the engine and client exist by then
        readiness = state.readiness = Readiness(lambda: state.engine, lambda: state.temporal)
    checks = await readiness.check()
    if ready(checks):
        return JSONResponse(readiness_body(checks), headers=NO_STORE)
    headers = {**NO_STORE, "Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(readiness_body(checks), status_code=503, headers=headers)
