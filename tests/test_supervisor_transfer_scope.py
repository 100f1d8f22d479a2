"""A supervisor limited to some services and a conversation a transfer took through others
(the rule: api/supervisor_scope.py): the conversation is visible, the other services' agents,
notes, whispers, labels and audit entries are not; a conversation never in its services is
403 `outside_supervisor_scope` on every route. Real HTTP over the app, real SQLite, the real
Temporal test server: the conversation really transfers Suporte → Financeiro → Suporte."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from api.usecases.supervisor_redaction import owners
from store import supervision
from store.supervision import Passage
from store.tables import (
    conversation_labels,
    conversations,
    messages,
    queue_entries,
    services,
)
from tests.conftest import admin_headers, running_stack
from tests.live import eventually
from tests.test_desk import say
from tests.test_handoff import publish, setup_omni
from tests.test_supervision import T0, row, seeded


def flow(key: str) -> str:
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}"}}
start: inicio
blocks:
  inicio: {{type: question, text: "Qual o seu CPF?", save_as: cpf, next: humano}}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir.
    show_agent_name: true
    on: {{finished: fim, closed: fim, abandoned: fim, unavailable: fim, no_agents: fim,
          voicemail: fim}}
  fim: {{type: end, text: Até logo!}}
"""


async def _supervisor(http: httpx.AsyncClient, name: str, service: str) -> dict[str, str]:
    made = await http.post(
        "/api/omni/agents",
        json={"name": name, "services": [service], "supervisor": True},
        headers=admin_headers(),
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def _ok(answer: Any) -> Any:
    response = await answer
    assert response.status_code == 200, response.text
    return response.json()


def _names(entries: list[dict]) -> set[str]:
    """Every person named in the entries' texts and data (agents and supervisors here)."""
    people = {"Ana", "Beto", "Caio", "Sara", "Fabio"}
    found = set()
    for entry in entries:
        words = f"{entry['text']} {entry.get('data')}"
        found |= {name for name in people if name in words}
    return found


async def test_a_transferred_conversation_shows_each_supervisor_only_its_services_part(
    time_env, settings, engine
) -> None:
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)  # Suporte: Ana, Beto; Financeiro: Caio
        ana, beto, caio = omni.agent("Ana"), omni.agent("Beto"), omni.agent("Caio")
        sara = await _supervisor(http, "Sara", "Suporte")
        fabio = await _supervisor(http, "Fabio", "Financeiro")
        vera = await _supervisor(http, "Vera", "Diretoria")  # never in this conversation
        admin = admin_headers()
        await publish(http, flow(omni.key))
        await say(http, "5511", "m1", "oi")
        conversation = (await say(http, "5511", "m2", "123"))["conversation_id"]
        agent = f"/api/agent/conversations/{conversation}"
        sup = f"/api/supervisor/conversations/{conversation}"
        monitor = f"{sup}/messages"

        async def served(headers: dict[str, str], text: str) -> None:
            await _ok(http.post(f"{agent}/notes", json={"text": f"nota {text}"}, headers=headers))
            await _ok(http.post(f"{agent}/messages", json={"text": text}, headers=headers))

        # Suporte: Ana serves, Sara whispers; then to Financeiro: Caio serves, Fabio whispers
        await _ok(http.post(f"{agent}/pickup", headers=ana))
        await served(ana, "do Suporte")
        await _ok(http.post(f"{sup}/whisper", json={"text": "dica de Sara"}, headers=sara))
        await _ok(http.post(f"{agent}/transfer", json={"service": "Financeiro"}, headers=ana))
        await _ok(http.post(f"{agent}/pickup", headers=caio))
        await served(caio, "do Financeiro")
        await _ok(http.post(f"{sup}/whisper", json={"text": "dica de Fabio"}, headers=fabio))

        async def logged(*texts: str) -> list[dict] | None:
            log = (await http.get(monitor, headers=admin)).json()
            return log if set(texts) <= {m["text"] for m in log} else None

        await eventually(lambda: logged("dica de Fabio", "nota do Financeiro"), "Caio's part")

        # in Financeiro now: the live monitor is Financeiro's; Suporte's search keeps to Ana
        refused = await http.get(monitor, headers=sara)
        assert refused.status_code == 403 and refused.json()["code"] == "outside_supervisor_scope"
        [listed] = await _ok(http.get("/api/supervisor/conversations", headers=sara))
        assert (listed["service"], listed["agent"], listed["agents"]) == (
            "Financeiro",
            None,
            ["Ana"],
        )
        [listed] = await _ok(http.get("/api/supervisor/conversations", headers=fabio))
        assert (listed["agent"], listed["agents"]) == ("Caio", ["Caio"])
        seen = await _ok(http.get(monitor, headers=fabio))
        texts = [m["text"] for m in seen]
        assert "nota do Financeiro" in texts and "dica de Fabio" in texts
        assert "nota do Suporte" not in texts and "dica de Sara" not in texts
        assert "do Suporte" in texts  # what Ana told the customer stays, without her name
        assert _names(seen) == {"Caio", "Fabio"}
        assert "Você está sendo atendido por um de nossos especialistas." in texts

        # back to Suporte: Beto picks it up, Sara passes it to Ana, Ana finishes
        await _ok(http.post(f"{agent}/transfer", json={"service": "Suporte"}, headers=caio))
        await _ok(http.post(f"{agent}/pickup", headers=beto))
        await served(beto, "da volta")
        moved = http.post(f"{sup}/reassign", json={"agent": omni.agents["Ana"]["id"]}, headers=sara)
        await _ok(moved)
        await served(ana, "depois da troca")
        await eventually(lambda: logged("nota depois da troca"), "Ana's second part")
        seen = await _ok(http.get(monitor, headers=sara))  # live again: Suporte has it
        texts = [m["text"] for m in seen]
        assert {"nota do Suporte", "dica de Sara", "nota da volta", "nota depois da troca"} <= set(
            texts
        )
        assert "nota do Financeiro" not in texts and "dica de Fabio" not in texts
        assert "do Financeiro" in texts
        assert _names(seen) == {"Ana", "Beto", "Sara"}
        await _ok(
            http.post(
                f"{agent}/finish", json={"return_to_bot": True, "tags": ["volta"]}, headers=ana
            )
        )

        # ended: each supervisor's search, tag search and audit keep to its own services
        search = "/api/supervisor/conversations"
        [listed] = await _ok(http.get(search, headers=sara))
        assert (listed["agent"], listed["agents"], listed["tags"]) == ("Ana", ["Ana"], ["volta"])
        [listed] = await _ok(http.get(search, headers=fabio))
        assert (listed["agent"], listed["agents"], listed["tags"]) == (None, ["Caio"], [])
        [listed] = await _ok(http.get(search, headers=admin))
        assert (listed["agent"], listed["agents"]) == ("Ana", ["Ana", "Caio"])
        assert len(await _ok(http.get(f"{search}?tag=volta", headers=sara))) == 1
        assert await _ok(http.get(f"{search}?tag=volta", headers=fabio)) == []
        other = await http.get(f"{search}?service=Suporte", headers=fabio)
        assert other.status_code == 403 and other.json()["code"] == "outside_supervisor_scope"
        assert len(await _ok(http.get(f"{search}?service=suporte", headers=sara))) == 1

        audit = f"/api/supervisor/actions?conversation_id={conversation}"
        assert [a["supervisor"] for a in await _ok(http.get(audit, headers=sara))] == [
            "Sara",
            "Sara",
        ]
        assert [a["supervisor"] for a in await _ok(http.get(audit, headers=fabio))] == ["Fabio"]
        assert len(await _ok(http.get(audit, headers=admin))) == 3
        seen = await _ok(http.get(monitor, headers=fabio))
        assert _names(seen) == {"Caio", "Fabio"}
        assert len(await _ok(http.get(monitor, headers=admin))) > len(seen)

        # never in Diretoria: 403 on every route naming it, absent from every list
        for path in (monitor, audit):
            refused = await http.get(path, headers=vera)
            assert refused.status_code == 403, path
            assert refused.json()["code"] == "outside_supervisor_scope"
        for path in (search, "/api/supervisor/actions", "/api/supervisor/conversations/open"):
            assert await _ok(http.get(path, headers=vera)) == [], path
        for action in ("whisper", "barge-in"):
            refused = await http.post(f"{sup}/{action}", json={"text": "x"}, headers=vera)
            assert refused.status_code == 403, action


