"""A conversation a transfer took through several services, read by supervisors limited to
some services (the rule: api/supervisor_scope.py). The context travels with the conversation:
a supervisor of any service it was queued in reads it whole, as the agents who received it do;
while another service has it, the monitor and the actions are that service's; a supervisor of
a service it never touched gets 403 `outside_supervisor_scope` and finds it in no list. Real
HTTP over the app, real SQLite, the real Temporal test server: it really transfers."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import admin_headers, running_stack
from tests.live import eventually
from tests.test_desk import say
from tests.test_handoff import publish, setup_omni


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


def _refused(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["code"] == "outside_supervisor_scope"


async def test_a_transferred_conversation_is_read_whole_by_the_supervisors_of_its_services(
    time_env, settings, engine
) -> None:
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)  # Suporte: Ana, Beto; Financeiro: Caio
        ana, caio = omni.agent("Ana"), omni.agent("Caio")
        sara = await _supervisor(http, "Sara", "Suporte")
        fabio = await _supervisor(http, "Fabio", "Financeiro")
        vera = await _supervisor(http, "Vera", "Diretoria")  # never in this conversation
        await publish(http, flow(omni.key))
        await say(http, "5511", "m1", "oi")
        conversation = (await say(http, "5511", "m2", "123"))["conversation_id"]
        agent = f"/api/agent/conversations/{conversation}"
        sup = f"/api/supervisor/conversations/{conversation}"
        monitor, search = f"{sup}/messages", "/api/supervisor/conversations"

        await _ok(http.post(f"{agent}/pickup", headers=ana))
        await _ok(http.post(f"{agent}/notes", json={"text": "nota do Suporte"}, headers=ana))
        await _ok(http.post(f"{agent}/transfer", json={"service": "Financeiro"}, headers=ana))
        await _ok(http.post(f"{agent}/pickup", headers=caio))
        await _ok(http.post(f"{agent}/notes", json={"text": "nota do Financeiro"}, headers=caio))
        await _ok(http.post(f"{sup}/whisper", json={"text": "dica de Fabio"}, headers=fabio))

        async def logged(headers: dict[str, str], *texts: str) -> list[dict] | None:
            log = (await http.get(monitor, headers=headers)).json()
            return log if set(texts) <= {m["text"] for m in log} else None

        # Financeiro has it now: its agent and supervisor read Suporte's part too (context)
        await eventually(lambda: logged(fabio, "nota do Suporte", "dica de Fabio"), "Fabio")
        seen = await _ok(http.get(f"{agent}/messages", headers=caio))
        assert "nota do Suporte" in {m["text"] for m in seen}
        # ... and Suporte's supervisor neither monitors nor acts on it meanwhile
        assert _refused(await http.get(monitor, headers=sara))
        assert _refused(await http.post(f"{sup}/whisper", json={"text": "x"}, headers=sara))
        [listed] = await _ok(http.get(search, headers=sara))  # still in Sara's search
        assert listed["conversation_id"] == conversation

        await _ok(http.post(f"{agent}/finish", json={"return_to_bot": True}, headers=caio))
        # ended: Suporte's supervisor reads it whole, Financeiro's part included
        await eventually(lambda: logged(sara, "nota do Financeiro", "dica de Fabio"), "Sara")

        # never in Diretoria: 403 on every route naming it, absent from every list
        audit = f"/api/supervisor/actions?conversation_id={conversation}"
        for path in (monitor, audit):
            assert _refused(await http.get(path, headers=vera)), path
        for path in (search, "/api/supervisor/actions", "/api/supervisor/conversations/open"):
            assert await _ok(http.get(path, headers=vera)) == [], path
        for action in ("whisper", "barge-in"):
            refused = await http.post(f"{sup}/{action}", json={"text": "x"}, headers=vera)
            assert _refused(refused), action
