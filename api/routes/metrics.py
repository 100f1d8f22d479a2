"""`GET /metrics`: this API process's Prometheus exposition, for a bearer of the metrics token
(`TRANSBORDO_METRICS_TOKEN`) or the admin token (docs/observability.md).

Each API process has its own registry and answers for itself (its HTTP figures); the queue
figures come from SQL and are the same in every process.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.process_collector import ProcessCollector

from api.deps import Credentials, SettingsDep, unauthorized
from api.http_metrics import HttpFigures, HttpMetrics
from api.stream_hub import StreamGapsCollector
from api.usecases.log_ahead import WritesBehindCollector
from api.usecases.queue_metrics import QueueCollector
from transbordo.health import register_build_info, version_text
from transbordo.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter()


async def require_metrics_reader(settings: SettingsDep, credentials: Credentials) -> None:
    """The metrics token or the admin token, compared in constant time."""
    if credentials is None:
        raise unauthorized()
    given = credentials.credentials.encode()
    tokens = [token for token in (settings.metrics_token, settings.admin_token) if token]
    # every token is compared (no early exit), so the time does not say which one was close
    if not any([secrets.compare_digest(given, token.encode()) for token in tokens]):
        raise unauthorized()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, _: Annotated[None, Depends(require_metrics_reader)]) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI, settings: Settings) -> None:
    """The app's registry (build info, HTTP figures, queue figures, this process's CPU and
    memory), the middleware that records requests (outermost: call after every other
    middleware) and the route. Logs the versions: the API process's first line about itself."""
    log.info("API starting: %s", version_text())
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    register_build_info(registry)
    registry.register(QueueCollector(lambda: app.state.engine, settings.metrics_cache_seconds))
    registry.register(WritesBehindCollector())
    registry.register(StreamGapsCollector())
    app.state.metrics_registry = registry
    app.add_middleware(HttpMetrics, figures=HttpFigures(registry), access_log=settings.access_log)
    app.include_router(router)