def test_entries_go_to_the_service_of_the_last_pickup_and_fail_closed_otherwise() -> None:
    trail = [
        Passage("suporte", "Ana", True),
        Passage("financeiro", None, False),  # transferred on, abandoned before a pickup
        Passage("financeiro", "Caio", True),
    ]
    assert owners(trail, [5, 9], 4) == {"suporte", "financeiro"}  # before any pickup
    assert owners(trail, [5, 9], 5) == {"suporte"}
    assert owners(trail, [5, 9], 8) == {"suporte"}
    assert owners(trail, [5, 9], 12) == {"financeiro"}
    # a pickup notice missing from the log (or one too many): nobody's part is known
    assert owners(trail, [5], 12) == {"suporte", "financeiro"}
    assert owners(trail, [5, 9, 11], 6) == {"suporte", "financeiro"}
    assert owners([], [], 1) == frozenset()


def test_the_trail_sql_on_both_databases(any_engine: sa.Engine) -> None:
    """`passages` in the order the entries ran, `pickups` without a take-over's notice,
    `labels_in` of the named services only (SQLite and PostgreSQL)."""
    suporte = seeded(any_engine)
    with any_engine.begin() as conn:
        vendas = conn.scalar(sa.select(services.c.id).where(services.c.name == "Vendas"))
        conn.execute(
            queue_entries.insert(),
            [
                {**row(40, suporte, "transferred", 0, 5, 10), "conversation_id": "c40"},
                {**row(41, vendas, "finished", 10, 12, 20), "conversation_id": "c40"},
            ],
        )
        conn.execute(
            conversations.insert().values(
                id="c40", workflow_id="w40", bot="loja", bot_version=1, contact_id="c40",
                status="ended", created_at=T0, updated_at=T0,
            )
        )  # fmt: skip
        pickup = "Você está sendo atendido por {}."
        entries = [
            (1, "notice", pickup.format("Ana")),
            (2, "note", "n1"),
            (3, "supervisor_notice", "Supervisor Sara passou o atendimento para Beto."),
            (4, "notice", pickup.format("Beto")),
            (5, "notice", "Transferindo para Vendas."),
            (6, "notice", pickup.format("Caio")),
        ]
        conn.execute(
            messages.insert(),
            [
                {"conversation_id": "c40", "seq": seq, "sender": "agent" if kind == "note" else
                 "system", "kind": kind, "text": text, "created_at": T0}
                for seq, kind, text in entries
            ],
        )  # fmt: skip
        conn.execute(
            conversation_labels.insert(),
            [
                {"conversation_id": "c40", "kind": kind, "value": value, "service": service,
                 "agent": None, "created_at": T0}
                for kind, value, service in [("tag", "a", "Suporte"), ("wrapup", "b", "Vendas")]
            ],
        )  # fmt: skip
    trail = supervision.passages(any_engine, ["c40", "nada"])["c40"]
    assert [p.service_id for p in trail] == [suporte, vendas]
    assert [seq for seq, _ in supervision.pickups(any_engine, "c40")] == [1, 6]
    assert supervision.labels_in(any_engine, ["c40"], ["Suporte"]) == {"c40": (["a"], [])}
    assert supervision.labels_in(any_engine, ["c40"], ["Vendas"]) == {"c40": ([], ["b"])}
    assert supervision.labels_in(any_engine, ["c40"], []) == {}
