"""Record histories of real conversations for the replay tests: `python -m tests.record_histories`.

Starts the in-process stack of `transbordo.stack` (the real Temporal dev server, the worker and the
API over ASGI) on a temporary SQLite database, drives a few conversations through the HTTP API, then
writes the history of every workflow run to ``tests/histories/<name>.json`` (a conversation that
continued as new gives one file per run: ``<name>.run1.json``, ``<name>.run2.json``, ...).
``tests/test_replay.py`` replays them against the current workflow code, so a change that breaks
running conversations fails CI.

Re-record only on purpose: the point of the files is that they were made by older code. To
record from a commit while the work tree is being edited, run the script from an export of that
commit and write here: ``git archive HEAD | tar -x -C /tmp/head``, then, in /tmp/head,
``python -m tests.record_histories --out /path/to/repo/tests/histories``. Takes about 30 seconds.
``--only NAME`` (repeatable) records only those scenarios. The Humano block's scenarios were
recorded twice: ``<name>.before-snapshot.json`` by the code before `ConversationState` and
`ServiceSnapshot` (renamed by hand), ``<name>.json`` after; four of them once more as
``<name>.bundled-patches.json``, by runs that took every patch with one marker
(workflows/patches.py), and six as ``<name>.bundle-2.json``, by runs of the second bundle;
those six and ``continue_as_new`` once more as ``<name>.run-version-2[.runN].json``, by runs the
API started at code version 2 (no patch marker; recorded with ``--out`` into a scratch folder,
then renamed); ten as ``<name>.written-ahead[.runN].json``, by runs at code version 3 whose
messages the API wrote ahead (the pump in ahead mode: workflows/message_log.py); the same ten
as ``<name>.backstop-local[.runN].json``, by runs at code version 4 (the backstop before a run
closes or continues as new is a local activity). ``continue_while_delivering`` twice: by the
code before the patch `continue-when-idle` (the run due to continue as new stopped and waited
for its webhook; recorded from an export of that commit), and as
``continue_while_delivering.continue-when-idle.runN.json`` after it (the run lived on).
``menu_press``, ``channel_backlog`` and ``webhooks_carried`` (``.runN``) by the code with the
patches `menu-press`, `channel-backlog` and `webhooks-carried`, the smallest conversations that
take them; ``channel_backlog``'s run is terminated once its notice is in (the entries still in
the transcript tail would each be one more send). ``channel_give_up`` by the code with the patch
`channel-give-up-behind`, on the Temporal test server with time skipping (a stack of its own,
on a database of its own): its send gives up after an hour (`CHANNEL_GIVE_UP`), skipped.
``channel_ack_alone`` by the code with the patch `channel-ack-alone` (and its one attempt): a
receipt taken on its own, one refused. ``ack_due_at_continue.runN`` by the code before that
patch (the parent of its commit; recorded in review): a WhatsApp run that continued as new
with a customer message not acknowledged yet, then took one more.
Histories hold no clear secret: the bot's Omni key travels as the hash that publishing puts
in its place (of a throwaway key).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import threading
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from encryption.codec import EncryptionCodec, clear_payloads_json
from store.db import open_database
from tests.channel_standin import WA_VERSION, Standin, standin
from transbordo.settings import UNLIMITED_RATES, Settings
from transbordo.stack import (
    dev_server,
    pydantic_client,
    running,
    stack_ring,
    time_skipping_server,
)
from workflows.contracts import ConversationSnapshot, CustomerMessage
from workflows.conversation import ConversationWorkflow

log = logging.getLogger("record_histories")

HISTORIES = Path(__file__).parent / "histories"
QUESTION_TIMEOUT_SECONDS = 2

LOJA = """
bot: loja
escape_routes:
  - {keywords: [ajuda], text: "Responda à pergunta, {{ contact.name }}."}
  - {keywords: [menu, voltar], goto: menu}
start: inicio
blocks:
  inicio: {type: message, text: "Olá, {{ contact.name }}!", next: menu}
  menu:
    type: menu
    text: Como posso ajudar?
    save_as: assunto
    options:
      - {label: Segunda via de boleto, next: cpf, keywords: [boleto]}
      - {label: Horário da loja, next: horario}
  cpf:
    type: question
    text: Qual o seu CPF?
    save_as: cpf
    pattern: '\\d{11}'
    retry_text: CPF inválido, digite só os 11 números.
    timeout_seconds: 300
    on_timeout: sumiu
    next: confirma
  confirma:
    type: condition
    branches:
      - {if: "cpf.startswith('0')", next: especial}
    else: fim
  especial: {type: set, values: {protocolo: "P-{{ cpf[-4:] }}"}, next: aviso}
  aviso: {type: message, text: "CPF especial, protocolo {{ protocolo }}.", next: fim}
  horario: {type: message, text: Abrimos às 8h., next: menu}
  sumiu: {type: end, text: Encerrando por falta de resposta.}
  fim: {type: end, text: "Boleto ({{ assunto }}) do CPF {{ cpf }} enviado. Obrigado!"}
"""

MENU = "Como posso ajudar?\n1. Segunda via de boleto\n2. Horário da loja"

PRESSA = f"""
bot: pressa
start: nome
blocks:
  nome:
    type: question
    text: Qual o seu nome?
    save_as: nome
    timeout_seconds: {QUESTION_TIMEOUT_SECONDS}
    on_timeout: sumiu
    next: fim
  sumiu: {{type: end, text: Encerrando por falta de resposta.}}
  fim: {{type: end, text: "Até logo, {{{{ nome }}}}."}}
"""


CASA = """
bot: casa
human_service: {platform: omni_v2, omni_key: "KEY"}
start: inicio
blocks:
  inicio: {type: message, text: Olá!, next: menu}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Falar com um especialista, next: humano}
      - {label: Esperar na fila, next: espera}
      - {label: Deixar recado, next: recado}
      - {label: Sair, next: fim}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    on: {finished: depois, abandoned: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}
  espera:
    type: human
    service: Espera
    text: Aguarde na fila.
    on: {abandoned: desistiu, finished: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}
  recado:
    type: human
    service: Recados
    on: {voicemail: fim, finished: fim, abandoned: fim, closed: fim, no_agents: fim,
         unavailable: fim}
  depois: {type: message, text: "{{ agent.name }} te atendeu. Algo mais?", next: menu}
  desistiu: {type: end, text: Fila encerrada.}
  fim: {type: end, text: Até logo!}
"""
"""Every outcome of the Humano block but `closed`: Suporte has agents, Espera abandons after
ABANDON_SECONDS, Recados has nobody and takes voicemail for VOICEMAIL_SECONDS."""
ABANDON_SECONDS = 2
VOICEMAIL_SECONDS = 3
CASA_MENU = (
    "Como posso ajudar?\n1. Falar com um especialista\n2. Esperar na fila\n3. Deixar recado"
    "\n4. Sair"
)

DIRETO = """
bot: direto
human_service: {platform: omni_v2, omni_key: "KEY", wait_time_notice: once}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    on: {finished: fim, abandoned: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}
  fim: {type: end, text: Até logo!}
