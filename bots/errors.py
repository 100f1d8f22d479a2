"""What an invalid flow looks like to its author: issues with file, line and column.

Hierarchy::

    Exception
    └── FlowError          one or more FlowIssue (file:line:column: message), all of a file's

The loader collects every issue of a file before raising, so one run shows all that is wrong.
Each issue also has a stable ``code`` with its values in ``ctx``: ``message`` stays English for
the CLI and API clients, while a screen says the code in its own words (pt-BR; docs/flows.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

FLOW_ERROR = "flow_error"
"""The code of an issue that has none of its own (only its ``message`` says what is wrong)."""


class FlowIssue(BaseModel):
    """One problem in a bot file; ``line`` and ``column`` are 1-based."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int = Field(ge=1)
    column: int = Field(ge=1)
    message: str
    code: str | None = None
    """A stable code for the problem (`unknown_block`, `missing`, a schedule's `ISSUE_CODES`:
    docs/flows.md lists them), so a screen can say it in its own words; None: only `message`."""
    ctx: tuple[tuple[str, str], ...] = ()
    """The values the code is about (`block`, `target`), as pairs so the issue stays hashable."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def public(self) -> dict[str, object]:
        """The shape of the HTTP API's flow errors: ``{line, column, message, code, ctx}``."""
        return {
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "code": self.code or FLOW_ERROR,
            "ctx": dict(self.ctx),
        }


def ctx_pairs(values: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """``ctx`` from keyword values, each as text; a None value is left out."""
    return tuple((key, str(value)) for key, value in values.items() if value is not None)


class FlowError(Exception):
    """A bot file is not a valid flow; ``issues`` holds every problem found, in file order."""

    def __init__(self, issues: list[FlowIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
