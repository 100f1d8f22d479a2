"""The supervisor on a live conversation over HTTP: monitor, whisper, barge-in, take-over,
reassign to an agent or a service, and the audit log (issue 14 item 7)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import admin_headers, conversation_handle, conversation_wid, running_stack
from tests.live import eventually
from tests.test_desk import flow, say
from tests.test_handoff import Receiver, publish, setup_omni

pytestmark = pytest.mark.asyncio


async def test_whisper_barge_in_take_over_reassign_and_audit(time_env, settings, engine):
    receiver = Receiver(failures=0)
    admin = admin_headers()
    try:
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, webhook={"enabled": True, "url": receiver.url})
            ana, beto, caio = omni.agent("Ana"), omni.agent("Beto"), omni.agent("Caio")
            await publish(http, flow(omni.key))
            await say(http, "5511", "m1", "oi")
            conversation = (await say(http, "5511", "m2", "123"))["conversation_id"]
            base = f"/api/agent/conversations/{conversation}"
            sup = f"/api/supervisor/conversations/{conversation}"

            # nothing to supervise while the conversation only waits
            waiting = await http.post(f"{sup}/whisper", json={"text": "x"}, headers=admin)
            assert waiting.status_code == 409 and waiting.json()["code"] == "not_in_service"
            unknown = await http.post(
                "/api/supervisor/conversations/nada/whisper", json={"text": "x"}, headers=admin
            )
            assert unknown.status_code == 404
            assert (await http.post(f"{base}/pickup", headers=ana)).status_code == 200

            # whisper: the agent sees it, marked; the customer never
            whispered = await http.post(
                f"{sup}/whisper",
                json={"text": "ofereça o parcelamento", "supervisor": "Carla"},
                headers=admin,
            )
            assert whispered.status_code == 200, whispered.text
            entry = whispered.json()["message"]
            assert entry["kind"] == "whisper" and entry["data"] == {"supervisor": "Carla"}
            blank = await http.post(f"{sup}/whisper", json={"text": ""}, headers=admin)
            assert blank.status_code == 422
            plain = await http.post(f"{sup}/whisper", json={"text": "x"}, headers=ana)
            assert plain.status_code == 403 and plain.json()["code"] == "not_a_supervisor"

            # barge-in: the customer gets it, from the supervisor
            barged = await http.post(
                f"{sup}/barge-in",
                json={"text": "Olá, sou a supervisora.", "supervisor": "Carla"},
                headers=admin,
            )
            assert barged.status_code == 200, barged.text
            assert barged.json()["message"]["from"] == "supervisor"
            turn = await say(http, "5511", "m3", "obrigada")
            assert turn["replies"] == [] or all(r["kind"] != "whisper" for r in turn["replies"])
            url = f"/api/conversations/{conversation}/messages"

            async def recorded() -> list[dict] | None:
                """The log trails the workflow (the pump may record the whisper after the
                API's read-your-writes turn)."""
                log = (await http.get(url, headers=admin)).json()
                wanted = {"obrigada", "ofereça o parcelamento"}
                return log if wanted <= {m["text"] for m in log} else None

            monitor = await eventually(recorded, "the log")  # the supervisor's monitor
            assert [m["kind"] for m in monitor if m["text"] == "ofereça o parcelamento"] == [
                "whisper"
            ]
            customer = (await http.get(url)).json()
            texts = [m["text"] for m in customer]
            assert "Olá, sou a supervisora." in texts
            assert "ofereça o parcelamento" not in texts
            assert all(m["kind"] != "whisper" for m in customer)
            agent_sees = (await http.get(f"{base}/messages", headers=ana)).json()
            assert any(m["kind"] == "whisper" for m in agent_sees)

            # take-over: the supervisor's agent account (Beto) has it now; Ana is told
            beto_id = omni.agents["Beto"]["id"]
            taken = await http.post(
                f"{sup}/take-over", json={"agent": beto_id, "supervisor": "Carla"}, headers=admin
            )
            assert taken.status_code == 200, taken.text
            assert taken.json()["agent"] == "Beto" and taken.json()["status"] == "in_service"
            refused = await http.post(f"{base}/messages", json={"text": "oi"}, headers=ana)
            assert refused.status_code == 403
            sent = await http.post(f"{base}/messages", json={"text": "Aqui é o Beto"}, headers=beto)
            assert sent.status_code == 200, sent.text
            unnamed = await http.post(f"{sup}/take-over", json={}, headers=admin)
            assert unnamed.status_code == 400 and unnamed.json()["code"] == "bad_request"
            nobody = await http.post(f"{sup}/take-over", json={"agent": "ag_nada"}, headers=admin)
            assert nobody.status_code == 404 and nobody.json()["code"] == "no_such_agent"

            # reassign to a service: back in a queue, the agent freed; Caio picks it up
            both = await http.post(
                f"{sup}/reassign", json={"agent": beto_id, "service": "Financeiro"}, headers=admin
            )
            assert both.status_code == 422
            moved = await http.post(
                f"{sup}/reassign",
                json={"service": "Financeiro", "supervisor": "Carla"},
                headers=admin,
            )
            assert moved.status_code == 200, moved.text
            assert moved.json()["status"] == "waiting" and moved.json()["service"] == "Financeiro"
            picked = await http.post(f"{base}/pickup", headers=caio)
            assert picked.status_code == 200, picked.text
            kinds = {m["kind"] for m in picked.json()["transcript"]}
            assert {"whisper", "supervisor_notice"} <= kinds
            notices = [
                m["text"] for m in picked.json()["transcript"] if m["kind"] == "supervisor_notice"
            ]
            assert notices == [
                "Supervisor Carla assumiu o atendimento.",
                "Supervisor Carla transferiu o atendimento para Financeiro.",
            ]
            # ... and to an agent
            ana_id = omni.agents["Ana"]["id"]
            back = await http.post(f"{sup}/reassign", json={"agent": ana_id}, headers=admin)
            assert back.status_code == 200 and back.json()["agent"] == "Ana"

            # the audit log: who, when, what
            audit = await http.get(
                "/api/supervisor/actions", params={"conversation_id": conversation}, headers=admin
            )
            assert audit.status_code == 200
            rows = audit.json()
            assert [r["action"] for r in reversed(rows)] == [
                "whisper",
                "barge_in",
                "take_over",
                "reassign",
                "reassign",
            ]
            assert [(r["agent"], r["target"]) for r in reversed(rows)] == [
                ("Ana", None),
                ("Ana", None),
                ("Ana", "Beto"),
                ("Beto", "Financeiro"),
                ("Caio", "Ana"),
            ]
            assert {r["supervisor"] for r in rows} == {"Carla", "Supervisor"}
            assert all(r["created_at"] for r in rows)
            assert (await http.get("/api/supervisor/actions", headers=ana)).status_code == 403

            customer = [m["text"] for m in (await http.get(url)).json()]
            assert not any(t and t.startswith("Supervisor Carla") for t in customer)
            done = await http.post(f"{base}/finish", json={"return_to_bot": False}, headers=ana)
            assert done.status_code == 200, done.text
            handle = conversation_handle(time_env, conversation_wid("loja", "5511"))
            async with time_env.time_skipping_unlocked():
                await handle.result()
    finally:
        receiver.close()
    events = [json.loads(body) for _, body in receiver.received]
    messages = [e["data"].get("text") for e in events if e["type"] == "conversation.message"]
    assert "Olá, sou a supervisora." in messages
    assert "ofereça o parcelamento" not in messages


async def test_a_supervisor_acts_with_its_own_token_on_its_services_only(
    time_env, settings, engine
):
    """Beto supervises Suporte, Caio Financeiro (their own tokens): the audit and the notices
    name the account whatever the body says; a take-over is by the caller's own account; the
    other service's supervisor, and a plain agent, are refused."""
    admin = admin_headers()
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        ana, beto, caio = omni.agent("Ana"), omni.agent("Beto"), omni.agent("Caio")
        for name in ("Beto", "Caio"):
            agent_id = omni.agents[name]["id"]
            made = await http.patch(
                f"/api/omni/agents/{agent_id}", json={"supervisor": True}, headers=admin
            )
            assert made.status_code == 200 and made.json()["supervisor"] is True
        await publish(http, flow(omni.key))
        await say(http, "5512", "m1", "oi")
        conversation = (await say(http, "5512", "m2", "123"))["conversation_id"]
        base = f"/api/agent/conversations/{conversation}"
        sup = f"/api/supervisor/conversations/{conversation}"
        assert (await http.post(f"{base}/pickup", headers=ana)).status_code == 200

        # Caio supervises Financeiro: nothing of this Suporte conversation
        for method, path, body in [
            ("POST", f"{sup}/whisper", {"text": "x"}),
            ("POST", f"{sup}/take-over", {}),
            ("GET", f"{sup}/messages", None),
            ("GET", f"/api/supervisor/actions?conversation_id={conversation}", None),
        ]:
            refused = await http.request(method, path, json=body, headers=caio)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["code"] == "outside_supervisor_scope"
        plain = await http.get(f"{sup}/messages", headers=ana)
        assert plain.status_code == 403 and plain.json()["code"] == "not_a_supervisor"

        # Beto whispers: signed with his account's name, not the body's text
        whispered = await http.post(
            f"{sup}/whisper", json={"text": "cuidado", "supervisor": "Outro"}, headers=beto
        )
        assert whispered.status_code == 200, whispered.text
        assert whispered.json()["message"]["data"] == {"supervisor": "Beto"}

        async def monitored() -> list[dict] | None:
            log = (await http.get(f"{sup}/messages", headers=beto)).json()
            return log if any(m["kind"] == "whisper" for m in log) else None

        await eventually(monitored, "the whisper in the supervisor's monitor")
        # targets outside his services are refused: Financeiro, and Caio who works it
        caio_id = omni.agents["Caio"]["id"]
        for body in ({"service": "Financeiro"}, {"agent": caio_id}):
            refused = await http.post(f"{sup}/reassign", json=body, headers=beto)
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "outside_supervisor_scope"

        # take-over: Beto's own account, whatever `agent` says
        ana_id = omni.agents["Ana"]["id"]
        taken = await http.post(f"{sup}/take-over", json={"agent": ana_id}, headers=beto)
        assert taken.status_code == 200, taken.text
        assert taken.json()["agent"] == "Beto"
        sent = await http.post(f"{base}/messages", json={"text": "Aqui é o Beto"}, headers=beto)
        assert sent.status_code == 200, sent.text

        audit = await http.get("/api/supervisor/actions", headers=beto)
        assert [(r["action"], r["supervisor"]) for r in reversed(audit.json())] == [
            ("whisper", "Beto"),
            ("take_over", "Beto"),
        ]
        assert (await http.get("/api/supervisor/actions", headers=caio)).json() == []

        async def noticed() -> list[str] | None:
            log = (await http.get(f"{base}/messages", headers=beto)).json()
            notices = [m["text"] for m in log if m["kind"] == "supervisor_notice"]
            return notices or None

        notices = await eventually(noticed, "the take-over notice")
        assert notices == ["Supervisor Beto assumiu o atendimento."]
        done = await http.post(f"{base}/finish", json={"return_to_bot": False}, headers=beto)
        assert done.status_code == 200, done.text
        handle = conversation_handle(time_env, conversation_wid("loja", "5512"))
        async with time_env.time_skipping_unlocked():
            await handle.result()
