"""`ETag` and `If-Match` on what admins edit: two admins editing one thing do not silently drop
each other's changes.

A service, an agent or a quick reply has a `revision` (one more at each admin change); a bot
has its newest `version`. GET answers it as a strong `ETag` (`"3"`); a PATCH or PUT that sends
`If-Match` with it is refused with 412 `changed_since_read` once another change came in between
(the check is made in the same transaction as the write: of two racing editors, one wins). A
request without `If-Match` (or with `*`) is not checked, as before this existed.
`PUT /api/bots/{bot}` also honours `If-None-Match`: `*` publishes only a bot that has no
version yet, a list of tags only while the newest is none of them (412 otherwise).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, Response

IF_MATCH_HELP = (
    'The `ETag` the change was made against (`"3"`); another current revision answers 412 '
    "`changed_since_read`. Absent or `*`: no check."
)

IF_NONE_MATCH_HELP = (
    '`*`: only while nothing exists (a bot not yet published); tags (`"3"`): only while the '
    "current one is none of them. Else 412 `changed_since_read`."
)
TAG = re.compile(r"[0-9]{1,18}")
"""Our tags: a revision or version in ASCII digits, short enough for any integer column.
Anything else (`"²"`, 5,000 digits, weak `W/"3"`) is not ours and matches nothing."""

IfMatch = Annotated[str | None, Header(alias="If-Match", description=IF_MATCH_HELP)]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", description=IF_NONE_MATCH_HELP)]


def etag(revision: int) -> str:
    """The strong entity tag of a revision or version."""
    return f'"{revision}"'


def set_etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = etag(revision)


def accepted_revisions(if_match: str | None) -> set[int] | None:
    """The revisions an `If-Match` accepts; None: no header, or `*` (no check). A tag that is
    not one of ours (weak `W/"3"`, not a number) accepts none: RFC 9110 compares strongly."""
    if if_match is None or if_match.strip() == "*":
        return None
    return _tags(if_match)


def _tags(header: str) -> set[int]:
    found: set[int] = set()
    for tag in header.split(","):
        tag = tag.strip()
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if TAG.fullmatch(tag):
            found.add(int(tag))
    return found


def put_allows(if_match: str | None, if_none_match: str | None) -> tuple[set[int] | None, set[int]]:
    """What a PUT's preconditions allow: (the revisions `If-Match` accepts, None: any; the
    ones `If-None-Match` refuses). `If-None-Match: *` accepts only 0, "nothing yet"."""
    accepted = accepted_revisions(if_match)
    if if_none_match is None:
        return accepted, set()
    if if_none_match.strip() == "*":
        return ({0} if accepted is None else accepted & {0}), set()
    return accepted, _tags(if_none_match)
