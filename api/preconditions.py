"""`ETag` and `If-Match` on what admins edit: two admins editing one thing do not silently drop
each other's changes.

A service, an agent or a quick reply has a `revision` (one more at each admin change); a bot
has its newest `version`. GET answers it as a strong `ETag` (`"3"`); a PATCH or PUT that sends
`If-Match` with it is refused with 412 `changed_since_read` once another change came in between
(the check is made in the same transaction as the write: of two racing editors, one wins). A
request without `If-Match` (or with `*`) is not checked, as before this existed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

IF_MATCH_HELP = (
    'The `ETag` the change was made against (`"3"`); another current revision answers 412 '
    "`changed_since_read`. Absent or `*`: no check."
)

IfMatch = Annotated[str | None, Header(alias="If-Match", description=IF_MATCH_HELP)]


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
    accepted: set[int] = set()
    for tag in if_match.split(","):
        tag = tag.strip()
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if tag.isdigit():
            accepted.add(int(tag))
    return accepted
