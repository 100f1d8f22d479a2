"""Errors of the Omni domain; the API maps each to one HTTP status.

OmniError
 ├── NotFound            (404) no such service, integration or agent
 ├── Conflict            (409) duplicate name/extension/integration, or a refused delete
 └── InvalidReference    (422) a request names services that do not exist (or itself)
"""

from __future__ import annotations


class OmniError(Exception):
    """Base of every Omni domain error."""


class NotFound(OmniError):
    """The service, integration or agent does not exist."""


class Conflict(OmniError):
    """The change would break a uniqueness rule or strand live conversations."""


class InvalidReference(OmniError):
    """A field refers to something that does not exist; ``field`` names it for the 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
