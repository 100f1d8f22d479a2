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
