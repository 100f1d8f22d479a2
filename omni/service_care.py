"""A service's care settings (issue 12): wait notices, silent agents and customers, CSAT.

One nested value per service (`ServiceCreate/Update/Public.care`), stored as one JSON column;
every timer is 0 = off, so existing services keep their behaviour. Pure: no SQL, no Temporal.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_CARE_SECONDS = 7 * 24 * 3600
Off = Annotated[int, Field(strict=True, ge=0, le=MAX_CARE_SECONDS)]
"""Seconds; 0 turns the rule off."""
Positive = Annotated[int, Field(strict=True, gt=0, le=MAX_CARE_SECONDS)]

AgentSilenceAction = Literal["alert", "requeue"]
"""Past `agent_reply_seconds`: only alert the supervisor, or also put the conversation back at
the front of its queue (the agent is released; the next agent takes it)."""


class ServiceCare(BaseModel):
    """How the service looks after people while they wait and while they are served."""

    model_config = ConfigDict(extra="forbid")

    wait_notice_interval_seconds: Positive = 60
    """`wait_time_notice: periodic`: how often position and estimate are looked at again."""
    wait_notice_change_seconds: Positive = 60
    """A new notice is sent when the position improved or the estimate moved at least this
    much (otherwise every `wait_notice_repeat` checks, as a sign of life)."""
    wait_notice_repeat: Annotated[int, Field(strict=True, ge=1, le=100)] = 5
    agent_reply_seconds: Off = 0
    """The longest an agent may leave a customer's message unanswered (0: no rule)."""
    agent_silence_action: AgentSilenceAction = "alert"
    customer_reply_seconds: Off = 0
    """In human service, a customer silent this long (since the agent's last message) is
    warned; silent `customer_close_seconds` more, the conversation is closed (0: no rule)."""
    customer_close_seconds: Positive = 120
    csat: bool = False
    """Ask the customer for a 1–5 score when the agent finishes (before the bot goes on)."""
    csat_timeout_seconds: Positive = 300
    """Unanswered this long, the survey is dropped and the bot goes on."""
    transcript_email: bool = False
    """At the end of human service, e-mail the transcript to the customer when the contact
    has an address (omni/transcript_mail.py; the SMTP settings in transbordo/settings.py)."""


class CarriedCare(ServiceCare):
    """The copy of a service's care settings carried in workflow histories (ServiceSnapshot):
    a field removed or renamed later must not break decoding an old history, so unknown
    fields are ignored here (the API's `ServiceCare` still refuses them)."""

    model_config = ConfigDict(extra="ignore")
