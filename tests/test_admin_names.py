"""Names admins give are one name whatever the case, accents or spacing (services, agents,
wrap-up codes), quick-reply shortcuts are unique per scope, databases that already hold such
clashes migrate, and a service that published flows name is not renamed without saying so.
Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from store.db import run_alembic
from store.tables import quick_replies
from tests.conftest import admin_headers
from tests.test_omni_migration import row

pytestmark = pytest.mark.asyncio

H = admin_headers()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def flow(bot: str, service: str | None) -> str:
    """A bot whose Humano block names `service` (None: the integration's own)."""
    named = f"    service: {service}\n" if service else ""
    return (
        f"bot: {bot}\n"
        'human_service: {platform: omni_v2, omni_key: "KEY", wait_time_notice: never}\n'
        "start: humano\n"
        "blocks:\n"
        "  humano:\n"
        "    type: human\n"
        f"{named}"
        "    next: fim\n"
        "  fim: {type: end, text: Tchau}\n"
    )


async def publish(api: httpx.AsyncClient, bot: str, source: str) -> None:
    answer = await api.put(
        f"/api/bots/{bot}", content=source, headers={**H, "Content-Type": "text/yaml"}
    )
    assert answer.status_code in (200, 201), answer.text


async def made(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(path, json=body, headers=H)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_service_names_that_differ_in_case_accents_or_spaces_are_one_name(
    any_admin_api: httpx.AsyncClient,
) -> None:
    await made(any_admin_api, "/api/omni/services", {"name": "Cobrança"})
    vendas = await made(any_admin_api, "/api/omni/services", {"name": "Vendas"})
    for typed in ("cobranca", "COBRANÇA", " Cobrança  ", "Cobranc\u0327a", "cobrança"):
        answer = await any_admin_api.post("/api/omni/services", json={"name": typed}, headers=H)
        assert answer.status_code == 409, typed
        assert answer.json()["code"] == "duplicate_service_name"
        assert answer.json()["existing"] == "Cobrança"  # the page names the one that exists
        assert "'Cobrança' already exists" in answer.json()["detail"]
    url = f"/api/omni/services/{vendas['id']}"
    renamed = await any_admin_api.patch(url, json={"name": "COBRANCA"}, headers=H)
    assert renamed.status_code == 409 and renamed.json()["existing"] == "Cobrança"
    listed = (await any_admin_api.get("/api/omni/services", headers=H)).json()
    assert [s["name"] for s in listed] == ["Cobrança", "Vendas"]
    # a service may change the case of its own name
    own = await any_admin_api.patch(url, json={"name": "VENDAS"}, headers=H)
    assert own.status_code == 200 and own.json()["name"] == "VENDAS"


async def test_two_admins_creating_one_name_at_once_get_one_service(
    any_admin_api: httpx.AsyncClient,
) -> None:
    """Both pass the store's check when they race; the unique index on the normal form takes
    one, and the other's 409 names the one that won."""
    answers = await asyncio.gather(
        *(
            any_admin_api.post("/api/omni/services", json={"name": name}, headers=H)
            for name in ("Suporte", "suporte", "SUPORTE")
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
    winner = next(a.json()["name"] for a in answers if a.status_code == 201)
    assert all(a.json()["existing"] == winner for a in answers if a.status_code == 409)
    listed = (await any_admin_api.get("/api/omni/services", headers=H)).json()
    assert [s["name"] for s in listed] == [winner]


async def test_a_name_typed_in_decomposed_unicode_is_stored_composed(
    any_admin_api: httpx.AsyncClient,
) -> None:
    """macOS and some keyboards send "ç" as "c" + a combining cedilla: stored as every other
    "ç", so a flow's `service: Cobrança` finds it byte for byte."""
    created = await made(any_admin_api, "/api/omni/services", {"name": "Cobranc\u0327a"})
    assert created["name"] == "Cobrança" and created["name"].encode() == "Cobrança".encode()
    agent = await made(any_admin_api, "/api/omni/agents", {"name": "Jose\u0301", "services": []})
    assert agent["name"] == "José"


async def test_agent_names_likewise(any_admin_api: httpx.AsyncClient) -> None:
    await made(any_admin_api, "/api/omni/agents", {"name": "José Silva"})
    other = await made(any_admin_api, "/api/omni/agents", {"name": "Maria"})
    for typed in ("jose silva", "JOSÉ  SILVA"):
        answer = await any_admin_api.post("/api/omni/agents", json={"name": typed}, headers=H)
        assert answer.status_code == 409, typed
        assert answer.json()["code"] == "duplicate_agent_name"
        assert answer.json()["existing"] == "José Silva"
    url = f"/api/omni/agents/{other['id']}"
    renamed = await any_admin_api.patch(url, json={"name": "Jose Silva"}, headers=H)
    assert renamed.status_code == 409 and renamed.json()["existing"] == "José Silva"


async def test_wrapup_codes_that_differ_only_in_case_or_accents_are_refused(
    any_admin_api: httpx.AsyncClient,
) -> None:
    body = {"name": "Suporte", "wrapup": {"required": True, "codes": ["Venda", "vénda"]}}
    answer = await any_admin_api.post("/api/omni/services", json=body, headers=H)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][:2] == ["body", "wrapup"]
    created = await made(any_admin_api, "/api/omni/services", {"name": "Suporte"})
    url = f"/api/omni/services/{created['id']}"
    patched = await any_admin_api.patch(url, json={"wrapup": body["wrapup"]}, headers=H)
    assert patched.status_code == 422


async def test_renaming_a_service_that_published_flows_name_is_409_with_the_bots(
    any_admin_api: httpx.AsyncClient,
) -> None:
    suporte = await made(any_admin_api, "/api/omni/services", {"name": "Suporte"})
    vendas = await made(any_admin_api, "/api/omni/services", {"name": "Vendas"})
    await publish(any_admin_api, "loja", flow("loja", "Suporte"))
    await publish(any_admin_api, "sac", flow("sac", "Suporte"))
    await publish(any_admin_api, "antigo", flow("antigo", "Suporte"))
    await publish(any_admin_api, "antigo", flow("antigo", "Vendas"))  # its newest: Vendas
    await publish(any_admin_api, "padrao", flow("padrao", None))  # the key's own service
    url = f"/api/omni/services/{suporte['id']}"

    refused = await any_admin_api.patch(url, json={"name": "Atendimento"}, headers=H)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "service_in_use"
    assert refused.json()["bots"] == ["loja", "sac"]
    assert refused.json()["service"] == "Suporte"
    case_only = await any_admin_api.patch(url, json={"name": "suporte"}, headers=H)
    assert case_only.status_code == 409  # flows name it byte for byte
    still = (await any_admin_api.get(url, headers=H)).json()
    assert still["name"] == "Suporte" and still["revision"] == 1
    # other fields change freely, the same name sent along (the page sends the whole form)
    kept = await any_admin_api.patch(url, json={"name": "Suporte", "hidden": True}, headers=H)
    assert kept.status_code == 200 and kept.json()["bots_to_update"] == []

    forced = await any_admin_api.patch(
        url, params={"force": "true"}, json={"name": "Atendimento"}, headers=H
    )
    assert forced.status_code == 200, forced.text
    assert forced.json()["name"] == "Atendimento"
    assert forced.json()["bots_to_update"] == ["loja", "sac"]
    # a service no newest version names renames without a word
    free = await any_admin_api.patch(
        f"/api/omni/services/{vendas['id']}", json={"name": "Comercial"}, headers=H
    )
    assert free.status_code == 409 and free.json()["bots"] == ["antigo"]


async def test_a_database_with_clashing_names_migrates_and_keeps_them(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """Rows made before migration 0020 that clash stay as they were (nothing renamed: flows
    name services); new names that clash with any of them are refused; the later row of a
    pair is still editable, and repeated quick-reply shortcuts get numbered ones."""
    run_alembic(any_engine, "downgrade", "0019")
    notifications = {"enabled": False, "interval_seconds": 60, "cards": []}
    with any_engine.begin() as conn:
        for n, name in enumerate(["Suporte", "suporte "]):
            row(conn, "services", id=f"x{n}", name=name, queue_notifications=notifications,
                created_at=T0.replace(minute=n), extension=None)  # fmt: skip
        for n, name in enumerate(["Ana", "ANA"]):
            row(conn, "agents", id=f"a{n}", name=name, token_hash=f"h{n}", created_at=T0)
        for n, scope in enumerate([None, None, None, "x0", "x0", "x1"]):
            row(conn, "quick_replies", id=f"qr{n}", shortcut="/boleto", service_id=scope,
                created_at=T0.replace(minute=n))  # fmt: skip
    run_alembic(any_engine, "upgrade", "head")

    services = (await any_admin_api.get("/api/omni/services", headers=H)).json()
    assert [s["name"] for s in services] == ["Suporte", "suporte "]
    for name in ("SUPORTE", "Suporte"):
        answer = await any_admin_api.post("/api/omni/services", json={"name": name}, headers=H)
        assert answer.status_code == 409 and answer.json()["existing"] == "Suporte"
    answer = await any_admin_api.post("/api/omni/agents", json={"name": "ana"}, headers=H)
    assert answer.status_code == 409 and answer.json()["existing"] == "Ana"
    # the later of the pair: editable with its name as it is, renamable to a free name
    later = "/api/omni/services/x1"
    edited = await any_admin_api.patch(later, json={"name": "suporte", "hidden": True}, headers=H)
    assert edited.status_code == 200, edited.text
    # the page sends it trimmed: the same name, kept as stored (flows name those bytes)
    assert edited.json()["name"] == "suporte " and edited.json()["hidden"] is True
    # without the first one, the later one holds the name
    assert (await any_admin_api.delete("/api/omni/services/x0", headers=H)).status_code == 204
    answer = await any_admin_api.post("/api/omni/services", json={"name": "Suporte"}, headers=H)
    assert answer.status_code == 409 and answer.json()["existing"] == "suporte "
    renamed = await any_admin_api.patch(later, json={"name": "Suporte N2"}, headers=H)
    assert renamed.status_code == 200, renamed.text
    answer = await any_admin_api.post("/api/omni/services", json={"name": "SUPORTE n2"}, headers=H)
    assert answer.status_code == 409 and answer.json()["existing"] == "Suporte N2"

    replies = (await any_admin_api.get("/api/omni/quick-replies", headers=H)).json()
    by_scope = sorted((r["service"] or "", r["shortcut"]) for r in replies)
    assert by_scope == [
        ("", "/boleto"),
        ("", "/boleto-2"),
        ("", "/boleto-3"),
        ("Suporte N2", "/boleto"),
    ]  # fmt: skip  (x0's two went with it)


async def test_a_shortcut_is_unique_in_its_scope_even_past_the_stores_check(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """Two admins saving `/boleto` at once both pass the store's check; the database's unique
    indexes (one per scope) take one of them. The same shortcut in two scopes is fine."""
    suporte = await made(any_admin_api, "/api/omni/services", {"name": "Suporte"})
    await made(
        any_admin_api, "/api/omni/quick-replies", {"shortcut": "/boleto", "title": "B", "text": "x"}
    )
    await made(
        any_admin_api,
        "/api/omni/quick-replies",
        {"shortcut": "/boleto", "title": "B", "text": "x", "service": "Suporte"},
    )
    for scope in (None, suporte["id"]):
        with pytest.raises(IntegrityError), any_engine.begin() as conn:
            conn.execute(
                sa.insert(quick_replies).values(
                    id=f"qr_race_{scope}", shortcut="/boleto", title="B", text="y",
                    service_id=scope, created_at=T0, updated_at=T0,
                )
            )  # fmt: skip
