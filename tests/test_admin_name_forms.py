"""Names as people paste them: a name whose normal form is longer than the name, names stored
before migration 0020 in another Unicode form, and invisible characters. Over HTTP, on SQLite
and PostgreSQL (where a column's length is enforced)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from store.db import run_alembic
from tests.conftest import admin_headers
from tests.test_admin_names import flow, made, publish
from tests.test_omni_migration import row

pytestmark = pytest.mark.asyncio

H = admin_headers()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOTIFICATIONS = {"enabled": False, "interval_seconds": 60, "cards": []}
ELLIPSES = "…" * 100
"""100 characters whose normal form is 300 ("..." each)."""
COBRANCA_NFD = "Cobranc\u0327a"
"""How macOS and some keyboards sent "Cobrança" before names were stored in NFC."""


def old_rows(engine: sa.Engine, services: dict[str, str], agents: dict[str, str]) -> None:
    """A database at 0019 holding these services and agents (id: name), migrated to head."""
    run_alembic(engine, "downgrade", "0019")
    with engine.begin() as conn:
        for n, (service_id, name) in enumerate(services.items()):
            row(conn, "services", id=service_id, name=name, queue_notifications=NOTIFICATIONS,
                created_at=T0.replace(minute=n), extension=None)  # fmt: skip
        for n, (agent_id, name) in enumerate(agents.items()):
            row(conn, "agents", id=agent_id, name=name, token_hash=f"h{n}", status="offline",
                created_at=T0)  # fmt: skip
    run_alembic(engine, "upgrade", "head")


async def names(api: httpx.AsyncClient, what: str) -> list[str]:
    return [item["name"] for item in (await api.get(f"/api/omni/{what}", headers=H)).json()]


async def test_a_name_whose_normal_form_is_longer_than_it_migrates(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """ "…" folds to "...": a 100-character name has a 300-character normal form, which the
    migration keys (PostgreSQL once refused it: the app would not start)."""
    old_rows(any_engine, {"s1": ELLIPSES}, {"a1": ELLIPSES})
    assert await names(any_admin_api, "services") == [ELLIPSES]
    assert await names(any_admin_api, "agents") == [ELLIPSES]
    # the migrated keys hold: the same name is refused, naming the one that has it
    for what in ("services", "agents"):
        again = await any_admin_api.post(f"/api/omni/{what}", json={"name": ELLIPSES}, headers=H)
        assert again.status_code == 409 and again.json()["existing"] == ELLIPSES


async def test_a_name_whose_normal_form_is_longer_than_it_is_made_and_renamed_to(
    any_admin_api: httpx.AsyncClient,
) -> None:
    """Creating or renaming to such a name (PostgreSQL once answered 500) works, and its
    normal form still decides what may not coexist."""
    for what in ("services", "agents"):
        created = await made(any_admin_api, f"/api/omni/{what}", {"name": ELLIPSES})
        assert created["name"] == ELLIPSES
    ligatures = await made(any_admin_api, "/api/omni/services", {"name": "ﬁ" * 100})
    eszett = await made(any_admin_api, "/api/omni/agents", {"name": "ß" * 100})
    assert ligatures["name"] == "ﬁ" * 100 and eszett["name"] == "ß" * 100
    # "ß" and "ẞ" are "ss": 100 capital ones are the same name as 100 small ones
    same = await any_admin_api.post("/api/omni/agents", json={"name": "ẞ" * 100}, headers=H)
    assert same.status_code == 409 and same.json()["existing"] == "ß" * 100
    vendas = await made(any_admin_api, "/api/omni/services", {"name": "Vendas"})
    url = f"/api/omni/services/{vendas['id']}"
    renamed = await any_admin_api.patch(url, json={"name": "…" * 99 + "ﬁ"}, headers=H)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "…" * 99 + "ﬁ"
    taken = await any_admin_api.patch(url, json={"name": "ﬁ" * 100}, headers=H)
    assert taken.status_code == 409 and taken.json()["existing"] == "ﬁ" * 100


async def test_a_service_stored_decomposed_before_0020_is_still_named_by_references(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """A service stored as "c" + a combining cedilla (before 0020) keeps its bytes; the pages
    send its name back as read (the API makes it NFC) or typed, and it still resolves."""
    old_rows(any_engine, {"s_nfd": COBRANCA_NFD, "s_vendas": "Vendas"}, {"a1": "Ana"})
    with any_engine.begin() as conn:
        row(conn, "agent_services", agent_id="a1", service_id="s_nfd")
    # the agents page saves Ana with her service as it read it
    agent = await any_admin_api.patch(
        "/api/omni/agents/a1", json={"services": [COBRANCA_NFD], "capacity": 2}, headers=H
    )
    assert agent.status_code == 200, agent.text
    assert agent.json()["services"] == [COBRANCA_NFD] and agent.json()["capacity"] == 2
    # and so does a transfer group that names it (typed composed, too)
    for typed in (COBRANCA_NFD, "Cobrança"):
        group = await any_admin_api.patch(
            "/api/omni/services/s_vendas", json={"transfer_group": [typed]}, headers=H
        )
        assert group.status_code == 200, group.text
        assert group.json()["transfer_group"] == [COBRANCA_NFD]
    itself = await any_admin_api.patch(
        "/api/omni/services/s_nfd", json={"transfer_group": ["Cobrança"]}, headers=H
    )
    assert itself.status_code == 422 and itself.json()["code"] == "invalid_reference"


async def test_saving_a_service_stored_decomposed_with_its_name_unchanged_is_no_rename(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """The services page sends the name with every save: the same name, though the API makes
    it NFC, keeps the stored bytes, which the published flow names (no `service_in_use`)."""
    old_rows(any_engine, {"s_nfd": COBRANCA_NFD}, {})
    await publish(any_admin_api, "loja", flow("loja", COBRANCA_NFD))
    kept = await any_admin_api.patch(
        "/api/omni/services/s_nfd", json={"name": COBRANCA_NFD, "hidden": True}, headers=H
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["name"] == COBRANCA_NFD and kept.json()["hidden"] is True
    assert kept.json()["bots_to_update"] == []
    assert await names(any_admin_api, "services") == [COBRANCA_NFD]
    # a real rename is still one
    renamed = await any_admin_api.patch(
        "/api/omni/services/s_nfd", json={"name": "Cobranças"}, headers=H
    )
    assert renamed.status_code == 409 and renamed.json()["code"] == "service_in_use"


async def test_invisible_characters_and_lone_marks_make_no_new_name(
    any_admin_api: httpx.AsyncClient,
) -> None:
    """A zero-width space, a variation selector or a grapheme joiner is nothing to the eye: the
    name with it is the name without it, and a new name may hold no control or format
    character nor be made of marks alone (422 on `name`)."""
    suporte = await made(any_admin_api, "/api/omni/services", {"name": "Suporte"})
    await made(any_admin_api, "/api/omni/agents", {"name": "Ana"})
    for typed in ("Suporte\ufe0f", "Supor\u034fte", "SUPORTE\U000e0101"):
        answer = await any_admin_api.post("/api/omni/services", json={"name": typed}, headers=H)
        assert answer.status_code == 409, (typed, answer.text)
        assert answer.json()["existing"] == "Suporte"
    refused: dict[str, Any] = {}
    blank_looking = ("Ana\u3164", "\u3164", "Suporte\u2800")  # a Hangul filler, braille blank
    for typed in (
        "Suporte\u200b",
        "\u200b",
        "Sup\u00adorte",
        "Suporte\tN2",
        "\u0301\u0302",
        *blank_looking,
    ):
        for what in ("services", "agents"):
            answer = await any_admin_api.post(f"/api/omni/{what}", json={"name": typed}, headers=H)
            refused[f"{what} {typed!r}"] = answer.status_code
            if answer.status_code == 422:
                assert answer.json()["code"] == "validation_error"
                assert answer.json()["detail"][0]["loc"] == ["body", "name"]
    assert set(refused.values()) == {422}, refused
    url = f"/api/omni/services/{suporte['id']}"
    renamed = await any_admin_api.patch(url, json={"name": "Suporte\u200b"}, headers=H)
    assert renamed.status_code == 422, renamed.text
    assert await names(any_admin_api, "services") == ["Suporte"]
    assert await names(any_admin_api, "agents") == ["Ana"]


async def test_a_name_with_a_zero_width_space_from_before_0020_clashes_and_stays_editable(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """A database may hold "Suporte" + U+200B: it is the name "Suporte" (nobody can make
    "Suporte" beside it), and the page may still save it with that name unchanged."""
    old_rows(any_engine, {"s1": "Suporte\u200b"}, {"a1": "Ana\u200b"})
    for what, name, holder in (
        ("services", "Suporte", "Suporte\u200b"),
        ("agents", "ana", "Ana\u200b"),
    ):
        answer = await any_admin_api.post(f"/api/omni/{what}", json={"name": name}, headers=H)
        assert answer.status_code == 409, answer.text
        assert answer.json()["existing"] == holder
    kept = await any_admin_api.patch(
        "/api/omni/services/s1", json={"name": "Suporte\u200b", "hidden": True}, headers=H
    )
    assert kept.status_code == 200 and kept.json()["name"] == "Suporte\u200b"
    fixed = await any_admin_api.patch("/api/omni/agents/a1", json={"name": "Ana"}, headers=H)
    assert fixed.status_code == 200 and fixed.json()["name"] == "Ana"
