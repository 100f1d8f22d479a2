"""FastAPI dependencies as Annotated aliases: settings, DB engine, Temporal client, auth.

The ones that do no I/O are `async def`: FastAPI runs a plain `def` dependency in its thread
pool, a thread hop per dependency per request (bench/README.md, "speed targets"). And each
dependency costs FastAPI's solving per request (~40 µs on the bench machine, bench/README.md,
eighth pass), so the auth dependencies read the app's parts from `request.app.state` rather
than through more dependencies, and a hot route that needs several parts takes `PartsDep`, or
reads `parts_of(request)` when it has the request anyway (the customer message: one dependency
fewer). So a `dependency_overrides` of `get_engine`, `get_client` or `app_settings` does not reach
them: give `create_app` the engine and client instead, as the tests do)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from temporalio.client import Client

from api.errors import ApiError, ErrorCode
from encryption.codec import KeyRing, ring_of
from omni.models import AgentPublic
from store.agents import agent_by_token, cached_agent
from store.attachment_files import FileStore
from transbordo.settings import Settings

bearer = HTTPBearer(auto_error=False)


async def app_settings(request: Request) -> Settings:
    """The settings `create_app` was given (not read again from the environment)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_client(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def get_ring(request: Request) -> KeyRing:
    """The key ring of the app's Temporal client (encryption/codec.py): one ring per process."""
    return ring_of(request.app.state.temporal)


async def get_files(request: Request) -> FileStore:
    """The process's attachment store (store/attachment_files.py), built on first use."""
    files: FileStore | None = getattr(request.app.state, "files", None)
    if files is None:
        ring = ring_of(request.app.state.temporal)
        files = request.app.state.files = request.app.state.settings.file_store(ring)
    return files


@dataclass(frozen=True, slots=True)
class AppParts:
    """The settings, database and Temporal client of the app, as one dependency."""

    settings: Settings
    engine: Engine
    client: Client


def parts_of(request: Request) -> AppParts:
    state = request.app.state
    return AppParts(state.settings, state.engine, state.temporal)


async def app_parts(request: Request) -> AppParts:
    return parts_of(request)


SettingsDep = Annotated[Settings, Depends(app_settings)]
PartsDep = Annotated[AppParts, Depends(app_parts)]
FilesDep = Annotated[FileStore, Depends(get_files)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ClientDep = Annotated[Client, Depends(get_client)]
KeyRingDep = Annotated[KeyRing, Depends(get_ring)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def unauthorized() -> ApiError:
    """401 with the Bearer challenge; a new exception per raise (one shared instance would
    collect every raise's traceback, and their frames, for the life of the process)."""
    return ApiError(
        status.HTTP_401_UNAUTHORIZED,
        "missing or invalid credentials",
        ErrorCode.UNAUTHORIZED,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_admin(settings: SettingsDep, credentials: Credentials) -> None:
    """Admin routes need the admin token, compared in constant time."""
    expected = settings.admin_token
    if not expected or credentials is None:
        raise unauthorized()
    if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise unauthorized()


AdminDep = Annotated[None, Depends(require_admin)]


async def require_agent(request: Request, credentials: Credentials) -> AgentPublic:
    """Agent routes need an agent's bearer token: looked up by hash, compared in constant time.
    On the event loop when this process found the agent within `agent_token_cache_seconds`
    (store/token_cache.py), else SQL in a thread."""
    if credentials is None:
        raise unauthorized()
    parts = parts_of(request)
    engine, token = parts.engine, credentials.credentials
    ttl = parts.settings.agent_token_cache_seconds
    agent = (cached_agent(engine, token) if ttl > 0 else None) or await asyncio.to_thread(
        agent_by_token, engine, token, cache_seconds=ttl
    )
    if agent is None:
        raise unauthorized()
    presence = getattr(request.app.state, "presence", None)  # api/presence.py (the lifespan's)
    if presence is not None:
        presence.heard(agent.id)  # the agent's screen (or client) is there
    return agent


AgentDep = Annotated[AgentPublic, Depends(require_agent)]
