"""The remote codec the Temporal UI calls to show encrypted payloads in clear (admins only).

Temporal's codec protocol: `POST /api/codec/decode` (and `/encode`) with `{"payloads": [...]}`
in protobuf JSON form, answered in the same form. The UI calls it from the browser, on another
origin (its own port), so the routes answer CORS for the UI's origins (`ui_origins`).

Credentials: the admin token as `Authorization: Bearer` (scripts, `curl`), or the HttpOnly
cookie `POST /api/codec/session` sets (the browser case: the UI of the dev server has no login,
so it cannot send a bearer; with "Include cross-origin credentials" on it sends this cookie,
which stays within the same site, 127.0.0.1 or localhost). See docs/architecture.md.
"""

from __future__ import annotations

import json
import secrets
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
MAX_BODY_BYTES = 4 * 1024 * 1024
"""Temporal's own gRPC message limit: no history payload batch is larger."""


async def require_codec_admin(
    request: Request, settings: SettingsDep, credentials: Credentials
) -> None:
    """The admin token, from the bearer header or the codec cookie, in constant time."""
    expected = settings.admin_token
    given = credentials.credentials if credentials else request.cookies.get(COOKIE)
    if not expected or not given:
        raise unauthorized()
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise unauthorized()


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
def session(request: Request, settings: SettingsDep) -> Response:
    """Keep the admin token in an HttpOnly cookie for the codec routes only, so the Temporal
    UI (same site, another port) can send it with "Include cross-origin credentials". Secure
    whenever the request came over HTTPS (behind a proxy: uvicorn's `--proxy-headers`)."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.set_cookie(
        COOKIE,
        str(settings.admin_token),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",  # plain http only on the loopback dev setup
        max_age=12 * 3600,
    )
    return response


async def _payloads(request: Request) -> list[Payload]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "payloads too large", ErrorCode.BAD_REQUEST
        )
    try:
        data = json.loads(body)
        return [json_format.ParseDict(p, Payload()) for p in data["payloads"]]
    except (ValueError, KeyError, TypeError, json_format.ParseError):
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
