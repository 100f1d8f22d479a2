"""Bots API: publish a bot from its YAML (a new version), read what is published, and read or
change its "Atendimento Humano" settings (a change is a new version written into the YAML).

Every route needs the admin. A flow with problems answers 422 `flow_invalid` with the list of
`{line, column, message}`; an unknown bot 404 `unknown_bot` (api/errors.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response, status
from fastapi.responses import PlainTextResponse

from api.deps import EngineDep, SettingsDep, require_admin
from api.models.bots import BotDetail, BotPublic, BotSettingsChange, BotSettingsPublic
from api.usecases.bot_settings import apply_settings, read_settings
from api.usecases.delivery import UnknownBot
from api.usecases.publishing import publish_source
from store import bots as bot_store

router = APIRouter(tags=["bots"], dependencies=[Depends(require_admin)])

YAML_BODY = Body(
    media_type="application/yaml",
    openapi_examples={"loja": {"value": "bot: loja\nstart: fim\nblocks:\n  fim: {type: end}\n"}},
)
FLOW_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "The flow has errors (`flow_invalid`): `[{line, column, message, code}]`."}
}


@router.put("/bots/{bot}", response_model=BotPublic, responses=FLOW_ERRORS)
def put_bot(
    bot: str,
    source: Annotated[str, YAML_BODY],
    engine: EngineDep,
    settings: SettingsDep,
    response: Response,
) -> BotPublic:
    """Publish the bot's YAML; a new version only when it changed (201), else the same (200)."""
    version, created, warnings = publish_source(engine, bot, source, settings.flow_limits())
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return BotPublic(
        bot=version.bot, version=version.version, created_at=version.created_at, warnings=warnings
    )


@router.get("/bots", response_model=list[BotPublic])
def list_bots(engine: EngineDep) -> list[BotPublic]:
    return [
        BotPublic(bot=v.bot, version=v.version, created_at=v.created_at)
        for v in bot_store.list_latest(engine)
    ]


@router.get("/bots/{bot}", response_model=BotDetail)
def get_bot(bot: str, engine: EngineDep) -> BotDetail:
    version = _latest(engine, bot)
    return BotDetail(
        bot=version.bot,
        version=version.version,
        created_at=version.created_at,
        source=version.source,
        flow=version.flow.model_dump(mode="json", by_alias=True),
    )


@router.get("/bots/{bot}/source", response_class=PlainTextResponse)
def get_bot_source(bot: str, engine: EngineDep) -> str:
    """The newest version's YAML, for download."""
    return _latest(engine, bot).source


@router.get("/bots/{bot}/settings", response_model=BotSettingsPublic)
def get_bot_settings(bot: str, engine: EngineDep) -> BotSettingsPublic:
    """The newest version's settings, schedule and blocks; the Omni key only as its state."""
    return read_settings(_latest(engine, bot))


@router.patch(
    "/bots/{bot}/settings",
    response_model=BotPublic,
    responses={201: {"description": "A new version was published."}, **FLOW_ERRORS},
)
def patch_bot_settings(
    bot: str, body: BotSettingsChange, engine: EngineDep, response: Response
) -> BotPublic:
    """Edit `human_service` and/or `schedule` in the bot's YAML (comments and layout kept) and
    publish it: 201 with the new version, 200 when nothing changed."""
    published = apply_settings(engine, bot, body)
    response.status_code = status.HTTP_201_CREATED if published.created else status.HTTP_200_OK
    version = published.version
    return BotPublic(
        bot=version.bot,
        version=version.version,
        created_at=version.created_at,
        warnings=published.warnings,
    )


def _latest(engine: EngineDep, bot: str) -> bot_store.BotVersion:
    version = bot_store.latest(engine, bot)
    if version is None:
        raise UnknownBot(bot)
    return version
