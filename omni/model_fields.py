"""The field types and base class that Omni's request models share (omni/models.py,
omni/queue_cards.py)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from omni.field_errors import FieldCode, refused

MAX_SECONDS = 7 * 24 * 3600
"""Upper bound of every time field (a week): larger values are typos, not policies."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refused(FieldCode.URL_INVALID, "must be an http:// or https:// URL with a host")
    return value


HttpUrl = Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
Seconds = Annotated[int, Field(strict=True, gt=0, le=MAX_SECONDS)]
Flag = Annotated[bool, Field(strict=True)]


class Model(BaseModel):
    """Base of the request models: unknown keys are 422s, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
