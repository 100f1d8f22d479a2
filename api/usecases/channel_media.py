"""A channel customer's media (WhatsApp, Telegram) as an attachment of the conversation.

Before the message is delivered, a `pending` attachment row is made and its reference
(`{id, name, type, size: null}`) is put in the entry's `data["attachment"]`, beside the
platform's `media` reference; after delivery the row learns its conversation and a
`MediaFetchWorkflow` (id `media:<attachment id>`) fetches the bytes with retries
(activities/channel_media.py). The agent's screen shows the entry at once and the file once
it is `ready` (409 `attachment_pending` before).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from omni.attachments import AttachmentRef, clean_name
from store import attachments as rows
from transbordo.settings import Settings
from workflows.media_fetch import MediaFetch, MediaFetchWorkflow

DECLARED = {"image": "image/jpeg", "audio": "audio/ogg", "voice": "audio/ogg"}
"""The type a screen assumes before the bytes say (WhatsApp sends its `mime_type`)."""


async def pending(
    engine: Engine, bot: str, platform: str, contact_id: str, message_id: str, data: dict[str, Any]
) -> MediaFetch | None:
    """With media in `data`: a pending attachment, its reference added to `data` (in place).
    Its id derives from the (hashed) message id, so a webhook the platform sends again makes
    no second attachment and no second fetch."""
    media = data.get("media")
    if not isinstance(media, dict) or not media.get("id"):
        return None
    kind = str(media.get("type", ""))
    content_type = str(media.get("mime_type") or DECLARED.get(kind, "application/pdf"))
    content_type = content_type.split(";", 1)[0].strip()
    attachment_id = "att_" + hashlib.sha256(message_id.encode()).hexdigest()[:20]
    name = clean_name(media.get("filename"), content_type)
    await asyncio.to_thread(
        rows.add,
        engine,
        id=attachment_id,
        bot=bot,
        contact_id=contact_id,
        name=name,
        content_type=content_type,
        size=None,
        source=platform,
        status="pending",
        again_ok=True,
    )
    data["attachment"] = AttachmentRef(id=attachment_id, name=name, type=content_type).model_dump()
    return MediaFetch(
        attachment_id=attachment_id, bot=bot, platform=platform, media_id=str(media["id"])
    )


async def fetch(
    client: Client, engine: Engine, settings: Settings, job: MediaFetch, conversation_id: str | None
) -> None:
    """The attachment belongs to `conversation_id` (None: accepted without a worker's answer,
    agents cannot open it); its bytes are fetched in the background."""
    if conversation_id is not None:
        await asyncio.to_thread(rows.belongs_to, engine, job.attachment_id, conversation_id)
    try:
        await client.start_workflow(
            MediaFetchWorkflow.run,
            job,
            id=f"media:{job.attachment_id}",
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass
