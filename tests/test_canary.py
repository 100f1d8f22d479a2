"""The canary: a customer's CPF and phone number reach Temporal only encrypted.

On the real dev server keeping its state in a file (as `transbordo up` does), a customer types
a CPF, reaches an agent, the agent answers and finishes. Then neither the CPF nor the contact id
is anywhere in clear: not in the Temporal database file (raw bytes), the log file, the search
attributes, the workflow id, the summary or details. The SQL transcript, the product's record,
still shows the CPF to an admin; the codec endpoint turns the history's payloads back into
clear JSON for the admin only, and `transbordo replay` replays the exported history.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from encryption.codec import KeyRing, ring_of
from store.tables import messages
from tests.conftest import admin_headers
from tests.live import eventually
from tests.test_handoff import setup_omni
from transbordo import replay
from transbordo.settings import Settings
from transbordo.stack import dev_server, pydantic_client, running

pytestmark = pytest.mark.asyncio

CPF = "52998224725"
PHONE = "5511987654321"
NAME = "Maricota Canario"
FLOW = """
bot: loja
human_service: {platform: omni_v2, omni_key: "KEY"}
start: cpf
blocks:
  cpf: {type: question, text: Qual o seu CPF?, save_as: cpf, pattern: '^\\d{11}$', next: humano}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    next: fim
  fim: {type: end, text: Até logo!}
"""


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Everything the stack logs (API, worker, Temporal SDK), at INFO, into one file."""
    path = tmp_path / "transbordo.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


@pytest.fixture
async def on_disk(tmp_path: Path, settings: Settings, engine: sa.Engine, log_file: Path):  # type: ignore[no-untyped-def]
    """A dev server whose database is a file, and the stack on it with its own key ring."""
    db_file = tmp_path / "temporal.db"
    ring = KeyRing.generate()
    async with dev_server(db_file) as env:
        client = pydantic_client(env, ring)
        async with running(client, settings, engine, served=True) as stack:
            yield stack, db_file


async def say(http: httpx.AsyncClient, text: str) -> dict:  # type: ignore[type-arg]
    body = {
        "contact_id": PHONE,
        "message_id": uuid.uuid4().hex,
        "text": text,
        "contact": {"name": NAME},
    }
    answer = await http.post("/api/bots/loja/messages", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_personal_data_is_nowhere_in_clear_in_temporal(on_disk, engine, log_file) -> None:  # type: ignore[no-untyped-def]
    stack, db_file = on_disk
    http: httpx.AsyncClient = stack.http
    omni = await setup_omni(http)
    published = await http.put(
        "/api/bots/loja",
        content=FLOW.replace("KEY", omni.key),
        headers={**admin_headers(), "Content-Type": "text/yaml"},
    )
    assert published.status_code in (200, 201), published.text

    await say(http, "oi")
    waiting = await say(http, CPF)
    assert waiting["status"] == "waiting", waiting
    conversation = waiting["conversation_id"]
    base = f"/api/agent/conversations/{conversation}"
    picked = await http.post(f"{base}/pickup", headers=omni.agent("Ana"))
    assert picked.status_code == 200, picked.text
    assert CPF in picked.text  # the agent reads what the customer typed
    answered = await http.post(
        f"{base}/messages",
        json={"text": f"Recebi o CPF {CPF}, obrigado!"},
        headers=omni.agent("Ana"),
    )
    assert answered.status_code in (200, 201), answered.text
    finished = await http.post(
        f"{base}/finish", json={"return_to_bot": False}, headers=omni.agent("Ana")
    )
    assert finished.status_code == 200, finished.text

    with engine.connect() as conn:
        workflow_id = conn.scalar(sa.text("select workflow_id from conversations"))
    handle = stack.client.get_workflow_handle(workflow_id)
    await handle.result()

    # the SQL transcript is the product's record: an admin still reads the CPF there
    def transcript() -> list[str] | None:
        with engine.connect() as conn:
            texts = list(conn.scalars(sa.select(messages.c.text)))
        return texts if any(f"Recebi o CPF {CPF}" in t for t in texts) else None

    assert CPF in await eventually(_async(transcript), "the agent's message in the transcript")

    # what Temporal shows or indexes carries the keyed hash, never the contact
    description = await handle.describe()
    shown = [
        workflow_id,
        str(description.raw_description.workflow_execution_info.search_attributes),
        await description.static_summary() or "",
        await description.static_details() or "",
        str(description.raw_description),
    ]
    for text in shown:
        for secret in (CPF, PHONE, NAME):
            assert secret not in text, (secret, text)

    # the history holds the customer's words only encrypted
    history = (await handle.fetch_history()).to_json()
    assert _nowhere(history.encode() + _base64_decoded(history))

    # the database file and the log hold them nowhere either
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob("temporal.db*"))
    assert workflow_id.encode() in raw, "not the dev server's database file"
    assert _nowhere(raw)
    logged = log_file.read_bytes()
    assert logged, "nothing was logged"
    assert _nowhere(logged)

    # the codec endpoint shows an admin the payloads in clear, and nobody else
    started = json.loads(history)["events"][0]["workflowExecutionStartedEventAttributes"]
    request = {"payloads": started["input"]["payloads"]}
    refused = await http.post("/api/codec/decode", json=request)
    assert refused.status_code == 401
    decoded = await http.post("/api/codec/decode", json=request, headers=admin_headers())
    assert decoded.status_code == 200, decoded.text
    [payload] = decoded.json()["payloads"]
    clear = json.loads(base64.b64decode(payload["data"]))
    assert clear["contact"]["id"] == PHONE and clear["contact"]["name"] == NAME
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"

    # `transbordo replay` replays the exported (encrypted) history with the ring
    exported = db_file.parent / "canario.json"
    exported.write_text(history)
    ring_env = ring_of(stack.client).as_environment()
    with_ring = Settings(
        encryption_keys=ring_env["TRANSBORDO_ENCRYPTION_KEYS"],
        contact_hash_key=ring_env["TRANSBORDO_CONTACT_HASH_KEY"],
    )
    lines: list[str] = []
    assert await replay.run(with_ring, [exported], echo=lines.append) == 0, lines
    keyless = Settings(data_dir=exported.parent / "no-keys")
    assert await replay.run(keyless, [exported], echo=lines.append) == 1, lines


def _nowhere(data: bytes) -> bool:
    """Neither the CPF, nor the contact id, nor the contact's name (UTF-8 or UTF-16)."""
    for secret in (CPF, PHONE, NAME):
        for encoded in (secret.encode(), secret.encode("utf-16-le")):
            assert encoded not in data, secret
    return True


def _base64_decoded(history_json: str) -> bytes:
    """Every base64 string of the exported history, decoded (payload data is base64 there)."""
    import re

    found = re.findall(r'"([A-Za-z0-9+/]{16,}={0,2})"', history_json)
    out = []
    for item in found:
        try:
            out.append(base64.b64decode(item))
        except ValueError:
            continue
    return b"\n".join(out)


def _async(check):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        return check()

    return run
