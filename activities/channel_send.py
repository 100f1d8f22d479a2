"""Activity: deliver one transcript entry to the customer's channel (WhatsApp, Telegram).

The workflow hands entries over one at a time, in order (workflows/channel_outbox.py). Each
entry renders into one or more requests (channels/); a part already sent is recorded in SQL
(`channel_deliveries`) and skipped when the activity is retried, so an entry is delivered once.
429 and 5xx (and transport errors) raise, so Temporal retries with backoff (a Telegram
`retry_after` or a `Retry-After` header sets the next delay); any other refusal is permanent:
recorded as `failed` and returned for the agent to see. Outside WhatsApp's 24-hour window no
free-form message is sent: the bot's template (once per silence of the customer) or nothing.

`channel_ack` acknowledges customer messages on their own, when their turn put nothing for the
channel in the outbox (the voicemail time, the queue, an agent yet to answer): `alone_acks`
says what is worth a request, so the workflow schedules nothing when the answer is nothing.
One attempt: a platform that does not take it has the next entry carry the receipt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from prometheus_client import Counter
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from channels import whatsapp
from channels.model import Outgoing, Request
from channels.registry import CONNECTORS
from channels.window import window_open
from encryption.codec import KeyRing
from store import channel_connectors as store
from workflows.contracts import ChannelRef, Message

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 15.0
ATTEMPT_MARGIN_SECONDS = 5.0
"""An attempt sends nothing in the last seconds of its start-to-close timeout (counted on this
worker's clock from the attempt's start): once Temporal times it out, the next attempt sends the
part this one may still have on its way, and the customer would get it twice."""
WHATSAPP_RETRYABLE_CODES = {4, 80007, 130429, 131048, 131056, 131000, 133004}
"""Graph API error codes that mean "later" (rate limits, temporary errors), even on a 400."""
WHATSAPP_WINDOW_CODES = {131047}
"""Graph API: "Re-engagement message" (more than 24 hours since the customer's last message)."""
SENDS = Counter(
    "transbordo_channel_sends",
    "Transcript entries handed to a customer's channel, by platform and outcome (sent, template,"
    " window_closed, failed; retry: an attempt that Temporal retries); served by the worker.",
    ["platform", "outcome"],
)
TEMPLATE_SEQ = -1
"""The delivery row of a template: one per silence of the customer (part = its timestamp)."""


@dataclass(frozen=True)
class ChannelEndpoints:
    """The platforms' base URLs (the settings `whatsapp_api_base`, `telegram_api_base`, whose
    defaults are the real ones: worker.channel_endpoints; tests point them at stand-ins)."""

    whatsapp: str
    telegram: str


class ChannelSend(BaseModel):
    conversation_id: str
    bot: str
    channel: ChannelRef
    message: Message
    last_customer_at: datetime | None = None
    ack: dict[str, Any] | None = None
    """How to acknowledge the customer's latest message first (read receipt, typing)."""


class ChannelAck(BaseModel):
    """Customer messages to acknowledge with no entry to go with them (`alone_acks`)."""

    conversation_id: str
    bot: str
    channel: ChannelRef
    acks: list[dict[str, Any]]


def alone_acks(platform: str, acks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of the acknowledgements of customer messages (oldest first) that no entry will carry,
    those worth sending on their own. WhatsApp: the newest read receipt (the Cloud API marks
    the earlier messages read with it). Telegram: each button press's callback answer (each
    press has its spinner); no "typing" with no message to follow it (a bot's chat shows a
    customer's messages read as it receives them). Pure: the workflow decides by it."""
    if platform == "whatsapp":
        receipts = [ack for ack in acks if ack.get("message_id")]
        return receipts[-1:]
    if platform == "telegram":
        return [ack for ack in acks if ack.get("callback_query_id")]
    return []


class ChannelSent(BaseModel):
    outcome: Literal["sent", "template", "window_closed", "failed"]
    detail: str | None = None


PLATFORM_UNAVAILABLE = "platform_unavailable"
"""The `type` of the retried errors that say the platform is unavailable (transport errors,
429, 5xx, an attempt out of time): a send that gives up on them has the entries behind it told
at once (workflows/channel_outbox.py); any other error fails its own entry only."""


class _Permanent(Exception):
    """The platform refused the request for good."""


class ChannelSender:
    """Holds the engine (connector secrets, delivery rows), the key ring and the base URLs."""

    def __init__(self, engine: Engine, ring: KeyRing, endpoints: ChannelEndpoints) -> None:
        self._engine = engine
        self._ring = ring
        self._endpoints = endpoints

    @activity.defn(name="channel_send")
    async def send(self, job: ChannelSend) -> ChannelSent:
        try:
            result = await self._send(job, _attempt_deadline())
        except ApplicationError:
            SENDS.labels(job.channel.platform, "retry").inc()
            raise
        SENDS.labels(job.channel.platform, result.outcome).inc()
        return result

    @activity.defn(name="channel_ack")
    async def ack(self, job: ChannelAck) -> int:
        """Acknowledge customer messages with no entry to carry them. A refusal (4xx) is logged
        and passed over (a receipt is no reason to fail); when the platform did not answer or
        answered 429 or 5xx, the others are still tried, then the attempt fails
        (PLATFORM_UNAVAILABLE). The workflow gives it one attempt, as `_send` gives the receipt
        that goes with an entry: what was not taken goes with the next entry
        (workflows/channel_acks.py). Returns how many requests the platform took, for whoever
        reads the history (0: none taken); the workflow does not read it, but the type stays
        `int`: recorded results are decoded by it on replay (None fails on them)."""
        platform = job.channel.platform
        config = await asyncio.to_thread(
            store.settings_of, self._engine, self._ring, job.bot, platform
        )
        if config is None or platform not in CONNECTORS:
            return 0
        connector, taken, unavailable = CONNECTORS[platform], 0, None
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT_SECONDS) as http:
            call = _Caller(http, self._endpoints, config, _attempt_deadline())
            for ack in job.acks:  # chosen by the workflow (`alone_acks`)
                for request in connector.ack(job.channel.recipient, ack):
                    try:
                        await call(request)
                    except _Permanent as exc:
                        log.info("ack on %s not sent: %s", platform, exc)
                        continue
                    except ApplicationError as exc:
                        unavailable = exc
                        continue
                    taken += 1
        if unavailable is not None:
            raise unavailable
        return taken

    async def _send(self, job: ChannelSend, deadline: float | None) -> ChannelSent:
        platform = job.channel.platform
        config = await asyncio.to_thread(
            store.settings_of, self._engine, self._ring, job.bot, platform
        )
        if config is None or platform not in CONNECTORS:
            return ChannelSent(outcome="failed", detail=f"no {platform} connector for this bot")
        connector = CONNECTORS[platform]
        recipient = job.channel.recipient
        message = job.message
        outgoing = Outgoing(message.kind, message.text, message.options, message.data)
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT_SECONDS) as http:
            call = _Caller(http, self._endpoints, config, deadline)
            if platform == "whatsapp" and not window_open(job.last_customer_at, message.at):
                return await self._outside_window(call, job, config)
            for request in connector.ack(recipient, job.ack or {}):
                try:
                    await call(request)
                except (ApplicationError, _Permanent) as exc:  # a receipt is no reason to wait
                    log.info("ack on %s not sent: %s", platform, exc)
            done = await asyncio.to_thread(
                store.sent_parts, self._engine, job.conversation_id, message.seq
            )
            for part, request in enumerate(connector.render(recipient, outgoing)):
                if part in done:
                    continue
                try:
                    platform_id = await call(request)
                except _Permanent as exc:
                    await self._record(job, part, None, "failed", str(exc))
                    window = platform == "whatsapp" and "131047" in str(exc)
                    return ChannelSent(
                        outcome="window_closed" if window else "failed", detail=str(exc)
                    )
                await self._record(job, part, platform_id, "sent", None)
        return ChannelSent(outcome="sent")

    async def _outside_window(
        self, call: _Caller, job: ChannelSend, config: store.ConnectorSettings
    ) -> ChannelSent:
        """No free-form message: the template once per silence of the customer, or nothing."""
        if not config.template_name or job.last_customer_at is None:
            return ChannelSent(outcome="window_closed")
        silence = int(job.last_customer_at.timestamp())
        done = await asyncio.to_thread(
            store.sent_parts, self._engine, job.conversation_id, TEMPLATE_SEQ
        )
        if silence not in done:
            request = whatsapp.template_request(
                job.channel.recipient, config.template_name, config.template_language or "pt_BR"
            )
            try:
                platform_id = await call(request)
            except _Permanent as exc:
                return ChannelSent(outcome="failed", detail=f"template: {exc}")
            await asyncio.to_thread(
                store.record_part,
                self._engine,
                job.conversation_id,
                TEMPLATE_SEQ,
                silence,
                "whatsapp",
                platform_message_id=platform_id,
                status="sent",
            )
        return ChannelSent(outcome="template", detail=config.template_name)

    async def _record(
        self, job: ChannelSend, part: int, platform_id: str | None, status: str, error: str | None
    ) -> None:
        await asyncio.to_thread(
            store.record_part,
            self._engine,
            job.conversation_id,
            job.message.seq,
            part,
            job.channel.platform,
            platform_message_id=platform_id,
            status=status,
            error=error,
        )


