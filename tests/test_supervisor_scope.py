"""Supervisors as their own actor: an agent account flagged `supervisor` reads the supervisor
routes with its own token, only for the services it belongs to; a plain agent's token is refused
(403 `not_a_supervisor`); the admin token still reads everything. The scope SQL (audit log,
alerts, CSAT) on SQLite and PostgreSQL; the actions on live conversations are in
tests/test_supervisor_actions.py."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa

from store import care, labels, supervision
from store.supervision import SupervisorAction
from store.tables import conversations, queue_entries
from tests.conftest import admin_headers
from tests.test_supervision import T0, row, seeded

ROUTES = [
    "/api/supervisor/me",
    "/api/supervisor/agents",
    "/api/supervisor/services",
    "/api/supervisor/live",
    "/api/supervisor/period?from=2026-11-20&to=2026-11-20&tz=America/Sao_Paulo",
    "/api/supervisor/staffing",
    "/api/supervisor/alerts",
    "/api/supervisor/csat",
    "/api/supervisor/actions",
    "/api/supervisor/conversations",
]


def _scoped_rows(engine: sa.Engine) -> tuple[str, str]:
    """Suporte's known day (tests/test_supervision.py) plus a conversation of Vendas (c20),
    an action, an alert and a CSAT answer on each service."""
    suporte = seeded(engine)
    with engine.connect() as conn:
        vendas = conn.scalar(sa.text("SELECT id FROM services WHERE name = 'Vendas'"))
    with engine.begin() as conn:
        conn.execute(queue_entries.insert(), [row(20, vendas, "in_service", 30, 40, None)])
    for n, (conversation, service_id, name) in enumerate(
        [("c4", suporte, "Suporte"), ("c20", vendas, "Vendas")]
    ):
        at = T0 + timedelta(minutes=n)
        supervision.record_action(
            engine,
            SupervisorAction(f"sa{n}", conversation, "whisper", f"S{n}", "Ana", None, at),
        )
        care.add_alert(
            engine,
            care.Alert(f"al{n}", "silent", conversation, service_id, name, None, None, "x", at),
        )
        care.save_csat(
            engine,
            care.CsatAnswer(f"cs{n}", conversation, service_id, name, None, None, 5 - n, None, at),
        )
    return suporte, vendas


def test_the_scope_sql_keeps_to_the_supervisors_services(any_engine: sa.Engine) -> None:
    suporte, vendas = _scoped_rows(any_engine)
    assert supervision.agent_service_ids(any_engine, "nobody") == []
    assert supervision.conversation_in_services(any_engine, "c4", [suporte])
    assert not supervision.conversation_in_services(any_engine, "c4", [vendas])
    assert not supervision.conversation_in_services(any_engine, "c4", [])
    assert supervision.conversation_in_services(any_engine, "c20", [suporte, vendas])
    assert [a.id for a in supervision.list_actions(any_engine)] == ["sa1", "sa0"]
    assert [a.id for a in supervision.list_actions(any_engine, service_ids=[suporte])] == ["sa0"]
    assert [a.id for a in supervision.list_actions(any_engine, "c4", service_ids=[vendas])] == []
    assert supervision.list_actions(any_engine, service_ids=[]) == []
    assert [a.id for a in care.list_alerts(any_engine, service_ids=[vendas])] == ["al1"]
    assert [a.id for a in care.list_csat(any_engine, service_ids=[suporte])] == ["cs0"]
    assert len(care.list_alerts(any_engine)) == 2
    with any_engine.begin() as conn:
        conn.execute(
            conversations.insert(),
            [
                {"id": c, "workflow_id": c, "bot": "loja", "bot_version": 1, "contact_id": c,
                 "status": "ended", "created_at": T0, "updated_at": T0}
                for c in ("c1", "c20", "c99")
            ],
        )  # fmt: skip
    assert {c.id for c in labels.search(any_engine)} == {"c1", "c20", "c99"}
    assert [c.id for c in labels.search(any_engine, service_ids=[vendas])] == ["c20"]
    assert [c.id for c in labels.search(any_engine, tag="vip", service_ids=[suporte])] == ["c1"]
    assert labels.search(any_engine, tag="vip", service_ids=[vendas]) == []


async def _agent(api: httpx.AsyncClient, name: str, services: list[str], **extra: object) -> dict:
    made = await api.post(
        "/api/omni/agents",
        json={"name": name, "services": services, **extra},
        headers=admin_headers(),
    )
    assert made.status_code == 201, made.text
    return {**made.json(), "auth": {"Authorization": f"Bearer {made.json()['token']}"}}


async def test_a_supervisor_reads_only_its_services(any_admin_api, any_engine) -> None:  # type: ignore[no-untyped-def]
    api: httpx.AsyncClient = any_admin_api
    _scoped_rows(any_engine)
    carla = await _agent(api, "Carla", ["Suporte"], supervisor=True)
    duda = await _agent(api, "Duda", ["Vendas"], supervisor=True)
    eva = await _agent(api, "Eva", ["Suporte"])
    assert carla["supervisor"] is True and eva["supervisor"] is False
    strict = await api.post(
        "/api/omni/agents", json={"name": "X", "supervisor": "yes"}, headers=admin_headers()
    )
    assert strict.status_code == 422

    me = (await api.get("/api/supervisor/me", headers=carla["auth"])).json()
    assert me == {"admin": False, "agent_id": carla["id"], "name": "Carla", "services": ["Suporte"]}
    assert (await api.get("/api/supervisor/me", headers=admin_headers())).json()["admin"] is True

    def services(answer: httpx.Response, key: str = "service") -> set[str]:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items = body["services"] if isinstance(body, dict) else body
        return {item[key] for item in items}

    for path in ("/api/supervisor/live", "/api/supervisor/services", ROUTES[4], ROUTES[5]):
        assert services(await api.get(path, headers=carla["auth"])) == {"Suporte"}, path
        assert services(await api.get(path, headers=duda["auth"])) == {"Vendas"}, path
        assert services(await api.get(path, headers=admin_headers())) == {"Suporte", "Vendas"}
    agents = await api.get("/api/supervisor/agents", headers=duda["auth"])
    assert [a["name"] for a in agents.json()] == ["Duda"]
    agents = await api.get("/api/supervisor/agents", headers=carla["auth"])
    assert {a["name"] for a in agents.json()} == {"Ana", "Beto", "Caio", "Carla", "Eva"}
    alerts = await api.get("/api/supervisor/alerts", headers=carla["auth"])
    assert [a["conversation_id"] for a in alerts.json()] == ["c4"]
    csat = (await api.get("/api/supervisor/csat", headers=duda["auth"])).json()
    assert [a["conversation_id"] for a in csat["answers"]] == ["c20"]
    assert csat["average_by_service"] == {"Vendas": 4.0}
    actions = await api.get("/api/supervisor/actions", headers=duda["auth"])
    assert [a["conversation_id"] for a in actions.json()] == ["c20"]
    everything = await api.get("/api/supervisor/actions", headers=admin_headers())
    assert len(everything.json()) == 2

    # a plain agent, and a supervisor no more: 403 on every supervisor route
    off = await api.patch(
        f"/api/omni/agents/{duda['id']}", json={"supervisor": False}, headers=admin_headers()
    )
    assert off.status_code == 200 and off.json()["supervisor"] is False
    for path in ROUTES:
        for who in (eva, duda):
            refused = await api.get(path, headers=who["auth"])
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["code"] == "not_a_supervisor"
    null = await api.patch(
        f"/api/omni/agents/{duda['id']}", json={"supervisor": None}, headers=admin_headers()
    )
    assert null.status_code == 422
    # a supervisor's token opens no admin route
    denied = await api.get("/api/omni/services", headers=carla["auth"])
    assert denied.status_code == 401


async def test_a_transfer_takes_the_conversation_out_of_the_first_supervisors_reach(
    any_admin_api,
    any_engine,  # type: ignore[no-untyped-def]
) -> None:
    """c30 waited in Suporte, was transferred, and is now with Vendas: its notes and whispers
    are Vendas's. Suporte's supervisor reads it again only once it has ended."""
    api: httpx.AsyncClient = any_admin_api
    suporte, vendas = _scoped_rows(any_engine)
    carla = await _agent(api, "Carla", ["Suporte"], supervisor=True)
    duda = await _agent(api, "Duda", ["Vendas"], supervisor=True)
    moved = {**row(30, suporte, "transferred", 0, 10, 60), "conversation_id": "c30"}
    now_in_vendas = {**row(31, vendas, "in_service", 60, 70, None), "conversation_id": "c30"}
    with any_engine.begin() as conn:
        conn.execute(queue_entries.insert(), [moved, now_in_vendas])
        conn.execute(
            conversations.insert(),
            [{"id": "c30", "workflow_id": "w30", "bot": "loja", "bot_version": 1,
              "contact_id": "c30", "status": "active", "created_at": T0, "updated_at": T0}],
        )  # fmt: skip
    path = "/api/supervisor/conversations/c30/messages"
    refused = await api.get(path, headers=carla["auth"])
    assert refused.status_code == 403 and refused.json()["code"] == "outside_supervisor_scope"
    assert (await api.get(path, headers=duda["auth"])).status_code == 200
    reassign = await api.post(
        "/api/supervisor/conversations/c30/reassign",
        json={"agent": "no-such-agent"},
        headers=carla["auth"],
    )
    assert reassign.status_code == 403  # the conversation is checked before the target
    with any_engine.begin() as conn:
        conn.execute(
            queue_entries.update().where(queue_entries.c.id == "q31").values(status="finished")
        )
    assert (await api.get(path, headers=carla["auth"])).status_code == 200


async def test_a_supervisor_sees_only_its_services_in_a_shared_agents_list(
    any_admin_api,
    any_engine,  # type: ignore[no-untyped-def]
) -> None:
    api: httpx.AsyncClient = any_admin_api
    _scoped_rows(any_engine)
    duda = await _agent(api, "Duda", ["Vendas"], supervisor=True)
    await _agent(api, "Fabi", ["Suporte", "Vendas"])
    seen = await api.get("/api/supervisor/agents", headers=duda["auth"])
    assert {a["name"]: a["services"] for a in seen.json()} == {
        "Duda": ["Vendas"],
        "Fabi": ["Vendas"],
    }
    everything = await api.get("/api/supervisor/agents", headers=admin_headers())
    fabi = next(a for a in everything.json() if a["name"] == "Fabi")
    assert sorted(fabi["services"]) == ["Suporte", "Vendas"]


async def test_a_supervisor_names_a_target_service_as_transfers_find_it(
    any_admin_api,
    any_engine,  # type: ignore[no-untyped-def]
) -> None:
    """A supervisor of Suporte moving a conversation to "suporte" names its own service (names
    are one service in any case, accents or spacing); "vendas" stays outside its reach."""
    api: httpx.AsyncClient = any_admin_api
    _scoped_rows(any_engine)
    carla = await _agent(api, "Carla", ["Suporte"], supervisor=True)
    path = "/api/supervisor/conversations/c4/reassign"
    outside = await api.post(path, json={"service": "vendas"}, headers=carla["auth"])
    assert outside.status_code == 403 and outside.json()["code"] == "outside_supervisor_scope"
    own = await api.post(path, json={"service": " SUPORTE"}, headers=carla["auth"])
    # past the scope check: the seeded conversation has no workflow running any more
    assert own.json()["code"] == "conversation_ended", own.text
