"""Bots → (bot) → "Atendimento Humano": read and change a bot's human-service settings and
schedule; a change is a new bot version written into the YAML source (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response, status

from api.bot_settings import (
    BotSettingsChange,
    BotSettingsPublic,
    NoSuchBot,
    apply_settings,
    read_settings,
)
from api.deps import EngineDep, require_admin
from api.publishing import PublishError
from api.schemas import BotPublic
from store import bots as bot_store

router = APIRouter(tags=["bots"], dependencies=[Depends(require_admin)])


@router.get("/bots/{bot}/settings", response_model=BotSettingsPublic)
def get_settings(bot: str, engine: EngineDep) -> BotSettingsPublic:
    """The newest version's settings, schedule and blocks; the Omni key only as its state."""
    version = bot_store.latest(engine, bot)
    if version is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bot named {bot!r}")
    return read_settings(version)


@router.patch(
    "/bots/{bot}/settings",
    response_model=BotPublic,
    responses={
        201: {"description": "A new version was published."},
        422: {"description": "The edited flow has errors: `[{line, column, message}]`."},
    },
)
def patch_settings(
    bot: str, body: BotSettingsChange, engine: EngineDep, response: Response
) -> BotPublic:
    """Edit `human_service` and/or `schedule` in the bot's YAML (comments and layout kept) and
    publish it: 201 with the new version, 200 when nothing changed."""
    try:
        published = apply_settings(engine, bot, body)
    except NoSuchBot:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bot named {bot!r}") from None
    except PublishError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.issues) from exc
    response.status_code = status.HTTP_201_CREATED if published.created else status.HTTP_200_OK
    version = published.version
    return BotPublic(
        bot=version.bot,
        version=version.version,
        created_at=version.created_at,
        warnings=published.warnings,
    )