def _attempt_deadline() -> float | None:
    """When this attempt stops sending (`time.monotonic()`, taken as it starts), or None with
    no timeout."""
    timeout = activity.info().start_to_close_timeout
    if timeout is None:
        return None
    return time.monotonic() + timeout.total_seconds() - ATTEMPT_MARGIN_SECONDS


class _Caller:
    """One request to the platform: the platform's message id, or an error that says whether
    to retry (ApplicationError, retried by Temporal) or not (_Permanent)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoints: ChannelEndpoints,
        config: store.ConnectorSettings,
        deadline: float | None,
    ) -> None:
        self._http = http
        self._config = config
        self._deadline = deadline
        secrets = config.secrets
        if config.platform == "whatsapp":
            self._base = f"{endpoints.whatsapp}/{config.account_id}"
            self._headers = {"Authorization": f"Bearer {secrets.get('access_token', '')}"}
        else:
            self._base = f"{endpoints.telegram}/bot{secrets.get('bot_token', '')}"
            self._headers = {}

    async def __call__(self, request: Request) -> str | None:
        left = None if self._deadline is None else self._deadline - time.monotonic()
        try:
            if left is not None and left <= 0:
                raise TimeoutError
            async with asyncio.timeout(left):
                response = await self._http.post(
                    f"{self._base}/{request.method}", json=request.body, headers=self._headers
                )
        except TimeoutError:
            raise ApplicationError(
                "this attempt's time is up: the next one sends", type=PLATFORM_UNAVAILABLE
            ) from None
        except httpx.HTTPError as exc:
            # `from None`: the cause's text may hold the URL, and Telegram's holds the bot token
            raise ApplicationError(
                f"transport error: {type(exc).__name__}", type=PLATFORM_UNAVAILABLE
            ) from None
        body = _json(response)
        if response.is_success and body.get("ok", True) is not False:
            return _platform_id(body)
        error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
        code = error.get("code")
        reason = error.get("message") or body.get("description") or ""
        detail = f"HTTP {response.status_code}: {code or ''} {reason}".replace("  ", " ").strip()
        if (
            response.status_code == 429
            or response.status_code >= 500
            or (code in WHATSAPP_RETRYABLE_CODES)
        ):
            raise ApplicationError(
                detail, type=PLATFORM_UNAVAILABLE, next_retry_delay=_retry_after(response, body)
            )
        raise _Permanent(detail)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _platform_id(body: dict[str, Any]) -> str | None:
    """WhatsApp: `messages[0].id`; Telegram: `result.message_id`."""
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return str(messages[0].get("id"))
    result = body.get("result")
    if isinstance(result, dict) and "message_id" in result:
        chat = (result.get("chat") or {}).get("id")
        return f"{chat}:{result['message_id']}"
    return None


def _retry_after(response: httpx.Response, body: dict[str, Any]) -> timedelta | None:
    seconds = (body.get("parameters") or {}).get("retry_after") or response.headers.get(
        "Retry-After"
    )
    try:
        return timedelta(seconds=min(float(seconds), 3600)) if seconds else None
    except (TypeError, ValueError):
        return None
