"""Why a conversation refuses a request: one code per reason, shared by the workflow and the API.

The workflow raises only `refuse(...)` errors; their `ApplicationError.type` is a `Refusal` value.
The API answers `{"detail": <English>, "code": <Refusal>}` with the status of `HTTP_STATUS`, and
the pages say each code in pt-BR — never by parsing `detail`, which may be reworded freely.
Pure: no Temporal import here except the error type, so the API and tests can read it anywhere.
"""

from __future__ import annotations

from enum import StrEnum

from temporalio.exceptions import ApplicationError


class Refusal(StrEnum):
    """Every reason a conversation (or the queue behind it) says no."""

    # the conversation
    CONVERSATION_ENDED = "conversation_ended"
    """The conversation has ended (a new message starts a new one)."""
    INVALID_MESSAGE = "invalid_message"
    """Blank text, text or id too long."""
    # the Humano block, agent side
    NOT_WAITING = "not_waiting"
    """Pickup of a conversation that is no longer waiting (taken, abandoned, in voicemail)."""
    TAKEN = "taken"
    """Another agent picked the conversation up first."""
    NOT_YOUR_SERVICE = "not_your_service"
    """The agent does not work the conversation's service."""
    NOT_AVAILABLE = "not_available"
    """The agent is paused or offline."""
    AT_CAPACITY = "at_capacity"
    """The agent already has as many conversations as their capacity."""
    SERVICE_AT_CAPACITY = "service_at_capacity"
    """The agent already has as many conversations of this service as its `agent_capacity`."""
    NOT_IN_SERVICE = "not_in_service"
    """An agent action on a conversation no agent has."""
    NOT_YOUR_CONVERSATION = "not_your_conversation"
    """Another agent has the conversation."""
    NO_SUCH_SERVICE = "no_such_service"
    """A transfer names a service or extension that does not exist."""
    TRANSFER_NOT_ALLOWED = "transfer_not_allowed"
    """Same service, hidden target, or outside the source's transfer group."""
    BAD_REQUEST = "bad_request"
    """A malformed agent request (e.g. both service and extension)."""
    WRAPUP_REQUIRED = "wrapup_required"
    """A finish without a wrap-up code the service requires, or with one not in its list."""
    NO_SUCH_AGENT = "no_such_agent"
    """A supervisor's take-over or reassignment names an agent that does not exist."""


HTTP_STATUS: dict[Refusal, int] = {
    Refusal.CONVERSATION_ENDED: 409,
    Refusal.INVALID_MESSAGE: 422,
    Refusal.NOT_WAITING: 409,
    Refusal.TAKEN: 409,
    Refusal.NOT_YOUR_SERVICE: 403,
    Refusal.NOT_AVAILABLE: 409,
    Refusal.AT_CAPACITY: 409,
    Refusal.SERVICE_AT_CAPACITY: 409,
    Refusal.NOT_IN_SERVICE: 409,
    Refusal.NOT_YOUR_CONVERSATION: 403,
    Refusal.NO_SUCH_SERVICE: 404,
    Refusal.TRANSFER_NOT_ALLOWED: 403,
    Refusal.BAD_REQUEST: 422,
    Refusal.WRAPUP_REQUIRED: 422,
    Refusal.NO_SUCH_AGENT: 404,
}
"""The HTTP status of each refusal (the API's one mapping)."""


def refuse(code: Refusal, message: str) -> ApplicationError:
    """The error a workflow raises to refuse: its type is the code, it is never retried."""
    return ApplicationError(message, type=code.value, non_retryable=True)


def refusal_of(error: BaseException | None) -> Refusal | None:
    """The refusal carried by an error from Temporal (an Update's cause), or None."""
    code = error.type if isinstance(error, ApplicationError) else None
    if code is None or code not in Refusal._value2member_map_:
        return None
    return Refusal(code)
