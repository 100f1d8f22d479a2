"""Errors of the Omni domain; the API maps each to one HTTP status and says its `code`.

OmniError
 ├── NotFound            (404) no such service, integration or agent
 ├── Conflict            (409) duplicate name/extension/integration, a refused delete or rename
 ├── InvalidReference    (422) a request names services that do not exist (or itself)
 ├── InvalidName         (422) a new name no one could read (invisible characters, marks alone)
 └── Stale               (412) an `If-Match` names a revision that is no longer the current one

Each error carries an `OmniCode` (`code`): the pages say it in pt-BR, so the English message
may be reworded freely. A raise site that names no code gets its class's default. `extra`
holds what the pages may name besides (the existing name, the bots that use a service): it
joins the error's body beside `detail` and `code`.
"""

from __future__ import annotations

from enum import StrEnum


class OmniCode(StrEnum):
    """Why the Omni store said no (the `code` of an HTTP error body)."""

    NOT_FOUND = "not_found"
    """No such service, integration or agent."""
    CONFLICT = "conflict"
    """A conflict with no more specific code."""
    INVALID_REFERENCE = "invalid_reference"
    """A field names services that do not exist, or the service itself."""
    DUPLICATE_SERVICE_NAME = "duplicate_service_name"
    """Another service has this name."""
    DUPLICATE_EXTENSION = "duplicate_extension"
    """Another service has this 3-digit extension."""
    DUPLICATE_SERVICE = "duplicate_service"
    """A concurrent write took this name or extension first (which one is unknown)."""
    SERVICE_BUSY = "service_busy"
    """Delete refused: the service has waiting or in-service conversations."""
    DUPLICATE_INTEGRATION = "duplicate_integration"
    """The bot already has a live integration with this service."""
    INTEGRATION_REVOKED = "integration_revoked"
    """A revoked integration cannot get a new key."""
    DUPLICATE_AGENT_NAME = "duplicate_agent_name"
    """Another agent has this name."""
    AGENT_BUSY = "agent_busy"
    """Delete refused: the agent has conversations in service."""
    DUPLICATE_QUICK_REPLY = "duplicate_quick_reply"
    """Another quick reply of the same service (or another global one) has this shortcut."""
    SERVICE_IN_USE = "service_in_use"
    """Rename or delete refused: the newest version of published bots names the service, in
    whatever case, accents or spacing (`bots`); `force=true` goes on."""
    CHANGED_SINCE_READ = "changed_since_read"
    """`If-Match` names a revision another change has replaced: read it again (412)."""
    VALIDATION_ERROR = "validation_error"
    """A field's value is refused (as the API's own code): a new name that is unusable."""


class OmniError(Exception):
    """Base of every Omni domain error."""

    default_code = OmniCode.CONFLICT

    def __init__(
        self, message: str, *, code: str | None = None, extra: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.code = OmniCode(code) if code is not None else self.default_code
        self.extra = extra or {}


class NotFound(OmniError):
    """The service, integration or agent does not exist."""

    default_code = OmniCode.NOT_FOUND


class Conflict(OmniError):
    """The change would break a uniqueness rule or strand live conversations."""

    default_code = OmniCode.CONFLICT


class InvalidReference(OmniError):
    """A field refers to something that does not exist; ``field`` names it for the 422."""

    default_code = OmniCode.INVALID_REFERENCE

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field
        self.message = message


class InvalidName(OmniError):
    """A new service or agent name with control or format characters, or of marks alone
    (omni/names.py `unusable`); ``field`` names it for the 422."""

    default_code = OmniCode.VALIDATION_ERROR

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Stale(OmniError):
    """The change was made against a revision that is no longer the current one (`If-Match`)."""

    default_code = OmniCode.CHANGED_SINCE_READ

    def __init__(self, message: str, *, current: int) -> None:
        super().__init__(message, extra={"revision": current})
        self.current = current
