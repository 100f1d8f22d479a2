"""The channels' webhooks: WhatsApp Cloud API and Telegram post here, authenticated by signature.

No bearer token: WhatsApp signs the raw body (`X-Hub-Signature-256`, HMAC-SHA256 with the app
secret) and answers our verify token in the GET handshake; Telegram sends the secret token given
to `setWebhook` (`X-Telegram-Bot-Api-Secret-Token`). A bot with no connector, or a body that
fails the check, is a 401 (which of the two does not leak). Failed checks, and wrong verify
tokens in the handshake, are counted per client address ("failed signatures per address",
docs/limits.md): past the limit that address is a 429 before any check; the platforms' own
(valid) posts are never counted. A verified body is answered 200 once its messages are
delivered (a platform resends on anything else).

The body is the route's own to read (api/edge.py checks only bodies FastAPI reads into a
model): nothing is refused before the signature. Once it passes, a lone UTF-16 surrogate in
the body (text that cannot be written as UTF-8) is replaced by U+FFFD and the message taken, as
a control character is (`printable`): a platform resends a refused batch forever, and the
batch holds other customers' messages. A body nested deeper than `json` reads is not
understood (200, ignored), as one not JSON at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from api import limits
from api.deps import ClientDep, EngineDep, KeyRingDep, SettingsDep, unauthorized
from api.errors import ApiError, ErrorCode
from api.surrogates import writable
from api.usecases import channel_inbound
from channels import signatures
from channels.model import Platform
from channels.registry import CONNECTORS
from store import channel_connectors
from store.channel_connectors import ConnectorSettings

log = logging.getLogger(__name__)

router = APIRouter(tags=["channel webhooks"])

FAILED_SIGNATURES = "failed signatures per address"


@router.get(
    "/channels/whatsapp/{bot}",
    response_class=PlainTextResponse,
    dependencies=[limits.limit("requests per address")],
)
async def whatsapp_handshake(
    bot: str,
    request: Request,
    engine: EngineDep,
    ring: KeyRingDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> str:
    """Meta's subscription check: echo `hub.challenge` when `hub.verify_token` is ours. A wrong
    token counts as a failed signature of the address: guessing it is limited as forging a
    signature is."""
    address = limits.client_address(request)
    await limits.check(request, FAILED_SIGNATURES, address)
    config = await asyncio.to_thread(channel_connectors.settings_of, engine, ring, bot, "whatsapp")
    verify_token = config.secrets.get("verify_token", "") if config else ""
    answer = signatures.verify_handshake(verify_token, mode, token, challenge)
    if answer is None:
        await limits.hit(request, FAILED_SIGNATURES, address)
        raise ApiError(status.HTTP_403_FORBIDDEN, "verify token mismatch", ErrorCode.FORBIDDEN)
    return answer


@router.post("/channels/whatsapp/{bot}")
async def whatsapp_webhook(
    bot: str,
    request: Request,
    engine: EngineDep,
    ring: KeyRingDep,
    client: ClientDep,
    settings: SettingsDep,
) -> dict[str, int]:
    """Messages and statuses from the WhatsApp Cloud API, signed with the app secret."""
    return await _webhook(request, engine, ring, client, settings, bot, "whatsapp")


@router.post("/channels/telegram/{bot}")
async def telegram_webhook(
    bot: str,
    request: Request,
    engine: EngineDep,
    ring: KeyRingDep,
    client: ClientDep,
    settings: SettingsDep,
) -> dict[str, int]:
    """Updates from the Telegram Bot API, with the secret token given to setWebhook."""
    return await _webhook(request, engine, ring, client, settings, bot, "telegram")


def _authentic(
    platform: Platform, config: ConnectorSettings | None, request: Request, body: bytes
) -> bool:
    """The platform's check; with no connector, the same check against a throwaway secret
    (channels/signatures.py), so the time taken does not tell whether the bot has one."""
    secrets = config.secrets if config else {}
    if platform == "whatsapp":
        header = request.headers.get("X-Hub-Signature-256")
        ok = signatures.whatsapp_signature_ok(secrets.get("app_secret", ""), body, header)
    else:
        header = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        ok = signatures.telegram_secret_ok(secrets.get("secret_token", ""), header)
    return ok


async def _webhook(
    request: Request,
    engine: EngineDep,
    ring: KeyRingDep,
    client: ClientDep,
    settings: SettingsDep,
    bot: str,
    platform: Platform,
) -> dict[str, int]:
    """Check (the address's failures first, then the signature), parse, deliver."""
    address = limits.client_address(request)
    await limits.check(request, FAILED_SIGNATURES, address)
    body = await request.body()
    config = await asyncio.to_thread(channel_connectors.settings_of, engine, ring, bot, platform)
    authentic = _authentic(platform, config, request, body)  # computed with or without one
    if config is None or not authentic:
        await limits.hit(request, FAILED_SIGNATURES, address)
        raise unauthorized()
    return await _take(client, engine, settings, platform, config, body)


async def _take(
    client: ClientDep,
    engine: EngineDep,
    settings: SettingsDep,
    platform: Platform,
    config: ConnectorSettings,
    body: bytes,
) -> dict[str, int]:
    bot = config.bot
    try:
        payload: Any = writable(json.loads(body))
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        inbound, statuses = CONNECTORS[platform].parse(payload, config.account_id)
    except ValidationError as exc:
        # Authentic but not a shape we know (a field we do not subscribe to): taken, ignored,
        # so the platform does not resend it forever. Logged without its values (customer data).
        log.warning(
            "%s webhook of %s not understood: %s", platform, bot, channel_inbound.problems(exc)
        )
        return {"messages": 0, "statuses": 0}
    except (ValueError, RecursionError):
        log.warning("%s webhook of %s not understood: not a JSON object", platform, bot)
        return {"messages": 0, "statuses": 0}
    taken = await channel_inbound.receive(
        client, engine, settings, bot, platform, inbound, statuses
    )
    return {"messages": taken, "statuses": len(statuses)}
