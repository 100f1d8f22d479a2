"""Bots API: publish a bot from its YAML (a new version) and read what is published."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Response, status
from fastapi.responses import PlainTextResponse

from api.deps import AdminDep, EngineDep
from api.publishing import PublishError, publish_source
from api.schemas import BotDetail, BotPublic
from store import bots as bot_store

router = APIRouter(tags=["bots"])

YAML_BODY = Body(
    media_type="application/yaml",
    openapi_examples={"loja": {"value": "bot: loja\nstart: fim\nblocks:\n  fim: {type: end}\n"}},
)


@router.put(
    "/bots/{bot}",
    response_model=BotPublic,
    responses={422: {"description": "The flow has errors: `[{line, column, message}]`."}},
)
def put_bot(
    bot: str, source: Annotated[str, YAML_BODY], engine: EngineDep, _: AdminDep, response: Response
) -> BotPublic:
    """Publish the bot's YAML; a new version only when it changed (201), else the same (200)."""
    try:
        version, created, warnings = publish_source(engine, bot, source)
    except PublishError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.issues) from exc
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return BotPublic(
        bot=version.bot, version=version.version, created_at=version.created_at, warnings=warnings
    )


@router.get("/bots", response_model=list[BotPublic])
def list_bots(engine: EngineDep, _: AdminDep) -> list[BotPublic]:
    return [
        BotPublic(bot=v.bot, version=v.version, created_at=v.created_at)
        for v in bot_store.list_latest(engine)
    ]


@router.get("/bots/{bot}", response_model=BotDetail)
def get_bot(bot: str, engine: EngineDep, _: AdminDep) -> BotDetail:
    version = bot_store.latest(engine, bot)
    if version is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bot named {bot!r}")
    return BotDetail(
        bot=version.bot,
        version=version.version,
        created_at=version.created_at,
        source=version.source,
        flow=version.flow.model_dump(mode="json", by_alias=True),
    )


@router.get("/bots/{bot}/source", response_class=PlainTextResponse)
def get_bot_source(bot: str, engine: EngineDep, _: AdminDep) -> str:
    """The newest version's YAML, for download."""
    version = bot_store.latest(engine, bot)
    if version is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bot named {bot!r}")
    return version.source
