"""What an invalid flow looks like to its author: issues with file, line and column.

Hierarchy::

    Exception
    └── FlowError          one or more FlowIssue (file:line:column: message), all of a file's

The loader collects every issue of a file before raising, so one run shows all that is wrong.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FlowIssue(BaseModel):
    """One problem in a bot file; ``line`` and ``column`` are 1-based."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int = Field(ge=1)
    column: int = Field(ge=1)
    message: str
    code: str | None = None
    """A stable code for the problem, when it has one (a schedule's: bots/schedule.py
    `ISSUE_CODES`), so a form can say it in its own words; None: only `message` says it."""
    ctx: tuple[tuple[str, str], ...] = ()
    """The values the code is about (`zone`, `date`), as pairs so the issue stays hashable."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def public(self) -> dict[str, int | str]:
        """The shape of the HTTP API's flow errors: ``{line, column, message}``."""
        return {"line": self.line, "column": self.column, "message": self.message}


class FlowError(Exception):
    """A bot file is not a valid flow; ``issues`` holds every problem found, in file order."""

    def __init__(self, issues: list[FlowIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
