"""Two admins editing one thing do not silently drop each other's changes: reads answer an
`ETag`, and a PATCH or PUT sent with `If-Match` of an older one is 412 `changed_since_read`
(bot settings and YAML, services, agents, quick replies). Without `If-Match` the routes work as
before. Over HTTP; the services' also on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omni.errors import NotFound
from store.name_keys import write_revision
from store.tables import quick_replies
from tests.conftest import admin_headers

pytestmark = pytest.mark.asyncio

H = admin_headers()
LOJA = (Path(__file__).parent.parent / "flows" / "loja.yaml").read_text()


def if_match(tag: str) -> dict[str, str]:
    return {**H, "If-Match": tag}


async def publish(api: httpx.AsyncClient, bot: str, source: str, **headers: str) -> httpx.Response:
    return await api.put(
        f"/api/bots/{bot}", content=source, headers={**H, "Content-Type": "text/yaml", **headers}
    )


async def hours(api: httpx.AsyncClient, sat: str, tag: str | None) -> httpx.Response:
    """One admin's "Horário de atendimento" form: Saturday's hours changed."""
    week = {"mon-fri": ["08:00-18:00"], "sat": [sat]}
    headers = if_match(tag) if tag is not None else H
    return await api.patch(
        "/api/bots/loja/settings", json={"schedule": {"hours": week}}, headers=headers
    )


async def test_bot_settings_patch_with_a_stale_if_match_is_412_and_publishes_nothing(admin_api):
    assert (await publish(admin_api, "loja", LOJA)).status_code == 201
    read = await admin_api.get("/api/bots/loja/settings", headers=H)
    assert read.headers["etag"] == '"1"' and read.json()["version"] == 1
    for path in ("/api/bots/loja", "/api/bots/loja/source"):
        assert (await admin_api.get(path, headers=H)).headers["etag"] == '"1"'

    # two admins opened the page at version 1; the first saves the hours
    first = await hours(admin_api, "09:00-13:00", read.headers["etag"])
    assert first.status_code == 201 and first.json()["version"] == 2
    assert first.headers["etag"] == '"2"'
    # the second saves the holidays on what it read: refused, nothing published
    second = await admin_api.patch(
        "/api/bots/loja/settings",
        json={"schedule": {"holidays": [{"date": "12-25", "name": "Natal"}]}},
        headers=if_match('"1"'),
    )
    assert second.status_code == 412, second.text
    assert second.json()["code"] == "changed_since_read"
    assert second.json()["version"] == 2 and second.headers["etag"] == '"2"'
    now = (await admin_api.get("/api/bots/loja/settings", headers=H)).json()
    assert now["version"] == 2 and now["schedule"]["hours"]["sat"] == ["09:00-13:00"]

    # read again, saved again: both changes are in version 3
    again = await admin_api.patch(
        "/api/bots/loja/settings",
        json={"schedule": {"holidays": [{"date": "12-25", "name": "Natal"}]}},
        headers=if_match('"2"'),
    )
    assert again.status_code == 201 and again.json()["version"] == 3
    now = (await admin_api.get("/api/bots/loja/settings", headers=H)).json()
    assert now["schedule"]["hours"]["sat"] == ["09:00-13:00"]
    assert now["schedule"]["holidays"] == [{"date": "12-25", "name": "Natal"}]
    # without If-Match (API clients of before) it still publishes; `*` is no check either
    assert (await hours(admin_api, "10:00-14:00", None)).json()["version"] == 4
    assert (await hours(admin_api, "10:00-15:00", "*")).json()["version"] == 5
    # a weak or foreign tag never matches (RFC 9110 compares strongly)
    for tag in ('W/"5"', '"v5"', "garbage"):
        assert (await hours(admin_api, "10:00-16:00", tag)).status_code == 412, tag


async def test_two_admins_saving_at_once_on_one_version_one_wins(admin_api):
    """Both requests carry If-Match "1" and race: one publishes version 2, the other is told
    it is stale (never two versions that each dropped the other's change)."""
    assert (await publish(admin_api, "loja", LOJA)).status_code == 201
    answers = await asyncio.gather(
        hours(admin_api, "09:00-13:00", '"1"'), hours(admin_api, "09:00-14:00", '"1"')
    )
    assert sorted(a.status_code for a in answers) == [201, 412], [a.text for a in answers]
    versions = (await admin_api.get("/api/bots", headers=H)).json()
    assert [v["version"] for v in versions] == [2]


async def test_put_of_the_yaml_honours_if_match(admin_api):
    assert (await publish(admin_api, "loja", LOJA, **{"If-Match": '"0"'})).status_code == 201
    edited = LOJA.replace("Olá", "Oi", 1)
    assert edited != LOJA
    # someone else publishes version 2 meanwhile
    other = LOJA.replace("Olá", "Bom dia", 1)
    assert (await publish(admin_api, "loja", other, **{"If-Match": '"1"'})).status_code == 201
    stale = await publish(admin_api, "loja", edited, **{"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "changed_since_read"
    assert (await admin_api.get("/api/bots/loja/source", headers=H)).text == other
    # "0": only a bot not yet published (a second admin creating the same bot is refused)
    assert (await publish(admin_api, "loja", LOJA, **{"If-Match": '"0"'})).status_code == 412
    fresh = await publish(admin_api, "loja", edited, **{"If-Match": '"2"'})
    assert fresh.status_code == 201 and fresh.headers["etag"] == '"3"'


async def test_service_patch_honours_if_match(any_admin_api: httpx.AsyncClient) -> None:
    made = await any_admin_api.post("/api/omni/services", json={"name": "Suporte"}, headers=H)
    service = made.json()
    assert service["revision"] == 1
    url = f"/api/omni/services/{service['id']}"
    read = await any_admin_api.get(url, headers=H)
    assert read.headers["etag"] == '"1"'
    listed = (await any_admin_api.get("/api/omni/services", headers=H)).json()
    assert listed[0]["revision"] == 1  # the list page's If-Match

    first = await any_admin_api.patch(url, json={"abandon_seconds": 120}, headers=if_match('"1"'))
    assert first.status_code == 200 and first.json()["revision"] == 2
    assert first.headers["etag"] == '"2"'
    second = await any_admin_api.patch(url, json={"extension": "101"}, headers=if_match('"1"'))
    assert second.status_code == 412 and second.json()["code"] == "changed_since_read"
    assert second.json()["revision"] == 2 and second.headers["etag"] == '"2"'
    now = (await any_admin_api.get(url, headers=H)).json()
    assert now["extension"] is None and now["abandon_seconds"] == 120
    # a stale edit is told so before a rename check or a name clash
    stale_rename = await any_admin_api.patch(url, json={"name": "X"}, headers=if_match('"1"'))
    assert stale_rename.status_code == 412
    plain = await any_admin_api.patch(url, json={"extension": "101"}, headers=H)
    assert plain.status_code == 200 and plain.json()["revision"] == 3


async def test_racing_service_edits_on_one_revision_one_wins(
    any_admin_api: httpx.AsyncClient,
) -> None:
    made = await any_admin_api.post("/api/omni/services", json={"name": "Suporte"}, headers=H)
    url = f"/api/omni/services/{made.json()['id']}"
    answers = await asyncio.gather(
        any_admin_api.patch(url, json={"abandon_seconds": 120}, headers=if_match('"1"')),
        any_admin_api.patch(url, json={"voicemail_seconds": 30}, headers=if_match('"1"')),
    )
    assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
    assert (await any_admin_api.get(url, headers=H)).json()["revision"] == 2


async def test_agent_patch_honours_if_match_and_the_agents_status_is_no_revision(
    any_admin_api: httpx.AsyncClient,
) -> None:
    made = await any_admin_api.post("/api/omni/agents", json={"name": "Ana"}, headers=H)
    agent = made.json()
    url = f"/api/omni/agents/{agent['id']}"
    assert (await any_admin_api.get(url, headers=H)).headers["etag"] == '"1"'
    # the agent goes available and pauses: the admin's form is not stale for it
    own = {"Authorization": f"Bearer {agent['token']}"}
    for status in ("available", "paused"):
        moved = await any_admin_api.post("/api/agent/status", json={"status": status}, headers=own)
        assert moved.status_code == 200, moved.text
    first = await any_admin_api.patch(url, json={"capacity": 3}, headers=if_match('"1"'))
    assert first.status_code == 200 and first.json()["revision"] == 2
    assert first.json()["status"] == "paused"
    second = await any_admin_api.patch(url, json={"capacity": 5}, headers=if_match('"1"'))
    assert second.status_code == 412 and second.json()["code"] == "changed_since_read"
    assert (await any_admin_api.get(url, headers=H)).json()["capacity"] == 3


async def test_quick_reply_patch_honours_if_match(any_admin_api: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {"shortcut": "/boleto", "title": "Boleto", "text": "2ª via"}
    made = await any_admin_api.post("/api/omni/quick-replies", json=body, headers=H)
    url = f"/api/omni/quick-replies/{made.json()['id']}"
    assert (await any_admin_api.get(url, headers=H)).headers["etag"] == '"1"'
    first = await any_admin_api.patch(url, json={"title": "Segunda via"}, headers=if_match('"1"'))
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    second = await any_admin_api.patch(url, json={"text": "Outro"}, headers=if_match('"1"'))
    assert second.status_code == 412 and second.json()["code"] == "changed_since_read"
    now = (await any_admin_api.get(url, headers=H)).json()
    assert now["title"] == "Segunda via" and now["text"] == "2ª via"


async def test_an_if_match_that_is_not_one_of_our_tags_matches_nothing(
    any_admin_api: httpx.AsyncClient,
) -> None:
    """Our tags are ASCII digits. "³" (byte 0xB3, a header's Latin-1) is a digit to Python and
    5,000 digits are more than `int()` reads: each matches nothing (412), never a 500."""
    made = await any_admin_api.post("/api/omni/services", json={"name": "Suporte"}, headers=H)
    url = f"/api/omni/services/{made.json()['id']}"
    for seconds in (120, 130):
        changed = await any_admin_api.patch(url, json={"abandon_seconds": seconds}, headers=H)
        assert changed.status_code == 200
    assert changed.json()["revision"] == 3
    too_long = b'"' + b"9" * 5000 + b'"'
    for tag in (b'"\xb3"', b'"2", "\xb3"', too_long):
        answer = await any_admin_api.patch(
            url, json={"abandon_seconds": 60}, headers={**H, "If-Match": tag}
        )
        assert answer.status_code == 412, (tag[:20], answer.text)
        assert answer.json()["code"] == "changed_since_read"
    assert (await any_admin_api.get(url, headers=H)).json()["abandon_seconds"] == 130
    published = await any_admin_api.put(
        "/api/bots/loja",
        content=LOJA,
        headers={**H, "Content-Type": "text/yaml", "If-Match": b'"\xb2"'},
    )
    assert published.status_code == 412, published.text
    fine = await any_admin_api.patch(url, json={"abandon_seconds": 60}, headers=if_match('"3"'))
    assert fine.status_code == 200 and fine.json()["revision"] == 4


async def test_a_stale_if_match_on_a_quick_reply_is_412_before_a_taken_shortcut(
    any_admin_api: httpx.AsyncClient,
) -> None:
    """As for services: an edit made on an old revision is told so first (reading it again
    shows what changed), even when the shortcut it sets is taken too."""
    for shortcut in ("/boleto", "/pix"):
        body = {"shortcut": shortcut, "title": "T", "text": "x"}
        made = await any_admin_api.post("/api/omni/quick-replies", json=body, headers=H)
    url = f"/api/omni/quick-replies/{made.json()['id']}"
    other = await any_admin_api.patch(url, json={"title": "Pix"}, headers=H)
    assert other.status_code == 200
    stale = await any_admin_api.patch(url, json={"shortcut": "/boleto"}, headers=if_match('"1"'))
    assert stale.status_code == 412, stale.text
    assert stale.json()["code"] == "changed_since_read" and stale.json()["revision"] == 2


async def test_put_of_the_yaml_honours_if_none_match(admin_api):
    """`If-None-Match: *` creates a bot and never overwrites one; a tag list refuses only while
    the newest is one of them."""
    created = await publish(admin_api, "loja", LOJA, **{"If-None-Match": "*"})
    assert created.status_code == 201 and created.headers["etag"] == '"1"'
    edited = LOJA.replace("Olá", "Oi", 1)
    again = await publish(admin_api, "loja", edited, **{"If-None-Match": "*"})
    assert again.status_code == 412, again.text
    assert again.json()["code"] == "changed_since_read" and again.json()["version"] == 1
    assert (await admin_api.get("/api/bots/loja/source", headers=H)).text == LOJA
    same = await publish(admin_api, "loja", edited, **{"If-None-Match": '"1"'})
    assert same.status_code == 412
    other = await publish(admin_api, "loja", edited, **{"If-None-Match": '"7"'})
    assert other.status_code == 201 and other.headers["etag"] == '"2"'


async def test_an_edit_of_a_row_deleted_since_it_was_read_is_not_found(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """Another admin deletes the quick reply between this edit's read and its conditional
    UPDATE: the edit says it is gone (404), not that it changed (412 with revision 0). The
    race is laid out in one transaction: read, the other's delete, then the write."""
    body = {"shortcut": "/boleto", "title": "Boleto", "text": "2ª via"}
    made = await any_admin_api.post("/api/omni/quick-replies", json=body, headers=H)
    reply_id = made.json()["id"]
    with pytest.raises(NotFound), any_engine.begin() as conn:
        read = conn.execute(sa.select(quick_replies).where(quick_replies.c.id == reply_id)).one()
        conn.execute(sa.delete(quick_replies).where(quick_replies.c.id == reply_id))
        write_revision(
            conn, quick_replies, read, {"title": "Segunda via"}, expected={1}, what="quick reply"
        )
