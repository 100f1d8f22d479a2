"""The FastAPI application: one Temporal client and one DB engine per process, from lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from transbordo.settings import Settings, get_settings

log = logging.getLogger(__name__)


def _start_sweep(app: FastAPI, settings: Settings) -> asyncio.Task[None] | None:
    """The periodic offer sweep (api/usecases/offers.sweep), unless turned off."""
    from api.usecases.offers import sweep

    if settings.offer_sweep_seconds <= 0:
        return None
    every = settings.offer_sweep_seconds
    return asyncio.create_task(sweep(app.state.engine, app.state.temporal, every))


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    client: Client | None = None,
) -> FastAPI:
    """Build the app; tests pass their own engine and Temporal client, `up` passes neither."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from store.db import open_database
        from transbordo.temporal import connect

        app.state.settings = settings
        app.state.engine = engine or open_database(settings.effective_database_url)
        app.state.temporal = shedding.gated(client or await connect(settings), settings)
        from api.stream_hub import hub_for
        from api.usecases.startup import publish_flows_dir

        publish_flows_dir(app.state.engine, settings)
        app.state.stream_hub = hub_for(app.state.engine)
        await app.state.stream_hub.start()
        sweeper = _start_sweep(app, settings)
        from api import presence

        presence_ticks = presence.start(app)  # agents whose screen is gone go offline
        yield
        for task in (sweeper, presence_ticks):
            if task is not None:
                task.cancel()
        await app.state.stream_hub.stop()
        from api.usecases import log_ahead
        from store import loop_statements

        await loop_statements.settle(app.state.engine)  # its writes confirmed flushed first
        await log_ahead.reported(timeout=5)  # what it found lost told before the loop ends
        if engine is None:
            app.state.engine.dispose()

    app = FastAPI(
        title="Transbordo",
        description="Chatbot conversations on Temporal, with handoff to human agents.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # /docs is api/routes/pages.py's: Swagger UI from our origin, no CDN
        redoc_url=None,  # FastAPI's ReDoc loads its script and fonts from CDNs: not served
    )
    from api import errors, limits, shedding
    from api.routes import (
        agent,
        attachments,
        bots,
        care,
        channel,
        channel_access,
        channel_connectors,
        channel_webhooks,
        codec,
        desk,
        desk_admin,
        health,
        metrics,
        offers,
        omni,
        pages,
        supervision,
        supervisor,
        typing,
    )

    for router in (  # the hot routes first: a request tries the routers in this order
        channel.messages,
        channel.router,
        agent.router,
        attachments.channel,
        attachments.agent,
        typing.channel,
        typing.agent,
        channel_access.public,
        channel_access.admin,
        channel_connectors.admin,
        channel_connectors.agent,
        channel_webhooks.router,
        bots.router,
        omni.router,
        offers.router,
        supervisor.router,
        supervision.router,
        care.router,
        desk.router,
        desk_admin.router,
    ):
        app.include_router(router, prefix="/api")
    app.include_router(health.router)  # /healthz, /readyz: no credential, no rate limit
    codec.install(app, settings)
    pages.install(app)
    errors.install(app)
    limits.install(app, settings)
    shedding.install(app)
    metrics.install(app, settings)  # last: its middleware times every other one too
    return app
