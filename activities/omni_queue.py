"""Activities of the Humano block: resolve the integration, queue, claim, transfer, finish.

Each is a short SQL transaction (store/queue.py, services.py, integrations.py); the workflow
calls them with retry policies and follows their answers, so every race is decided once, in SQL.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, model_validator
from sqlalchemy import Engine
from temporalio import activity

from activities.first_turn import FirstTurnRecord, QueuedRecord, Recorded, WaitEstimate
from omni.desk import WrapUpSettings
from omni.errors import NotFound
from omni.models import QueueNotifications, ServicePublic
from omni.policy import transfer_refusal
from omni.service_care import CarriedCare, ServiceCare
from store import hand_over as hand_over_store
from store import integrations as integration_store
from store import queue, voicemails
from store import services as service_store
from store.wait_history import estimated_wait
from workflows.contracts import ServiceSnapshot

KEY_HASH_PREFIX = "sha256:"


class ResolveRequest(BaseModel):
    bot: str
    omni_key: str
    service: str | None = None


class HandoffTarget(ServiceSnapshot):
    """The service a Humano block hands over to, and who works it right now."""

    agents_logged_in: int
    agents_available: int

    def snapshot(self) -> ServiceSnapshot:
        return ServiceSnapshot.model_validate(self.model_dump(include=SNAPSHOT_FIELDS))


SNAPSHOT_FIELDS = set(ServiceSnapshot.model_fields)


class EnqueueRequest(BaseModel):
    entry_id: str
    conversation_id: str
    workflow_id: str
    service_id: str
    preview: str
    priority: int = 0
    skills: list[str] = []


class ClaimRequest(BaseModel):
    entry_id: str
    agent_id: str


class ClaimResult(BaseModel):
    code: Literal[
        "ok", "taken", "not_your_service", "not_available", "at_capacity", "service_at_capacity"
    ]
    reason: str = ""


class CloseRequest(BaseModel):
    entry_id: str
    status: Literal["abandoned", "voicemail"]


class TransferRequest(BaseModel):
    entry_id: str
    new_entry_id: str
    from_service_id: str
    service: str | None = None
    extension: str | None = None


class TransferResult(BaseModel):
    ok: bool
    reason: str = ""
    not_found: bool = False
    entry_id: str | None = None
    service: ServiceSnapshot | None = None
    """The target service, when the transfer was made."""

    @model_validator(mode="before")
    @classmethod
    def _flat_service(cls, data: Any) -> Any:
        """Results recorded before ServiceSnapshot carried a few of the target's fields flat."""
        if isinstance(data, dict) and "service" not in data and data.get("service_id"):
            data = dict(data)
            data["service"] = {
                "service_id": data.pop("service_id"),
                "service_name": data.pop("service_name"),
                "abandon_seconds": data.pop("abandon_seconds", 0),
                "voicemail_seconds": data.pop("voicemail_seconds", 0),
                "webhook": data.pop("webhook", False),
            }
        return data


class VoicemailRequest(BaseModel):
    voicemail_id: str
    service_id: str
    service_name: str
    conversation_id: str
    bot: str
    contact_id: str
    text: str


class HandOverRequest(BaseModel):
    """Everything the Humano block's start needs from SQL, asked at once (one local activity
    instead of three: patch `hand-over-at-once`, workflows/queueing.py)."""

    resolve: ResolveRequest
    enqueue: EnqueueRequest
    """`service_id` is left empty: the resolved service's."""
    closed: bool
    """The schedule says closed: resolve only (the outcome is `closed` if the key is good)."""
    check_agents_online: bool
    estimate: bool
    """Also the estimated wait (`wait_time_notice: once`), unless the customer goes to voicemail."""
    record: QueuedRecord | None = None
    """Record this once queued (not when going to voicemail)."""


class HandOverResult(BaseModel):
    target: HandoffTarget | None
    """None: no valid integration (`unavailable`)."""
    entry_id: str | None = None
    """The queue entry; None when not queued (closed, no agents online)."""
    estimate: WaitEstimate | None = None
    recorded_through: int | None = None
    """`record` was recorded, its messages up to this seq (the notice included)."""


