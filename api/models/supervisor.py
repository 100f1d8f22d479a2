"""The supervisor screen's models: each agent's load, each service live, in a period, and its
staffing advice."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from omni.models import AgentStatus


class SupervisorMe(BaseModel):
    """`GET /api/supervisor/me`: the admin token (every service), or a supervisor's account
    and the services it supervises (the ones it belongs to)."""

    admin: bool
    agent_id: str | None = None
    name: str | None = None
    services: list[str] | None = None


class AgentLoad(BaseModel):
    id: str
    name: str
    status: AgentStatus
    services: list[str]
    capacity: int
    in_service: int


class ServiceLive(BaseModel):
    """One service now (`GET /api/supervisor/live`)."""

    service_id: str
    service: str
    waiting: int
    oldest_wait_seconds: float | None
    in_service: int
    agents: dict[str, int]
    """Agents of the service by status (available, paused, offline, and any other status)."""
    online: int
    """Agents not offline."""
    offers_pending: int = 0
    """Conversations offered to an agent and not yet accepted (0 until automatic assignment)."""


class ServicePeriod(BaseModel):
    """One service's contacts enqueued in the period."""

    service_id: str
    service: str
    offered: int
    """Answered plus abandoned."""
    answered: int
    answered_within_target: int
    abandoned: int
    service_level_percent: float | None
    target_service_level_percent: int
    answer_time_seconds: int
    average_speed_of_answer_seconds: float | None
    abandonment_percent: float | None
    average_handle_seconds: float | None
    csat_average: float | None = None
    """Mean satisfaction answer (1–5) in the period; None when nobody answered."""
    wrapup_codes: dict[str, int] = {}
    """Conversations per wrap-up code recorded in the period, most used first."""
    tags: dict[str, int] = {}
    """Conversations per tag recorded in the period, most used first."""


class PeriodReport(BaseModel):
    """`GET /api/supervisor/period`: every service's figures for [start, end)."""

    start: datetime
    end: datetime
    timezone: str
    services: list[ServicePeriod]


class StaffingSlot(BaseModel):
    start: datetime
    arrivals: float
    """Contacts expected in the half hour (now: arrived in the last 30 minutes)."""
    handle_seconds: float | None
    patience_seconds: float | None
    """Mean patience before abandoning; None: nobody abandoned, Erlang C."""
    model: Literal["erlang_a", "erlang_c"]
    agents_needed: int | None
    """None: contacts expected but no handle time measured yet, or the target unreachable."""
    unreachable_above: int | None = None
    """Set (the search's limit) when no staffing up to that many agents reaches the target."""


class ServiceStaffing(BaseModel):
    service_id: str
    service: str
    target_service_level_percent: int
    answer_time_seconds: int
    online: int
    available: int
    now: StaffingSlot
    half_hours: list[StaffingSlot]


class StaffingReport(BaseModel):
    """`GET /api/supervisor/staffing`: agents each service's target needs, now and ahead."""

    timezone: str
    history_days: int
    services: list[ServiceStaffing]


class OpenConversation(BaseModel):
    """A conversation open now in a human queue (`GET /api/supervisor/conversations/open`):
    waiting, or in service with an agent (who may have gone offline since)."""

    conversation_id: str
    service: str | None
    """None once the service was removed."""
    status: Literal["waiting", "in_service"]
    agent_id: str | None = None
    agent: str | None = None
    """The agent serving it (in service only)."""
    agent_offline: bool = False
    """Presence set the serving agent offline (its screen is gone, `status_reason` unseen): a
    conversation to reassign. An agent who chose Offline to finish its chats is not flagged."""
    enqueued_at: datetime
    picked_up_at: datetime | None = None
    contact: str | None = None
    """Which customer: the contact's id shortened to its last characters (`…4321`; the whole
    id stays on the server); None while the log has no row of the conversation. No name: the
    store keeps none."""