"""
"""The first message queues the customer (patch `hand-over-records`: the hand-over records
that turn)."""

SUMIDO = """
bot: sumido
escape_routes:
  - {inactivity_seconds: 2, text: Ainda está aí?}
  - {inactivity_seconds: 4, goto: fim}
start: nome
blocks:
  nome: {type: question, text: Qual o seu nome?, save_as: nome, next: fim}
  fim: {type: end, text: Até logo!}
"""
"""Escape routes by inactivity: a reminder, then the way out."""


def pedidos_flow(base_url: str, closed_url: str) -> str:
    return f"""
bot: pedidos
http: {{allow_private_addresses: true}}
start: cpf
blocks:
  cpf: {{type: question, text: Qual o CPF?, save_as: cpf, next: consulta}}
  consulta:
    type: http
    method: POST
    url: "{base_url}/pedidos"
    headers: {{X-Contato: "{{{{ contact.id }}}}"}}
    body: {{cpf: "{{{{ cpf }}}}"}}
    save_as: pedido
    next: situacao
    on_error: erro
  situacao:
    type: message
    text: "Pedido {{{{ pedido.body.pedido }}}}: {{{{ pedido.body.situacao }}}}"
    next: rastreio
  rastreio:
    type: http
    url: "{base_url}/falha"
    save_as: rastreio
    next: fim
    on_error: sem_rastreio
  sem_rastreio:
    type: message
    text: "Rastreio indisponível (HTTP {{{{ rastreio.status }}}})."
    next: legado
  legado:
    type: http
    url: "{closed_url}/legado"
    timeout_seconds: 2
    save_as: legado
    next: fim
    on_error: erro
  erro: {{type: end, text: "Sistema indisponível."}}
  fim: {{type: end, text: Obrigado!}}