class OmniActivities:
    """Holds the DB engine the Humano block's activities work with."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="omni_resolve")
    def resolve(self, request: ResolveRequest) -> HandoffTarget | None:
        """The key proves the bot; None when it is missing, invalid or revoked (`unavailable`)."""
        if not request.omni_key.startswith(KEY_HASH_PREFIX):
            return None
        resolved = integration_store.resolve_integration(
            self._engine,
            request.bot,
            request.omni_key.removeprefix(KEY_HASH_PREFIX),
            request.service,
        )
        if resolved is None:
            return None
        staff = queue.staffing(self._engine, resolved.service.id)
        return HandoffTarget(
            **snapshot_of(resolved.service).model_dump(),
            agents_logged_in=staff.logged_in,
            agents_available=staff.available,
        )

    @activity.defn(name="omni_enqueue")
    def enqueue(self, request: EnqueueRequest) -> str:
        return queue.enqueue(
            self._engine,
            entry_id=request.entry_id,
            conversation_id=request.conversation_id,
            workflow_id=request.workflow_id,
            service_id=request.service_id,
            preview=request.preview,
            priority=request.priority,
            skills=tuple(request.skills),
        )

    @activity.defn(name="omni_claim")
    def claim(self, request: ClaimRequest) -> ClaimResult:
        result = queue.claim(self._engine, request.entry_id, request.agent_id)
        return ClaimResult(code=result.code, reason=result.reason)

    @activity.defn(name="omni_close_waiting")
    def close_waiting(self, request: CloseRequest) -> bool:
        return queue.close_waiting(self._engine, request.entry_id, request.status)

    @activity.defn(name="omni_finish")
    def finish(self, entry_id: str) -> None:
        queue.finish(self._engine, entry_id)

    @activity.defn(name="omni_transfer")
    def transfer(self, request: TransferRequest) -> TransferResult:
        """Check the transfer rules (hidden, transfer group, same service), then move the entry."""
        target = service_store.find_service(
            self._engine, name=request.service, extension=request.extension
        )
        if target is None:
            wanted = request.service or f"extension {request.extension}"
            return TransferResult(ok=False, not_found=True, reason=f"no service {wanted!r}")
        try:
            source = service_store.get_service(self._engine, request.from_service_id)
        except NotFound:
            return TransferResult(ok=False, reason="the conversation's service no longer exists")
        refusal = transfer_refusal(source, target)
        if refusal:
            return TransferResult(ok=False, reason=refusal)
        entry_id = queue.transfer(self._engine, request.entry_id, target.id, request.new_entry_id)
        return TransferResult(ok=True, entry_id=entry_id, service=snapshot_of(target))

    @activity.defn(name="omni_wait_estimate")
    def wait_estimate(self, entry_id: str) -> WaitEstimate:
        return self._estimate(entry_id, None)

    def _estimate(self, entry_id: str, service_id: str | None) -> WaitEstimate:
        """`service_id`: the entry's, when the caller knows it (one statement fewer)."""
        place = queue.position(self._engine, entry_id)
        if place is None:
            return WaitEstimate(position=None, estimated_wait_seconds=None)
        if service_id is None:
            service_id = queue.get_entry(self._engine, entry_id).service_id
        seconds = estimated_wait(self._engine, service_id, place)
        return WaitEstimate(position=place, estimated_wait_seconds=seconds)

    @activity.defn(name="omni_hand_over")
    def hand_over(self, request: HandOverRequest) -> HandOverResult:
        """resolve, then (open, agents online if asked) enqueue, then the wait estimate: the
        same answers as `resolve`, `enqueue` and `wait_estimate` one after the other, on one
        connection, with `request.record` written in the enqueue's transaction
        (store/hand_over.py). A retry answers as the attempt that recorded the first turn."""
        resolve, enqueue = request.resolve, request.enqueue
        if not resolve.omni_key.startswith(KEY_HASH_PREFIX):
            return HandOverResult(target=None)
        found = hand_over_store.hand_over(
            self._engine,
            bot=resolve.bot,
            key_hash=resolve.omni_key.removeprefix(KEY_HASH_PREFIX),
            service=resolve.service,
            entry=hand_over_store.NewEntry(
                entry_id=enqueue.entry_id,
                conversation_id=enqueue.conversation_id,
                workflow_id=enqueue.workflow_id,
                preview=enqueue.preview,
                priority=enqueue.priority,
                skills=tuple(enqueue.skills),
            ),
            closed=request.closed,
            check_agents_online=request.check_agents_online,
            estimate=request.estimate,
            first_turn=FirstTurnRecord(request.record) if request.record is not None else None,
        )
        if found is None:
            return HandOverResult(target=None)
        target = target_of_row(found.service, found.logged_in, found.available)
        estimate = None
        if found.estimate is not None:
            place, seconds = found.estimate
            estimate = WaitEstimate(position=place, estimated_wait_seconds=seconds)
        result = HandOverResult(target=target, entry_id=found.entry_id, estimate=estimate)
        if found.recorded is None:
            return result
        recorded: Recorded = found.recorded
        return result.model_copy(
            update={"estimate": recorded.estimate, "recorded_through": recorded.through}
        )

    @activity.defn(name="omni_save_voicemail")
    def save_voicemail(self, request: VoicemailRequest) -> None:
        voicemails.save(self._engine, **request.model_dump())

    def all(self) -> list[Any]:
        return [
            self.resolve,
            self.enqueue,
            self.claim,
            self.close_waiting,
            self.finish,
            self.transfer,
            self.wait_estimate,
            self.save_voicemail,
            self.hand_over,
        ]


