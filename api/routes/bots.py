"""Bots API: publish a bot from its YAML (a new version), read what is published, and read or
change its "Atendimento Humano" settings (a change is a new version written into the YAML).

Every route needs the admin. A flow with problems answers 422 `flow_invalid` with the list of
`{line, column, message, code, ctx}` (docs/flows.md "Errors"); an unknown bot 404
`unknown_bot` (api/errors.py). The reads answer the newest version as `ETag`; `PUT` and the
settings' `PATCH` honour `If-Match` with it (412 `changed_since_read` once someone published
another version; api/preconditions.py), and `PUT` `If-None-Match: *` (412 when the bot is
already published: create, never overwrite).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response, status
from fastapi.responses import PlainTextResponse

from api.deps import EngineDep, SettingsDep, require_admin
from api.models.bots import BotDetail, BotListed, BotPublic, BotSettingsChange, BotSettingsPublic
from api.preconditions import IfMatch, IfNoneMatch, accepted_revisions, put_allows, set_etag
from api.usecases.bot_settings import apply_settings, read_settings
from api.usecases.delivery import UnknownBot
from api.usecases.publishing import publish_checked
from store import bots as bot_store

router = APIRouter(tags=["bots"], dependencies=[Depends(require_admin)])

YAML_BODY = Body(
    media_type="application/yaml",
    openapi_examples={"loja": {"value": "bot: loja\nstart: fim\nblocks:\n  fim: {type: end}\n"}},
)
FLOW_ERRORS: dict[int | str, dict[str, Any]] = {
    412: {
        "description": "`changed_since_read`: `If-Match` names an older version, or (`PUT`)"
        " `If-None-Match` the newest (`*`: the bot is published)."
    },
    422: {
        "description": "The flow has errors (`flow_invalid`):"
        " `[{line, column, message, code, ctx}]` (an empty body: `empty_file`)."
    },
}


@router.put("/bots/{bot}", response_model=BotPublic, responses=FLOW_ERRORS)
def put_bot(
    bot: str,
    engine: EngineDep,
    settings: SettingsDep,
    response: Response,
    source: Annotated[str, YAML_BODY] = "",  # empty: the loader's `empty_file`, not a 422 body
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> BotPublic:
    """Publish the bot's YAML; a new version only when it changed (201), else the same (200).
    With `If-Match`, only while the newest version is that one (`"0"`: a bot not yet published);
    with `If-None-Match: *`, only a bot not yet published (412 when it exists)."""
    accepted, refused = put_allows(if_match, if_none_match)
    version, created, warnings = publish_checked(
        engine, bot, source, settings.flow_limits(), accepted, refused
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    set_etag(response, version.version)
    return BotPublic(
        bot=version.bot, version=version.version, created_at=version.created_at, warnings=warnings
    )


@router.get("/bots", response_model=list[BotListed])
def list_bots(engine: EngineDep) -> list[BotListed]:
    return [
        BotListed(
            bot=v.bot, version=v.version, created_at=v.created_at, web_chat=v.flow.channels.web
        )
        for v in bot_store.list_latest(engine)
    ]


@router.get("/bots/{bot}", response_model=BotDetail)
def get_bot(bot: str, engine: EngineDep, response: Response) -> BotDetail:
    version = _latest(engine, bot, response)
    return BotDetail(
        bot=version.bot,
        version=version.version,
        created_at=version.created_at,
        source=version.source,
        flow=version.flow.model_dump(mode="json", by_alias=True),
    )


@router.get("/bots/{bot}/source", response_class=PlainTextResponse)
def get_bot_source(bot: str, engine: EngineDep, response: Response) -> str:
    """The newest version's YAML, for download (its `ETag` for a `PUT` with `If-Match`)."""
    return _latest(engine, bot, response).source


@router.get("/bots/{bot}/settings", response_model=BotSettingsPublic)
def get_bot_settings(bot: str, engine: EngineDep, response: Response) -> BotSettingsPublic:
    """The newest version's settings, schedule and blocks; the Omni key only as its state."""
    return read_settings(_latest(engine, bot, response))


@router.patch(
    "/bots/{bot}/settings",
    response_model=BotPublic,
    responses={201: {"description": "A new version was published."}, **FLOW_ERRORS},
)
def patch_bot_settings(
    bot: str,
    body: BotSettingsChange,
    engine: EngineDep,
    response: Response,
    if_match: IfMatch = None,
) -> BotPublic:
    """Edit `human_service` and/or `schedule` in the bot's YAML (comments and layout kept) and
    publish it: 201 with the new version, 200 when nothing changed. With `If-Match` (the
    `ETag` of the GET), 412 when another version was published since; without it, a version
    published meanwhile is kept and the fields sent are applied on top of it."""
    published = apply_settings(engine, bot, body, expected=accepted_revisions(if_match))
    response.status_code = status.HTTP_201_CREATED if published.created else status.HTTP_200_OK
    version = published.version
    set_etag(response, version.version)
    return BotPublic(
        bot=version.bot,
        version=version.version,
        created_at=version.created_at,
        warnings=published.warnings,
    )


def _latest(engine: EngineDep, bot: str, response: Response) -> bot_store.BotVersion:
    version = bot_store.latest(engine, bot)
    if version is None:
        raise UnknownBot(bot)
    set_etag(response, version.version)
    return version
