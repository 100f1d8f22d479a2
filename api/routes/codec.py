"""The remote codec the Temporal UI calls to show encrypted payloads in clear (admins only).

Temporal's codec protocol: `POST /api/codec/decode` (and `/encode`) with `{"payloads": [...]}`
in protobuf JSON form, answered in the same form. The UI calls it from the browser, on another
origin (its own port), so the routes answer CORS for the UI's origins (`ui_origins`).

Credentials: the admin token as `Authorization: Bearer` (scripts, `curl`), or the HttpOnly
cookie `POST /api/codec/session` sets, a 12-hour value derived from the token (HMAC), never the
token itself (the browser case: the UI of the dev server has no login,
so it cannot send a bearer; with "Include cross-origin credentials" on it sends this cookie,
which stays within the same site, 127.0.0.1 or localhost). See docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api.deps import Credentials, KeyRingDep, SettingsDep, unauthorized
from api.errors import ApiError, ErrorCode
from encryption.codec import EncryptionCodec
from transbordo.settings import Settings

PREFIX = "/api/codec"
COOKIE = "transbordo_codec"
ALLOWED_HEADERS = ["authorization", "content-type", "x-namespace"]
SESSION_SECONDS = 12 * 3600


async def require_codec_admin(
    request: Request, settings: SettingsDep, credentials: Credentials
) -> None:
    """The admin token as the bearer, or a live session cookie made from it, in constant time."""
    expected = settings.admin_token
    if not expected:
        raise unauthorized()
    if credentials is not None:
        if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
            raise unauthorized()
        return
    if not _live_session(request.cookies.get(COOKIE, ""), expected):
        raise unauthorized()


def session_value(admin_token: str, expires: int) -> str:
    """`expires.mac`: the cookie holds when it lapses and proof the admin asked for it; a new
    admin token voids every session made with the old one."""
    mac = hmac.new(admin_token.encode(), f"codec session {expires}".encode(), hashlib.sha256)
    return f"{expires}.{mac.hexdigest()}"


def _live_session(value: str, admin_token: str) -> bool:
    expires, _, _mac = value.partition(".")
    if not (expires.isascii() and expires.isdigit()) or int(expires) < time.time():
        return False
    return secrets.compare_digest(value.encode(), session_value(admin_token, int(expires)).encode())


router = APIRouter(prefix="/codec", tags=["codec"], dependencies=[Depends(require_codec_admin)])


@router.post("/decode")
async def decode(request: Request, ring: KeyRingDep) -> dict[str, Any]:
    """Encrypted payloads in clear (clear ones as they are)."""
    codec = EncryptionCodec(ring)
    payloads = await _payloads(request)
    try:
        clear = [codec.decode_one(p) for p in payloads]
    except Exception:  # noqa: BLE001 - a key not in the ring, a tampered payload
        raise ApiError(
            422,
            "a payload cannot be decrypted with this key ring",
            ErrorCode.BAD_REQUEST,
        ) from None
    return {"payloads": [json_format.MessageToDict(p) for p in clear]}


@router.post("/encode")
async def encode(request: Request, ring: KeyRingDep) -> dict[str, Any]:
    """Payloads encrypted with the active key (the UI encodes what ops type, e.g. signals)."""
    sealed = await EncryptionCodec(ring).encode(await _payloads(request))
    return {"payloads": [json_format.MessageToDict(p) for p in sealed]}


@router.post("/session", status_code=status.HTTP_204_NO_CONTENT)
def session(request: Request, settings: SettingsDep, credentials: Credentials) -> Response:
    """A session in an HttpOnly cookie for the codec routes only, so the Temporal UI (same
    site, another port) can send it with "Include cross-origin credentials". Secure whenever
    the request came over HTTPS (behind a proxy: `FORWARDED_ALLOW_IPS`, docs/operations.md).
    Made with the admin token only: a session does not renew itself."""
    if credentials is None:
        raise unauthorized()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.set_cookie(
        COOKIE,
        session_value(str(settings.admin_token), int(time.time()) + SESSION_SECONDS),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",  # plain http only on the loopback dev setup
        max_age=SESSION_SECONDS,
    )
    return response


async def _payloads(request: Request) -> list[Payload]:
    body = await request.body()  # at most api/body_limit.py's CODEC_MAX_BYTES
    try:
        data = json.loads(body)
        return [json_format.ParseDict(p, Payload()) for p in data["payloads"]]
    except (ValueError, KeyError, TypeError, RecursionError, json_format.ParseError):
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            'expected {"payloads": [...]} in protobuf JSON form',
            ErrorCode.BAD_REQUEST,
        ) from None


class CodecCORS:
    """CORS for the codec routes only (the rest of the API stays same-origin)."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    app.include_router(router, prefix="/api")
    app.add_middleware(CodecCORS, origins=settings.effective_ui_origins)