def snapshot_of(service: ServicePublic) -> ServiceSnapshot:
    """The settings a handoff takes from its service (the same for resolve and transfer)."""
    return ServiceSnapshot(
        **_snapshot_fields(
            service.id,
            service.name,
            service.abandon_seconds,
            service.voicemail_seconds,
            service.queue_notifications,
            service.webhook.enabled,
            service.care,
            service.wrapup,
            service.assignment,
            service.offer_seconds,
        )
    )


def target_of_row(row: Any, logged_in: int, available: int) -> HandoffTarget:
    """`snapshot_of` read straight from the service's row (no `ServicePublic` in between:
    the hand-over runs for every queued customer), with who works the service now."""
    fields = _snapshot_fields(
        row.id,
        row.name,
        row.abandon_seconds,
        row.voicemail_seconds,
        QueueNotifications.model_validate(row.queue_notifications),
        row.webhook_enabled,
        ServiceCare.model_validate(row.care or {}),
        WrapUpSettings.model_validate(row.wrapup or {}),
        row.assignment,
        row.offer_seconds,
    )
    return HandoffTarget(**fields, agents_logged_in=logged_in, agents_available=available)


def _snapshot_fields(
    service_id: str,
    name: str,
    abandon_seconds: Any,
    voicemail_seconds: Any,
    notes: QueueNotifications,
    webhook: bool,
    care: ServiceCare,
    wrapup: WrapUpSettings,
    assignment: Any,
    offer_seconds: Any,
) -> dict[str, Any]:
    """One mapping of a service's settings to a snapshot, whichever shape they were read in."""
    return {
        "service_id": service_id,
        "service_name": name,
        "abandon_seconds": abandon_seconds,
        "voicemail_seconds": voicemail_seconds,
        "notifications_enabled": notes.enabled,
        "notification_interval_seconds": notes.interval_seconds or 0,
        "notification_cards": [card.model_dump(mode="json") for card in notes.cards],
        "webhook": webhook,
        "care": CarriedCare.model_validate(care.model_dump()),
        "wrapup_required": wrapup.required,
        "wrapup_codes": list(wrapup.codes),
        "assignment": assignment,
        "offer_seconds": offer_seconds,
    }
