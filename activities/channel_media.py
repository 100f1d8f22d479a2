"""Activity: fetch a customer's media from WhatsApp or Telegram into the attachment store.

WhatsApp Cloud API: `GET /{media-id}` (bearer token) answers the media's short-lived `url`,
then `GET url` with the same token gives the bytes. Telegram Bot API: `getFile?file_id=` answers
a `file_path`, then `GET /file/bot<token>/<file_path>`. Transport errors, 429 and 5xx raise (the
workflow's retry policy tries again); any other refusal, or a file of a type or size the
settings refuse, marks the attachment `failed` and returns. Once stored it is `ready` with its
real type (first bytes) and size.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channel_send import ChannelEndpoints
from encryption.codec import KeyRing
from omni.attachments import Limits, refusal, sniff
from store import attachments as rows
from store import channel_connectors as connectors
from store.attachment_files import FileStore
from workflows.media_fetch import MediaFetch

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 30.0


class _Permanent(Exception):
    pass


class ChannelMedia:
    """Holds the engine (connector secrets, attachment rows), the ring, the base URLs, the
    file store and the attachment limits."""

    def __init__(
        self,
        engine: Engine,
        ring: KeyRing,
        endpoints: ChannelEndpoints,
        files: FileStore,
        limits: Limits,
    ) -> None:
        self._engine = engine
        self._ring = ring
        self._endpoints = endpoints
        self._files = files
        self._limits = limits

    @activity.defn(name="channel_media_fetch")
    async def fetch(self, job: MediaFetch) -> str:
        """The attachment's status after this attempt: `ready` or `failed`."""
        config = await asyncio.to_thread(
            connectors.settings_of, self._engine, self._ring, job.bot, job.platform
        )
        if config is None:
            return await self._failed(job, "no connector")
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as http:
                if job.platform == "whatsapp":
                    token = config.secrets.get("access_token", "")
                    content = await _whatsapp(http, self._endpoints.whatsapp, token, job.media_id)
                else:
                    token = config.secrets.get("bot_token", "")
                    content = await _telegram(http, self._endpoints.telegram, token, job.media_id)
        except _Permanent as exc:
            return await self._failed(job, str(exc))
        refused = refusal(content, self._limits)
        if refused is not None:
            return await self._failed(job, refused[0])
        content_type = sniff(content[:64]) or "application/octet-stream"
        await asyncio.to_thread(self._files.put, job.attachment_id, content, content_type)
        await asyncio.to_thread(
            rows.ready, self._engine, job.attachment_id, content_type, len(content)
        )
        return "ready"

    @activity.defn(name="channel_media_gave_up")
    async def gave_up(self, job: MediaFetch) -> None:
        """The fetch's retries ran out (the platform down or refusing for an hour): the
        attachment is `failed`, so the screens stop asking for it."""
        await self._failed(job, "the platform did not answer within the fetch's hour")

    async def _failed(self, job: MediaFetch, reason: str) -> str:
        log.warning("%s media for %s not fetched: %s", job.platform, job.bot, reason)
        await asyncio.to_thread(rows.failed, self._engine, job.attachment_id)
        return "failed"


async def _get(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    try:
        response = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        # from None: the exception names the URL, and Telegram's holds the bot's token
        raise ApplicationError(f"transport error: {type(exc).__name__}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise ApplicationError(f"HTTP {response.status_code}")
    if not response.is_success:
        raise _Permanent(f"HTTP {response.status_code}")
    return response


async def _whatsapp(http: httpx.AsyncClient, base: str, token: str, media_id: str) -> bytes:
    auth = {"Authorization": f"Bearer {token}"}
    meta = (await _get(http, f"{base}/{media_id}", auth)).json()
    url = meta.get("url") if isinstance(meta, dict) else None
    if not isinstance(url, str):
        raise _Permanent("no url for the media")
    return (await _get(http, url, auth)).content


async def _telegram(http: httpx.AsyncClient, base: str, token: str, file_id: str) -> bytes:
    answer = (await _get(http, f"{base}/bot{token}/getFile?file_id={file_id}", {})).json()
    path = (answer.get("result") or {}).get("file_path") if isinstance(answer, dict) else None
    if not isinstance(path, str):
        raise _Permanent("no file_path for the file")
    return (await _get(http, f"{base}/file/bot{token}/{path}", {})).content