"""


def say(contact: str, message_id: str, text: str, name: str | None = None) -> dict:
    body: dict = {"contact_id": contact, "message_id": message_id, "text": text}
    if name:
        body["contact"] = {"name": name}
    return body


class Recorder:
    """Drives conversations through the API and keeps the workflow id of each scenario."""

    def __init__(self, http: httpx.AsyncClient, client: Client, settings: Settings) -> None:
        self.http = http
        self.client = client
        self.settings = settings
        self.agents: dict[str, dict[str, str]] = {}
        self.agent_ids: dict[str, str] = {}
        """Each agent's Authorization header, by name (set up by `setup_omni`)."""
        self.phone: Standin | None = None
        """The WhatsApp Cloud API stand-in (tests/channel_standin.py)."""
        self.env: WorkflowEnvironment | None = None
        """The Temporal test server with time skipping, for `TIME_SKIPPING` scenarios only."""

    async def call(self, method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
        response = await self.http.request(method, url, headers=headers, **kw)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {url}: HTTP {response.status_code} {response.text}")
        return response.json() if response.content else None

    async def agent(self, name: str, conversation_id: str, action: str, **body: Any) -> Any:
        url = f"/api/agent/conversations/{conversation_id}/{action}"
        return await self.call("POST", url, self.agents[name], json=body)

    async def post(self, bot: str, body: dict) -> dict:
        response = await self.http.post(f"/api/bots/{bot}/messages", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"{bot} {body}: HTTP {response.status_code} {response.text}")
        return response.json()

    def handle(self, workflow_id: str) -> WorkflowHandle[Any, ConversationSnapshot]:
        return self.client.get_workflow_handle_for(ConversationWorkflow.run, workflow_id)

    async def ended(self, workflow_id: str) -> ConversationSnapshot:
        snapshot = await asyncio.wait_for(self.handle(workflow_id).result(), timeout=60)
        if snapshot.status != "ended":
            raise RuntimeError(f"{workflow_id} finished as {snapshot.status}")
        return snapshot

    async def seen(self, workflow_id: str, message_id: str) -> None:
        """Wait until the workflow has taken in a message (queries add nothing to history)."""
        for _ in range(200):
            transcript = await self.handle(workflow_id).query(ConversationWorkflow.transcript, 0)
            if any(m.message_id == message_id for m in transcript):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{workflow_id} never took in {message_id}")


def expect(turn: dict, *texts: str) -> None:
    said = [reply["text"] for reply in turn["replies"]]
    if said != list(texts):
        raise RuntimeError(f"expected {list(texts)}, got {said}")


async def menu_question_walk(rec: Recorder) -> str:
    """Every block of the menu/question flow, escape routes, a duplicate id, signal delivery."""
    contact = "walk-5511"
    turn = await rec.post("loja", say(contact, "m1", "oi", "Ana"))
    expect(turn, "Olá, Ana!", MENU)
    turn = await rec.post("loja", say(contact, "m2", "HORARIO da loja"))
    expect(turn, "Abrimos às 8h.", MENU)
    turn = await rec.post("loja", say(contact, "m3", "9"))
    if not turn["replies"][0]["text"].startswith("Opção inválida"):
        raise RuntimeError(f"menu accepted '9': {turn}")
    expect(await rec.post("loja", say(contact, "m4", "Boleto!")), "Qual o seu CPF?")
    expect(
        await rec.post("loja", say(contact, "m5", "123")),
        "CPF inválido, digite só os 11 números.",
        "Qual o seu CPF?",
    )
    expect(await rec.post("loja", say(contact, "m6", "ajuda")), "Responda à pergunta, Ana.")
    turn = await rec.post("loja", say(contact, "m7", "quero voltar"))
    expect(turn, MENU)
    once = await rec.post("loja", say(contact, "m8", "1"))
    again = await rec.post("loja", say(contact, "m8", "1"))
    if [r["text"] for r in again["replies"]] != [r["text"] for r in once["replies"]]:
        raise RuntimeError(f"duplicate m8 answered differently: {once} / {again}")
    workflow_id = wid("loja", f"{contact}")
    handle = rec.handle(workflow_id)
    # The API's fallback path: a message as a Signal, then the same message again (ignored).
    await handle.signal(ConversationWorkflow.deliver, CustomerMessage(message_id="m9", text="x"))
    await handle.signal(ConversationWorkflow.deliver, CustomerMessage(message_id="m9", text="x"))
    await rec.seen(workflow_id, "m9")
    turn = await rec.post("loja", say(contact, "m10", "01234567890"))
    expect(
        turn,
        "CPF especial, protocolo P-7890.",
        "Boleto (Segunda via de boleto) do CPF 01234567890 enviado. Obrigado!",
    )
    await rec.ended(workflow_id)
    return workflow_id


async def question_timeout(rec: Recorder) -> str:
    """A question's timer fires (a real wait of a few seconds) and takes on_timeout."""
    expect(await rec.post("pressa", say("timeout-1", "t1", "oi")), "Qual o seu nome?")
    workflow_id = wid("pressa", "timeout-1")
    await rec.ended(workflow_id)
    return workflow_id


async def http_blocks(rec: Recorder) -> str:
    """HTTP blocks: a 200 with JSON, a 500 (on_error), a refused connection retried, then failed."""
    await rec.post("pedidos", say("http-1", "h1", "oi"))
    turn = await rec.post("pedidos", say("http-1", "h2", "123"))
    expect(
        turn,
        "Pedido 123: enviado",
        "Rastreio indisponível (HTTP 500).",
        "Sistema indisponível.",
    )
    workflow_id = wid("pedidos", "http-1")
    await rec.ended(workflow_id)
    return workflow_id


async def leave(rec: Recorder) -> str:
    """The customer leaves in the middle of a question."""
    await rec.post("loja", say("leave-1", "l1", "oi"))
    turn = await rec.post("loja", say("leave-1", "l2", "1"))
    left = await rec.http.post(f"/api/conversations/{turn['conversation_id']}/leave")
    if left.status_code != 202:
        raise RuntimeError(f"leave: HTTP {left.status_code} {left.text}")
    workflow_id = wid("loja", "leave-1")
    await rec.ended(workflow_id)
    return workflow_id


async def continue_as_new(rec: Recorder) -> str:
    """Two customer messages per run: three runs, state and answered ids carried along."""
    previous = rec.settings.max_messages_per_run
    rec.settings.max_messages_per_run = 2
    try:
        contact = "can-1"
        for message_id, text in [("1", "oi"), ("2", "2"), ("3", "2"), ("4", "1")]:
            await rec.post("loja", say(contact, message_id, text))
        workflow_id = wid("loja", f"{contact}")
        # A message id answered in an earlier run, sent past the API's SQL lookup.
        replay = await rec.handle(workflow_id).execute_update(
            ConversationWorkflow.message, CustomerMessage(message_id="2", text="2"), id="2"
        )
        if not replay.replies or replay.replies[0].text != "Abrimos às 8h.":
            raise RuntimeError(f"replayed id 2 answered {replay}")
        turn = await rec.post("loja", say(contact, "5", "12345678901"))
        expect(turn, "Boleto (Segunda via de boleto) do CPF 12345678901 enviado. Obrigado!")
        await rec.ended(workflow_id)
        return workflow_id
    finally:
        rec.settings.max_messages_per_run = previous


async def setup_omni(rec: Recorder) -> str:
    """The services, integrations and available agents of the `casa` bot; returns its key."""
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    services = [
        {"name": "Suporte", "extension": "100", "abandon_seconds": 3600},
        {"name": "Financeiro", "extension": "200", "abandon_seconds": 3600},
        {"name": "Diretoria", "extension": "300", "hidden": True},
        {"name": "Espera", "extension": "400", "abandon_seconds": ABANDON_SECONDS},
        {"name": "Recados", "extension": "500", "voicemail_seconds": VOICEMAIL_SECONDS},
        {"name": "Vendas", "extension": "600", "assignment": "auto", "offer_seconds": 5},
    ]
    for service in services:
        await rec.call("POST", "/api/omni/services", admin, json=service)
    keys = []
    for service in ("Suporte", "Espera", "Recados"):
        made = await rec.call(
            "POST", "/api/omni/integrations", admin, json={"service": service, "bot": "casa"}
        )
        keys.append(made["api_key"])
    for name, works in [("Ana", ["Suporte"]), ("Caio", ["Financeiro"]), ("Bia", ["Vendas"])]:
        made = await rec.call(
            "POST", "/api/omni/agents", admin, json={"name": name, "services": works}
        )
        rec.agents[name] = {"Authorization": f"Bearer {made['token']}"}
        rec.agent_ids[name] = made["id"]
        await rec.call("POST", "/api/agent/status", rec.agents[name], json={"status": "available"})
    return keys[0]


async def into_queue(rec: Recorder, contact: str, option: str, *texts: str) -> str:
    expect(await rec.post("casa", say(contact, f"{contact}-1", "oi")), "Olá!", CASA_MENU)
    turn = await rec.post("casa", say(contact, f"{contact}-2", option))
    expect(turn, *texts)
    return str(turn["conversation_id"])


async def handoff_finish(rec: Recorder) -> str:
    """Handoff → pickup → messages both ways → finish back to the bot → the customer leaves."""
    contact = "humano-1"
    conversation = await into_queue(rec, contact, "1", "Vou te transferir para um especialista.")
    picked = await rec.agent("Ana", conversation, "pickup")
    if picked["service"] != "Suporte":
        raise RuntimeError(f"pickup: {picked}")
    await rec.agent("Ana", conversation, "messages", text="Olá, sou a Ana.", message_id="a1")
    await rec.post("casa", say(contact, f"{contact}-3", "preciso de ajuda"))
    await rec.agent("Ana", conversation, "messages", text="Resolvido!")
    await rec.agent("Ana", conversation, "finish", return_to_bot=True)
    turn = await rec.post("casa", say(contact, f"{contact}-4", "4"))
    if turn["replies"][-1]["text"] != "Até logo!":
        raise RuntimeError(f"back to the bot: {turn}")
    workflow_id = wid("casa", f"{contact}")
    await rec.ended(workflow_id)
    return workflow_id


async def queued_first_turn(rec: Recorder) -> str:
    """Queued by the first message (its turn recorded by the hand-over), picked up, finished."""
    contact = "direto-1"
    turn = await rec.post("direto", say(contact, f"{contact}-1", "oi"))
    texts = [reply["text"] for reply in turn["replies"]]
    if texts[0] != "Vou te transferir para um especialista." or len(texts) != 2:
        raise RuntimeError(f"queued in the first turn: {turn}")
    conversation = str(turn["conversation_id"])
    await rec.agent("Ana", conversation, "pickup")
    await rec.agent("Ana", conversation, "messages", text="Olá, sou a Ana.")
    await rec.agent("Ana", conversation, "finish", return_to_bot=True)
    workflow_id = wid("direto", contact)
    await rec.ended(workflow_id)
    return workflow_id


async def transfer(rec: Recorder) -> str:
    """A refused transfer (hidden service), a transfer to Financeiro, its agent ends the chat."""
    contact = "transfere-1"
    conversation = await into_queue(rec, contact, "1", "Vou te transferir para um especialista.")
    await rec.agent("Ana", conversation, "pickup")
    url = f"/api/agent/conversations/{conversation}/transfer"
    hidden = await rec.http.post(url, json={"service": "Diretoria"}, headers=rec.agents["Ana"])
    if hidden.status_code != 403:
        raise RuntimeError(f"transfer to a hidden service: HTTP {hidden.status_code}")
    moved = await rec.agent("Ana", conversation, "transfer", service="Financeiro")
    if moved["service"] != "Financeiro":
        raise RuntimeError(f"transfer: {moved}")
    await rec.agent("Caio", conversation, "pickup")
    await rec.agent("Caio", conversation, "messages", text="Financeiro aqui.")
    await rec.agent("Caio", conversation, "finish", return_to_bot=False)
    workflow_id = wid("casa", f"{contact}")
    await rec.ended(workflow_id)
    return workflow_id


async def abandon(rec: Recorder) -> str:
    """Nobody picks the customer up within the service's abandonment time."""
    await into_queue(rec, "desiste-1", "2", "Aguarde na fila.")
    workflow_id = wid("casa", "desiste-1")
    await rec.ended(workflow_id)
    return workflow_id


async def voicemail(rec: Recorder) -> str:
    """No agent for the service: the customer leaves a message within the voicemail time."""
    contact = "recado-1"
    await into_queue(
        rec,
        contact,
        "3",
        "No momento não há especialistas disponíveis. Deixe sua mensagem e retornaremos o"
        f" contato (você tem {VOICEMAIL_SECONDS} segundos).",
    )
    await rec.post("casa", say(contact, f"{contact}-3", "Liguem para mim, por favor."))
    workflow_id = wid("casa", f"{contact}")
    await rec.ended(workflow_id)
    return workflow_id


async def escape_inactivity(rec: Recorder) -> str:
    """The customer goes silent: one escape route reminds them, the next one ends the chat."""
    expect(await rec.post("sumido", say("sumido-1", "s1", "oi")), "Qual o seu nome?")
    workflow_id = wid("sumido", "sumido-1")
    await rec.ended(workflow_id)
    return workflow_id


async def whatsapp_handoff(rec: Recorder) -> str:
    """A WhatsApp customer (signed webhooks) → list reply → pickup → the agent's messages through
    a 429 and a permanent refusal → finish back to the bot → the customer leaves by the menu."""
    from channels.signatures import whatsapp_signature
    from tests import channel_payloads as p

    phone = rec.phone
    assert phone is not None
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    secret = "record-histories-app-secret"
    connector = {
        "phone_number_id": phone.phone_number_id,
        "access_token": phone.token,
        "app_secret": secret,
    }
    await rec.call("PUT", "/api/bots/casa/channels/whatsapp", admin, json=connector)

    async def webhook(message: dict) -> None:
        body = json.dumps(p.whatsapp([message])).encode()
        headers = {"X-Hub-Signature-256": whatsapp_signature(secret, body)}
        await rec.call("POST", "/api/channels/whatsapp/casa", headers, content=body)

    def sent(count: int) -> None:
        phone.wait(lambda s: len(s.sends()) >= count)

    await webhook(p.wa_text("wamid.rec1", "oi"))
    await asyncio.to_thread(sent, 2)
    await webhook(p.wa_list_reply("wamid.rec2", "1", "Falar com um especialista"))
    await asyncio.to_thread(sent, 3)
    conversation = await _waiting_conversation(rec)
    await rec.agent("Ana", conversation, "pickup")
    phone.script = [(429, {"error": {"message": "(#130429) Rate limit hit", "code": 130429}}, {})]
    phone.refuse = lambda body: "RECUSADO" in json.dumps(body)
    for n, text in enumerate(["Olá, sou a Ana.", "RECUSADO", "Resolvido!"]):
        await rec.agent("Ana", conversation, "messages", text=text, message_id=f"wa-{n}")
    await asyncio.to_thread(phone.wait, lambda s: "Resolvido!" in json.dumps(s.sends()))
    await rec.agent("Ana", conversation, "finish", return_to_bot=True)
    await webhook(p.wa_text("wamid.rec3", "4"))
    workflow_id = wid("casa", f"wa:{p.CUSTOMER}")
    await rec.ended(workflow_id)
    return workflow_id


async def desk(rec: Recorder) -> str:
    """The agent's desk: a note, tags, a finish with tags back to the bot (patch desk-wrapup)."""
    contact = "mesa-1"
    conversation = await into_queue(rec, contact, "1", "Vou te transferir para um especialista.")
    await rec.agent("Ana", conversation, "pickup")
    await rec.agent("Ana", conversation, "notes", text="cliente VIP")
    await rec.call(
        "PUT",
        f"/api/agent/conversations/{conversation}/tags",
        rec.agents["Ana"],
        json={"tags": ["vip"]},
    )
    await rec.agent("Ana", conversation, "messages", text="Olá!")
    await rec.agent("Ana", conversation, "finish", return_to_bot=True, tags=["boleto"])
    turn = await rec.post("casa", say(contact, f"{contact}-3", "4"))
    if turn["replies"][-1]["text"] != "Até logo!" or any(
        r["kind"] == "note" for r in turn["replies"]
    ):
        raise RuntimeError(f"back to the bot: {turn}")
    workflow_id = wid("casa", contact)
    await rec.ended(workflow_id)
    return workflow_id


async def supervisor(rec: Recorder) -> str:
    """The supervisor: a whisper, a barge-in, a take-over (as Caio), a reassignment to Suporte's
    queue; Ana picks it up again and ends it (Update `supervise`)."""
    contact = "supervisor-1"
    conversation = await into_queue(rec, contact, "1", "Vou te transferir para um especialista.")
    await rec.agent("Ana", conversation, "pickup")
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    base = f"/api/supervisor/conversations/{conversation}"
    await rec.call(
        "POST", f"{base}/whisper", admin, json={"text": "ofereça", "supervisor": "Carla"}
    )
    await rec.call("POST", f"{base}/barge-in", admin, json={"text": "Olá!", "supervisor": "Carla"})
    caio = rec.agent_ids["Caio"]
    await rec.call("POST", f"{base}/take-over", admin, json={"agent": caio, "supervisor": "Carla"})
    await rec.call("POST", f"{base}/reassign", admin, json={"service": "Suporte"})
    await rec.agent("Ana", conversation, "pickup")
    await rec.agent("Ana", conversation, "finish", return_to_bot=False)
    workflow_id = wid("casa", contact)
    await rec.ended(workflow_id)
    return workflow_id


async def offers_of(rec: Recorder, name: str) -> list[dict[str, Any]]:
    offers: list[dict[str, Any]] = await rec.call("GET", "/api/agent/offers", rec.agents[name])
    return offers


async def auto_offer(rec: Recorder) -> str:
    """A transfer into an auto service: the offer rings for Bia, lapses (5 s), rings again,
    Bia accepts (the pickup) and finishes."""
    contact = "oferta-1"
    conversation = await into_queue(rec, contact, "1", "Vou te transferir para um especialista.")
    await rec.agent("Ana", conversation, "pickup")
    await rec.agent("Ana", conversation, "transfer", service="Vendas")
    (first,) = await offers_of(rec, "Bia")
    for _ in range(200):  # the lapse timer (5 s) fires in the workflow, which offers it again
        again = await offers_of(rec, "Bia")
        if again and again[0]["id"] != first["id"]:
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError("the offer did not lapse")
    await rec.call("POST", f"/api/agent/offers/{again[0]['id']}/accept", rec.agents["Bia"])
    await rec.agent("Bia", conversation, "finish", return_to_bot=False)
    workflow_id = wid("casa", contact)
    await rec.ended(workflow_id)
    return workflow_id


async def _waiting_conversation(rec: Recorder) -> str:
    for _ in range(200):
        queue = await rec.call("GET", "/api/agent/queue", rec.agents["Ana"])
        if queue:
            return str(queue[0]["conversation_id"])
        await asyncio.sleep(0.05)
    raise RuntimeError("the WhatsApp customer never reached the queue")


CUIDA = """
bot: cuida
human_service: {platform: omni_v2, omni_key: "KEY", wait_time_notice: periodic}
start: menu
blocks:
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Falar com um especialista, next: humano}
      - {label: Sair, next: fim}
  humano:
    type: human
    service: Cuidado
    text: Vou te transferir.
    on: {finished: depois, abandoned: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}
  depois: {type: message, text: "Nota {{ csat.score }}.", next: menu}
  fim: {type: end, text: Até logo!}
"""
"""The care rules (issue 12): periodic wait notices, a silent agent's requeue, the CSAT."""
CUIDADO_CARE = {
    "wait_notice_interval_seconds": 1,
    "wait_notice_repeat": 1,
    "agent_reply_seconds": 2,
    "agent_silence_action": "requeue",
    "csat": True,
}


async def care(rec: Recorder) -> str:
    """Periodic wait notices while waiting, a silent agent (alert, back to the queue), the
    pickup again, a finish with the CSAT survey: "10" asked again, then "5 ótimo"."""
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    service = {"name": "Cuidado", "extension": "700", "abandon_seconds": 3600}
    await rec.call("POST", "/api/omni/services", admin, json={**service, "care": CUIDADO_CARE})
    made = await rec.call(
        "POST", "/api/omni/integrations", admin, json={"service": "Cuidado", "bot": "cuida"}
    )
    flow = CUIDA.replace("KEY", made["api_key"])
    await rec.call("PUT", "/api/bots/cuida", {**admin, "Content-Type": "text/yaml"}, content=flow)
    duda = await rec.call(
        "POST", "/api/omni/agents", admin, json={"name": "Duda", "services": ["Cuidado"]}
    )
    rec.agents["Duda"] = {"Authorization": f"Bearer {duda['token']}"}
    await rec.call("POST", "/api/agent/status", rec.agents["Duda"], json={"status": "available"})
    contact = "cuida-1"
    await rec.post("cuida", say(contact, f"{contact}-1", "oi"))
    turn = await rec.post("cuida", say(contact, f"{contact}-2", "1"))
    conversation = str(turn["conversation_id"])
    workflow_id = wid("cuida", contact)
    await _notices(rec, workflow_id, 3)  # the first at once, then looks every second
    await rec.agent("Duda", conversation, "pickup")
    await rec.agent("Duda", conversation, "messages", text="Olá, sou a Duda.")
    await rec.post("cuida", say(contact, f"{contact}-3", "preciso de ajuda"))
    await _waiting_again(rec, conversation)  # 2 s unanswered: requeued
    await rec.agent("Duda", conversation, "pickup")
    await rec.agent("Duda", conversation, "messages", text="Voltei!")
    await rec.agent("Duda", conversation, "finish", return_to_bot=True)
    await rec.post("cuida", say(contact, f"{contact}-4", "10"))
    turn = await rec.post("cuida", say(contact, f"{contact}-5", "5 ótimo"))
    if turn["replies"][0]["text"] != "Obrigado pela sua avaliação!":
        raise RuntimeError(f"the survey's answer: {turn}")
    await rec.post("cuida", say(contact, f"{contact}-6", "2"))
    await rec.ended(workflow_id)
    return workflow_id


async def _notices(rec: Recorder, workflow_id: str, count: int) -> None:
    for _ in range(200):
        transcript = await rec.handle(workflow_id).query(ConversationWorkflow.transcript, 0)
        if sum(m.kind == "wait_time_notice" for m in transcript) >= count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("no periodic wait notices")


async def _waiting_again(rec: Recorder, conversation: str) -> None:
    for _ in range(200):
        queue = await rec.call("GET", "/api/agent/queue", rec.agents["Duda"])
        if any(entry["conversation_id"] == conversation for entry in queue):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the silent agent's conversation never went back to the queue")


GANCHO = """
bot: gancho
human_service: {platform: omni_v2, omni_key: "KEY"}
start: menu
blocks:
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Falar com um especialista, next: humano}
      - {label: Sair, next: fim}
  humano:
    type: human
    service: Gancho
    text: Vou te transferir.
    on: {finished: fim, abandoned: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}
  fim: {type: end, text: Até logo!}
"""
"""A service whose webhook receiver is down at first (patch `continue-when-idle`)."""
GANCHO_FAILURES = 3
"""Deliveries the receiver refuses first: the first event is retried for ~7 s (1 + 2 + 4)."""


@contextmanager
def flaky_receiver(failures: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback answering 503 `failures` times, then 204; yields its URL
    and the events it took."""
    took: list[dict[str, Any]] = []
    left = [failures]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            down = left[0] > 0
            left[0] -= 1
            if not down:
                took.append(json.loads(body))
            self.send_response(503 if down else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/eventos", took
    finally:
        server.shutdown()
        server.server_close()


async def continue_while_delivering(rec: Recorder) -> str:
    """Two customer messages per run; the second queues the customer while the service's
    webhook is down, and the run, due, continues as new once the event went through (~7 s):
    meanwhile it keeps living (queue cards every second; patch `continue-when-idle`), or,
    recorded before that patch, it waited; a customer message is answered either way. An agent
    serves the customer in the next run. Record it from an export of a commit before
    `webhooks-carried` (bb0bb4c): with it the run carries its event and continues at once
    (`webhooks_carried`), and this recorder stops ("the run never continued as new")."""
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    previous = rec.settings.max_messages_per_run
    rec.settings.max_messages_per_run = 2
    with flaky_receiver(GANCHO_FAILURES) as (url, took):
        try:
            service = {
                "name": "Gancho",
                "extension": "800",
                "abandon_seconds": 3600,
                "webhook": {"enabled": True, "url": url},
                "queue_notifications": {
                    "enabled": True,
                    "interval_seconds": 1,
                    "cards": [{"title": "Aguarde", "text": "Já vamos atender."}],
                },
            }
            await rec.call("POST", "/api/omni/services", admin, json=service)
            made = await rec.call(
                "POST", "/api/omni/integrations", admin, json={"service": "Gancho", "bot": "gancho"}
            )
            flow = GANCHO.replace("KEY", made["api_key"])
            yaml = {**admin, "Content-Type": "text/yaml"}
            await rec.call("PUT", "/api/bots/gancho", yaml, content=flow)
            gil = await rec.call(
                "POST", "/api/omni/agents", admin, json={"name": "Gil", "services": ["Gancho"]}
            )
            rec.agents["Gil"] = {"Authorization": f"Bearer {gil['token']}"}
            status = {"status": "available"}
            await rec.call("POST", "/api/agent/status", rec.agents["Gil"], json=status)
            contact = "gancho-1"
            await rec.post("gancho", say(contact, f"{contact}-1", "oi"))
            turn = await rec.post("gancho", say(contact, f"{contact}-2", "1"))
            conversation = str(turn["conversation_id"])
            workflow_id = wid("gancho", contact)
            handle = rec.handle(workflow_id)
            first_run = (await handle.describe()).run_id
            await rec.post("gancho", say(contact, f"{contact}-3", "alguém aí?"))
            for _ in range(400):  # the event goes through after ~7 s: the run continues
                if (await handle.describe()).run_id != first_run:
                    break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the run never continued as new")
            if not took:
                raise RuntimeError("the webhook never took the event")
            await rec.agent("Gil", conversation, "pickup")
            await rec.agent("Gil", conversation, "messages", text="Olá, sou o Gil.")
            await rec.agent("Gil", conversation, "finish", return_to_bot=False)
            await rec.ended(workflow_id)
            return workflow_id
        finally:
            rec.settings.max_messages_per_run = previous


def shown(body: dict[str, Any]) -> str:
    """How a WhatsApp send reads on the phone (a text's body, an interactive's question)."""
    if body.get("type") == "interactive":
        return str(body["interactive"]["body"]["text"])
    return str(body["text"]["body"])


async def whatsapp_bot(rec: Recorder, flow: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The flow published, its bot's channel the WhatsApp stand-in; posts a customer's message
    to the bot's webhook, signed."""
    from channels.signatures import whatsapp_signature
    from tests import channel_payloads as p

    phone = rec.phone
    assert phone is not None
    bot = flow.split("bot: ", 1)[1].split()[0]
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    await rec.call("PUT", f"/api/bots/{bot}", {**admin, "Content-Type": "text/yaml"}, content=flow)
    secret = "record-histories-app-secret"
    connector = {
        "phone_number_id": phone.phone_number_id,
        "access_token": phone.token,
        "app_secret": secret,
    }
    await rec.call("PUT", f"/api/bots/{bot}/channels/whatsapp", admin, json=connector)

    async def webhook(message: dict[str, Any]) -> None:
        body = json.dumps(p.whatsapp([message])).encode()
        headers = {"X-Hub-Signature-256": whatsapp_signature(secret, body)}
        await rec.call("POST", f"/api/channels/whatsapp/{bot}", headers, content=body)

    return webhook


BOTOES = """
bot: botoes
start: menu
blocks:
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Boleto, next: boletos}
      - {label: Sair, next: fim}
  boletos:
    type: menu
    text: Qual boleto?
    options:
      - {label: Do mês, next: mes}
      - {label: Atrasado, next: fim}
  mes: {type: end, text: Boleto do mês enviado.}
  fim: {type: end, text: Até logo!}
"""
"""Two menus: a press on the first one's "Sair" (2) while "Qual boleto?" is asked would be
"Atrasado" before the patch `menu-press`."""


async def menu_press(rec: Recorder) -> str:
    """A WhatsApp customer presses the first menu's "Boleto" (a press on the menu asked), then
    that menu's "Sair" while "Qual boleto?" is asked: told it is an older question's button
    and asked again (patch `menu-press`), then presses "Do mês"."""
    from tests import channel_payloads as p
    from workflows.menu_press import STALE_NOTICE

    phone = rec.phone
    assert phone is not None
    phone.script = []
    webhook = await whatsapp_bot(rec, BOTOES)
    start = len(phone.sends())

    async def sent(count: int) -> list[dict[str, Any]]:
        await asyncio.to_thread(phone.wait, lambda s: len(s.sends()) >= start + count)
        return phone.sends()[start:]

    def buttons(body: dict[str, Any]) -> list[dict[str, str]]:
        return [button["reply"] for button in body["interactive"]["action"]["buttons"]]

    await webhook(p.wa_text("wamid.mp1", "oi"))
    first = buttons((await sent(1))[0])
    await webhook(p.wa_button_reply("wamid.mp2", first[0]["id"], first[0]["title"]))
    second = buttons((await sent(2))[1])
    await webhook(p.wa_button_reply("wamid.mp3", first[1]["id"], first[1]["title"]))
    said = await sent(4)
    if [shown(body) for body in said[2:]] != [STALE_NOTICE, "Qual boleto?"]:
        raise RuntimeError(f"the older menu's press: {said[2:]}")
    await webhook(p.wa_button_reply("wamid.mp4", second[0]["id"], second[0]["title"]))
    if shown((await sent(5))[4]) != "Boleto do mês enviado.":
        raise RuntimeError(f"the current menu's press: {phone.sends()[start:]}")
    workflow_id = wid("botoes", f"wa:{p.CUSTOMER}")
    await rec.ended(workflow_id)
    return workflow_id


CATALOGO_ITEMS = 66
"""Messages the bot sends for one "Catálogo": three of them (206 entries) overflow the tail."""


def catalogo_flow() -> str:
    after = [f"item{n}" for n in range(2, CATALOGO_ITEMS + 1)] + ["menu"]
    items = "\n".join(
        f'  item{n}: {{type: message, text: "Item {n}", next: {then}}}'
        for n, then in enumerate(after, 1)
    )
    return f"""
bot: catalogo
start: menu
blocks:
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Catálogo, next: item1}}
      - {{label: Sair, next: fim}}
  fim: {{type: end, text: Até logo!}}
{items}
"""


WA_DOWN = (503, {"error": {"message": "Service temporarily unavailable", "code": 2}}, {})


async def channel_backlog(rec: Recorder) -> str:
    """WhatsApp is down from the first send (the menu, retried) while the customer asks for the
    "Catálogo" three times: the oldest entries behind the menu leave the transcript tail unsent.
    WhatsApp takes the menu's next retry, the agent is told of the lost ones in one notice
    (patch `channel-backlog`), and WhatsApp is down again for the next entry. The run is then
    terminated: the ~200 entries still in the tail would each be a send (a history
    near 1 MB)."""
    from tests import channel_payloads as p

    phone = rec.phone
    assert phone is not None
    phone.script = [WA_DOWN] * 1000
    webhook = await whatsapp_bot(rec, catalogo_flow())
    workflow_id = wid("catalogo", f"wa:{p.CUSTOMER}")
    handle = rec.handle(workflow_id)
    await webhook(p.wa_text("wamid.cb0", "oi"))
    for n in range(1, 4):
        await webhook(p.wa_text(f"wamid.cb{n}", "1"))
    entries = 2 + 3 * (CATALOGO_ITEMS + 2)
    for _ in range(200):
        if (await handle.query(ConversationWorkflow.snapshot)).last_seq >= entries:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("the three catalogs never came")
    accepted = {"messaging_product": "whatsapp", "messages": [{"id": "wamid.out-menu"}]}
    accepted["contacts"] = [{"input": p.CUSTOMER, "wa_id": p.CUSTOMER}]
    phone.script[:] = [(200, accepted, {}), *[WA_DOWN] * 1000]  # the menu's next retry only
    conversation = (await handle.query(ConversationWorkflow.snapshot)).conversation_id
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    for _ in range(1200):  # the menu's next retry is up to ~30 s away
        rows = await rec.call("GET", f"/api/conversations/{conversation}/messages", admin)
        told = [m for m in rows if (m["data"] or {}).get("outcome") == "backlog"]
        if told and len(phone.script) < 1000:  # and the next entry's send failed
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("the backlog was never told")
    if not told[0]["text"].startswith("4 mensagens não foram entregues ao cliente no WhatsApp"):
        raise RuntimeError(f"the backlog notice: {told}")
    phone.script = []
    await handle.terminate(reason="recorded: the backlog told, the tail left unsent")
    return workflow_id


QUEDA = """
bot: queda
start: menu
blocks:
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Novidades, next: n1}
      - {label: Sair, next: fim}
  n1: {type: message, text: Novidade 1, next: n2}
  n2: {type: message, text: Novidade 2, next: n3}
  n3: {type: message, text: Novidade 3, next: menu}
  fim: {type: end, text: Até logo!}
"""
"""One "Novidades" puts four entries behind the menu's send (patch `channel-give-up-behind`)."""


async def channel_give_up(rec: Recorder) -> str:
    """WhatsApp is down from the first send (the menu, retried) while the customer asks for the
    "Novidades": four entries wait behind it. The hour skipped, the menu's send gives up and the
    four are told in one notice, not sent (patch `channel-give-up-behind`). WhatsApp is back;
    the customer answers "Sair" to the menu they saw: the goodbye goes out and the run ends."""
    from tests import channel_payloads as p
    from tests.live import skip_through

    phone, env = rec.phone, rec.env
    assert phone is not None and env is not None
    phone.script = [WA_DOWN] * 1000
    start = len(phone.sends())  # the phone is shared with the scenarios before this one
    webhook = await whatsapp_bot(rec, QUEDA)
    workflow_id = wid("queda", f"wa:{p.CUSTOMER}")
    handle = rec.handle(workflow_id)
    await webhook(p.wa_text("wamid.q0", "oi"))
    await webhook(p.wa_text("wamid.q1", "1"))
    for _ in range(200):  # oi, the menu, 1, three news and the menu again
        if (await handle.query(ConversationWorkflow.snapshot)).last_seq >= 7:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("the news never came")
    await skip_through(env, timedelta(minutes=61))
    conversation = (await handle.query(ConversationWorkflow.snapshot)).conversation_id
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    for _ in range(200):
        rows = await rec.call("GET", f"/api/conversations/{conversation}/messages", admin)
        told = [m for m in rows if (m["data"] or {}).get("outcome") == "gave_up_behind"]
        if told:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("the entries behind the give-up were never told")
    if not told[0]["text"].startswith("4 mensagens não foram entregues ao cliente no WhatsApp"):
        raise RuntimeError(f"the notice: {told}")
    phone.script = []
    await webhook(p.wa_text("wamid.q2", "2"))
    await rec.ended(workflow_id)
    if [shown(body) for body in phone.sends()[start:]] != ["Até logo!"]:
        raise RuntimeError(f"the phone got {phone.sends()[start:]}")
    return workflow_id


CARREGA = """
bot: carrega
human_service: {platform: omni_v2, omni_key: "KEY"}
start: humano
blocks:
  humano:
    type: human
    service: Carrega
    text: Vou te transferir.
    on: {abandoned: fim, finished: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}
  fim: {type: end, text: Até logo!}
"""
"""A service whose webhook receiver is down until the run has continued as new (patch
`webhooks-carried`); nobody serves it: the customer is abandoned after CARREGA_ABANDON_SECONDS."""
CARREGA_ABANDON_SECONDS = 3


@dataclass
class Receiver:
    """A webhook receiver on loopback: 503 while `down`, 204 after (the events it took)."""

    url: str = ""
    down: bool = True
    took: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def switched_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            down = receiver.down
            if not down:
                receiver.took.append(json.loads(body))
            self.send_response(503 if down else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/eventos"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


async def webhooks_carried(rec: Recorder) -> str:
    """One customer message per run: the first queues the customer while the service's webhook
    receiver is down, and the run, due, continues as new at once carrying the `queued` event
    (patch `webhooks-carried`). The receiver comes up; the next run delivers it, the customer
    is abandoned, and that event is delivered before the run ends."""
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    previous = rec.settings.max_messages_per_run
    rec.settings.max_messages_per_run = 1
    with switched_receiver() as receiver:
        try:
            service = {
                "name": "Carrega",
                "extension": "900",
                "abandon_seconds": CARREGA_ABANDON_SECONDS,
                "webhook": {"enabled": True, "url": receiver.url},
            }
            await rec.call("POST", "/api/omni/services", admin, json=service)
            made = await rec.call(
                "POST",
                "/api/omni/integrations",
                admin,
                json={"service": "Carrega", "bot": "carrega"},
            )
            flow = CARREGA.replace("KEY", made["api_key"])
            await rec.call(
                "PUT", "/api/bots/carrega", {**admin, "Content-Type": "text/yaml"}, content=flow
            )
            contact = "carrega-1"
            turn = await rec.post("carrega", say(contact, f"{contact}-1", "oi"))
            if turn["replies"][0]["text"] != "Vou te transferir.":
                raise RuntimeError(f"queued in the first turn: {turn}")
            workflow_id = wid("carrega", contact)
            for _ in range(400):
                history = await rec.handle(workflow_id).fetch_history()
                started = history.events[0].workflow_execution_started_event_attributes
                if started.continued_execution_run_id:
                    break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the run never continued as new")
            if receiver.took:
                raise RuntimeError(f"delivered while down: {receiver.took}")
            receiver.down = False
            await rec.ended(workflow_id)
            kinds = [event["type"] for event in receiver.took]
            if kinds != ["conversation.queued", "conversation.abandoned"]:
                raise RuntimeError(f"the receiver took {kinds}")
            return workflow_id
        finally:
            rec.settings.max_messages_per_run = previous


RECIBOS = """
bot: recibos
human_service: {platform: omni_v2, omni_key: "KEY"}
start: humano
blocks:
  humano:
    type: human
    service: Recibos
    text: Vou te transferir.
    on: {abandoned: fim, finished: fim, voicemail: fim, closed: fim, no_agents: fim,
         unavailable: fim}
  fim: {type: end, text: Até logo!}
"""
"""A WhatsApp customer in a queue nobody serves: what they write there has no reply, so it is
acknowledged on its own (patch `channel-ack-alone`); abandoned after RECIBOS_ABANDON_SECONDS."""
RECIBOS_ABANDON_SECONDS = 4


async def channel_ack_alone(rec: Recorder) -> str:
    """A WhatsApp customer waits in the queue and writes twice: the first message is marked
    read on its own (one `channel_ack`, patch `channel-ack-alone`); WhatsApp answers the second
    one's receipt 503 (its `channel_ack` fails, one attempt), so the goodbye at abandonment
    carries that receipt."""
    from tests import channel_payloads as p

    phone = rec.phone
    assert phone is not None
    phone.script, phone.ack_script = [], []
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}"}
    service = {"name": "Recibos", "extension": "950", "abandon_seconds": RECIBOS_ABANDON_SECONDS}
    await rec.call("POST", "/api/omni/services", admin, json=service)
    made = await rec.call(
        "POST", "/api/omni/integrations", admin, json={"service": "Recibos", "bot": "recibos"}
    )
    webhook = await whatsapp_bot(rec, RECIBOS.replace("KEY", made["api_key"]))
    start = len(phone.sends())

    def read(wamid: str, status: int) -> None:
        def got(state: Standin) -> bool:
            return any(
                s.body.get("message_id") == wamid and s.status == status for s in state.requests
            )

        phone.wait(got)

    await webhook(p.wa_text("wamid.ra0", "oi"))
    await asyncio.to_thread(phone.wait, lambda s: len(s.sends()) > start)
    await asyncio.to_thread(read, "wamid.ra0", 200)
    await webhook(p.wa_text("wamid.ra1", "Meu pedido 123 não chegou."))
    await asyncio.to_thread(read, "wamid.ra1", 200)
    phone.ack_script = [WA_DOWN]  # the next receipt only
    await webhook(p.wa_text("wamid.ra2", "Me liguem, por favor."))
    await asyncio.to_thread(read, "wamid.ra2", 503)
    workflow_id = wid("recibos", f"wa:{p.CUSTOMER}")
    await rec.ended(workflow_id)
    said = [shown(body) for body in phone.sends()[start:]]
    if said[0] != "Vou te transferir." or said[-1] != "Até logo!":
        raise RuntimeError(f"the phone got {said}")
    await asyncio.to_thread(read, "wamid.ra2", 200)  # with the goodbye
    return workflow_id


SCENARIOS: dict[str, Callable[[Recorder], Awaitable[str]]] = {
    "menu_question_walk": menu_question_walk,
    "question_timeout": question_timeout,
    "http_blocks": http_blocks,
    "leave": leave,
    "continue_as_new": continue_as_new,
    "handoff_finish": handoff_finish,
    "transfer": transfer,
    "abandon": abandon,
    "voicemail": voicemail,
    "escape_inactivity": escape_inactivity,
    "whatsapp_handoff": whatsapp_handoff,
    "desk": desk,
    "auto_offer": auto_offer,
    "care": care,
    "supervisor": supervisor,
    "queued_first_turn": queued_first_turn,
    "continue_while_delivering": continue_while_delivering,
    "menu_press": menu_press,
    "channel_backlog": channel_backlog,
    "webhooks_carried": webhooks_carried,
    "channel_ack_alone": channel_ack_alone,
}
TIME_SKIPPING: dict[str, Callable[[Recorder], Awaitable[str]]] = {
    "channel_give_up": channel_give_up,
}
"""Scenarios recorded on the Temporal test server with time skipping (an hour in them)."""


@contextmanager
def backend() -> Iterator[tuple[str, str]]:
    """A customer's back-end on loopback, and the URL of a port where nothing listens."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            self._send(200, {"pedido": body.get("cpf"), "situacao": "enviado"})

        def do_GET(self) -> None:  # noqa: N802
            self._send(500, {"erro": "indisponível"})

        def _send(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    closed = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    closed_url = f"http://127.0.0.1:{closed.server_address[1]}"
    closed.server_close()  # the port was free a moment ago: connections are refused
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", closed_url
    finally:
        server.shutdown()
        server.server_close()


async def run_histories(client: Client, workflow_id: str) -> list[str]:
    """The JSON history of every run of a workflow, oldest first (following continue-as-new)."""
    histories: list[str] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(clear_json(history))
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id
        if not run_id:
            return list(reversed(histories))


def clear_json(history: WorkflowHistory) -> str:
    """The history as exported JSON with its payloads decrypted: recorded fixtures stay
    readable (and replay with any ring, since the codec passes clear payloads through)."""
    data = clear_payloads_json(json.loads(history.to_json()), EncryptionCodec(stack_ring()))
    return json.dumps(data, indent=2)


def write(out: Path, name: str, histories: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob(f"{name}.json"), *out.glob(f"{name}.run*.json")]:
        stale.unlink()
    if len(histories) == 1:
        paths = [out / f"{name}.json"]
    else:
        paths = [out / f"{name}.run{n}.json" for n in range(1, len(histories) + 1)]
    for path, text in zip(paths, histories, strict=True):
        path.write_text(json.dumps(json.loads(text), indent=1, ensure_ascii=False) + "\n")
    return paths


async def record(out: Path, only: list[str]) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        backend() as (base_url, closed_url),
        standin("record-histories-access-token") as phone,
    ):
        if not only or set(only) & set(SCENARIOS):
            flows = [LOJA, PRESSA, SUMIDO, pedidos_flow(base_url, closed_url)]
            async with dev_server() as env:
                await record_on(env, Path(tmp) / "dev", phone, flows, out, only)
        if not only or set(only) & set(TIME_SKIPPING):
            async with time_skipping_server() as env:
                await record_on(env, Path(tmp) / "skipping", phone, [], out, only)


async def record_on(
    env: WorkflowEnvironment,
    data_dir: Path,
    phone: Standin,
    flows: list[str],
    out: Path,
    only: list[str],
) -> None:
    """A stack on `env` (a database of its own under `data_dir`) records the scenarios of its
    kind: `TIME_SKIPPING` on the test server with time skipping, `SCENARIOS` on the dev server."""
    data_dir.mkdir()
    settings = Settings(
        data_dir=data_dir,
        admin_token="record-histories-admin-token-0123456789",
        task_queue=f"record-{uuid.uuid4().hex[:8]}",
        flows_dir=data_dir / "no-flows",
        reply_timeout_seconds=10,
        whatsapp_api_base=f"{phone.url}/{WA_VERSION}",
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )
    engine = open_database(settings.effective_database_url)
    skipping = env.supports_time_skipping
    try:
        async with running(
            pydantic_client(env), settings, engine, flows=flows, leave="none"
        ) as stack:
            rec = Recorder(stack.http, stack.client, settings)
            rec.phone = phone
            if skipping:
                rec.env = env
                for name, scenario in TIME_SKIPPING.items():
                    if not only or name in only:
                        await record_one(rec, out, name, scenario)
            else:
                await record_scenarios(rec, out, only)
    finally:
        engine.dispose()


async def record_one(
    rec: Recorder, out: Path, name: str, scenario: Callable[[Recorder], Awaitable[str]]
) -> None:
    workflow_id = await scenario(rec)
    for path in write(out, name, await run_histories(rec.client, workflow_id)):
        log.info("recorded %s", path)


async def record_scenarios(rec: Recorder, out: Path, only: list[str]) -> None:
    key = await setup_omni(rec)
    admin = {"Authorization": f"Bearer {rec.settings.admin_token}", "Content-Type": "text/yaml"}
    await rec.call("PUT", "/api/bots/casa", admin, content=CASA.replace("KEY", key))
    plain = {"Authorization": admin["Authorization"]}
    made = await rec.call(
        "POST", "/api/omni/integrations", plain, json={"service": "Suporte", "bot": "direto"}
    )
    await rec.call("PUT", "/api/bots/direto", admin, content=DIRETO.replace("KEY", made["api_key"]))
    for name, scenario in SCENARIOS.items():
        if not only or name in only:
            await record_one(rec, out, name, scenario)


def wid(bot: str, contact: str) -> str:
    """The conversation's workflow id (a keyed hash of the contact, as the API makes it)."""
    from api.usecases.delivery import workflow_id

    return workflow_id(stack_ring(), bot, contact)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HISTORIES, help="default: %(default)s")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        choices=sorted([*SCENARIOS, *TIME_SKIPPING]),
        help="repeatable",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("httpx", "alembic", "temporalio.activity"):  # expected failures, by design
        logging.getLogger(noisy).setLevel(logging.ERROR)
    asyncio.run(record(args.out.resolve(), args.only))
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except Exception:  # noqa: BLE001 - report, then exit without the SDK's teardown
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the SDK can crash at interpreter exit after all work is done (sdk-python#300)
