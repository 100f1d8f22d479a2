"""The codes of Omni's own field rules: a 422 item's `type` the admin screens say in pt-BR.

Pydantic's built-in checks (`missing`, `string_too_long`, ...) have stable types of their own;
a rule of ours that raised a plain ValueError would be a `value_error` whose only words are the
English `msg`. So each rule raises `refused(FieldCode.X, "english message", **values)`: the
item's `type` is the code and `ctx` holds the values the screen may name. `MESSAGES` in
api/static/js/common.js has the pt-BR text of every code (tests/test_coded_url_errors.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

from pydantic_core import PydanticCustomError


class FieldCode(StrEnum):
    """The `type` of a 422 item refused by one of Omni's field rules."""

    URL_INVALID = "url_invalid"
    """A webhook, image or button URL that is not http(s):// with a host."""
    URL_NOT_HTTPS = "url_not_https"
    """An enabled carousel's card image on http:// (omni/queue_cards.py)."""
    URL_REQUIRED = "url_required"
    """An enabled webhook without a URL."""
    WEBHOOK_SECRET = "webhook_secret"
    """A webhook secret that is not `whsec_` + base64 of at least `min_bytes` bytes."""
    BLANK = "blank"
    """A name, label, title or text made of spaces only."""
    NOT_NULL = "not_null"
    """A null sent for a field a partial change may leave out but not empty."""
    REPEATED = "repeated"
    """A list names `value` twice: as written (services, wrap-up codes) or in any case
    (skills, compared case-insensitively); the pt-BR text is true of both."""
    SAME_CODE = "same_code"
    """Two wrap-up codes, `first` and `code`, that differ only in case, accents or spaces
    (omni/names.py `name_key`); said at the second one, `wrapup.codes.N`."""
    CARDS_REQUIRED = "cards_required"
    """An enabled waiting-queue carousel without cards."""
    BUTTON_ACTION = "button_action"
    """A card button with both a URL and a reply, or neither."""


def not_null(value: object) -> object:
    """A field that may be left out but not sent as null (a partial update's)."""
    if value is None:
        raise refused(FieldCode.NOT_NULL, "may not be null")
    return value


def refused(code: FieldCode, message: str, /, **values: str | int) -> PydanticCustomError:
    """The error a field rule raises: `code` as the item's `type`, `values` as its `ctx`."""
    return PydanticCustomError(code.value, message, values or None)


def first_repeated(
    values: Iterable[str], key: Callable[[str], object] = lambda value: value
) -> str | None:
    """The first value equal (by `key`) to one before it in `values`, if any."""
    seen: set[object] = set()
    for value in values:
        folded = key(value)
        if folded in seen:
            return value
        seen.add(folded)
    return None
