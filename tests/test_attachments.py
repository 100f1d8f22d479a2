"""Attachments over HTTP on the time-skipping stack: a customer's file reaches the agent, an
agent's file reaches the customer, types are checked by their first bytes, limits refuse in
pt-BR, and each side downloads only what it may (issue 14 item 4)."""

from __future__ import annotations

import pytest

from omni.attachments import Limits, refusal, sniff
from tests.attachment_files import OGG, PDF, png
from tests.conftest import admin_headers, running_stack
from tests.test_handoff import publish, say, setup_omni


def flow(key: str) -> str:
    return f"""
bot: loja
channels: {{web: true}}
human_service: {{platform: omni_v2, omni_key: "{key}"}}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    text: Vou te transferir.
    on: {{finished: fim, closed: fim, abandoned: fim, unavailable: fim, no_agents: fim,
          voicemail: fim}}
  fim: {{type: end, text: Até logo!}}
"""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (png(), "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a...", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (PDF, "application/pdf"),
        (OGG, "audio/ogg"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        (b"MZ\x90\x00", None),
        (b"<html><script>", None),
    ],
)
def test_sniff(content: bytes, expected: str | None) -> None:
    assert sniff(content) == expected


def test_sealed_files_are_bound_to_their_key_and_survive_rotation() -> None:
    from cryptography.exceptions import InvalidTag

    from encryption.codec import KeyRing, decrypt_bytes, encrypt_bytes

    ring = KeyRing.generate()
    sealed = encrypt_bytes(ring, PDF, "att_aaaaaaaaaaaaaaaaaaaa")
    assert decrypt_bytes(ring, sealed, "att_aaaaaaaaaaaaaaaaaaaa") == PDF
    with pytest.raises(InvalidTag):
        decrypt_bytes(ring, sealed, "att_bbbbbbbbbbbbbbbbbbbb")
    assert decrypt_bytes(ring, PDF, "att_aaaaaaaaaaaaaaaaaaaa") == PDF  # kept in clear before
    newer = KeyRing.generate()
    rotated = KeyRing(keys=(*newer.keys, *ring.keys), contact_hash_key=ring.contact_hash_key)
    assert decrypt_bytes(rotated, sealed, "att_aaaaaaaaaaaaaaaaaaaa") == PDF


def test_only_the_upload_routes_get_the_larger_body_limit() -> None:
    from api.body_limit import body_limit
    from transbordo.settings import Settings

    settings = Settings(attachment_max_bytes=1_000_000)
    big = 1_000_000 + settings.bot_body_slack_bytes
    assert body_limit(settings, "POST", "/api/bots/loja/attachments") == big
    assert body_limit(settings, "POST", "/api/agent/conversations/c1/attachments") == big
    small = settings.channel_body_max_bytes
    assert body_limit(settings, "POST", "/api/bots/loja/messages") == small
    assert body_limit(settings, "POST", "/api/conversations/c1/typing") == small
    assert body_limit(settings, "GET", "/api/conversations/c1/attachments/a") == small
    assert body_limit(settings, "POST", "/api/agent/conversations/c1/messages") == (
        settings.body_max_bytes
    )


def test_refusals_have_a_code_and_an_english_reason() -> None:
    """The screens say the code in pt-BR (api/static/js/attachments.js `uploadRefusal`)."""
    limits = Limits(max_bytes=2048, types=("image/png", "application/pdf"))
    assert refusal(png(), limits) is None
    assert refusal(b"", limits) == ("attachment_empty", "the file is empty")
    code, text = refusal(PDF + bytes(4096), limits) or ("", "")
    assert code == "attachment_too_large" and text == "the file is over the 2 KB limit"
    code, text = refusal(OGG, limits) or ("", "")
    assert code == "attachment_type" and text.startswith("file type not accepted")


@pytest.mark.asyncio
async def test_attachments_both_ways(time_env, settings, engine):
    settings = settings.model_copy(update={"attachment_max_bytes": 4096})
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        ana, beto, caio = omni.agent("Ana"), omni.agent("Beto"), omni.agent("Caio")
        await publish(http, flow(omni.key))
        session = (await http.post("/api/bots/loja/web-sessions", auth=None)).json()
        web = {"Authorization": f"Bearer {session['token']}"}
        first = await http.post(
            "/api/bots/loja/messages", json={"message_id": "w1", "text": "oi"}, headers=web
        )
        conversation = first.json()["conversation_id"]

        # the customer sends a picture, declared as text: the first bytes decide
        sent = await http.post(
            "/api/bots/loja/attachments?name=../foto.png&message_id=w2",
            content=png(),
            headers={**web, "Content-Type": "text/plain"},
        )
        assert sent.status_code == 200, sent.text
        rows = (await http.get(f"/api/conversations/{conversation}/messages", headers=web)).json()
        mine = [m for m in rows if m["from"] == "customer" and (m["data"] or {}).get("attachment")]
        assert len(mine) == 1, rows
        ref = mine[0]["data"]["attachment"]
        assert ref["name"] == "foto.png" and ref["type"] == "image/png"
        assert ref["size"] == len(png()) and mine[0]["text"] == "📎 foto.png"
        [kept] = (settings.data_dir / "attachments").rglob(ref["id"])
        assert kept.read_bytes().startswith(b"TBE1") and b"IHDR" not in kept.read_bytes()
        assert oct(kept.stat().st_mode & 0o777) == "0o600"

        # refusals: a type not allowed (an executable), too large (with the limit), empty
        exe = await http.post(
            "/api/bots/loja/attachments?name=a.pdf",
            content=b"MZ\x90\x00" * 8,
            headers={**web, "Content-Type": "application/pdf"},
        )
        assert exe.status_code == 415 and exe.json()["code"] == "attachment_type"
        assert exe.json()["detail"].startswith("file type not accepted")
        big = await http.post("/api/bots/loja/attachments", content=PDF + bytes(5000), headers=web)
        assert big.status_code == 413 and big.json()["code"] == "attachment_too_large"
        assert big.json()["detail"] == "the file is over the 4 KB limit"
        assert big.json()["max_bytes"] == 4096
        huge = await http.post(
            "/api/bots/loja/attachments", content=bytes(4096 + 16 * 1024 + 1), headers=web
        )
        assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
        empty = await http.post("/api/bots/loja/attachments", content=b"", headers=web)
        assert empty.status_code == 422 and empty.json()["code"] == "attachment_empty"

        # downloads: the customer, the agents of the service, the admin; nobody else
        own = f"/api/conversations/{conversation}/attachments/{ref['id']}"
        got = await http.get(own, headers=web)
        assert got.status_code == 200 and got.content == png()
        assert got.headers["content-type"] == "image/png"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert (await http.get(own, headers=admin_headers())).content == png()
        other = (await http.post("/api/bots/loja/web-sessions", auth=None)).json()
        stranger = {"Authorization": f"Bearer {other['token']}"}
        assert (await http.get(own, headers=stranger)).status_code == 404
        as_agent = f"/api/agent/attachments/{ref['id']}"
        assert (await http.get(as_agent, headers=beto)).content == png()  # Suporte, waiting
        assert (await http.get(as_agent, headers=caio)).status_code == 404  # Financeiro
        assert (await http.get("/api/agent/attachments/att_0", headers=ana)).status_code == 404

        # the agent sends a PDF back; the customer downloads it
        base = f"/api/agent/conversations/{conversation}"
        early = await http.post(f"{base}/attachments?name=x.pdf", content=PDF, headers=ana)
        assert early.status_code == 403, early.text  # not picked up yet
        assert (await http.post(f"{base}/pickup", headers=ana)).status_code == 200
        back = await http.post(f"{base}/attachments?name=boleto.pdf", content=PDF, headers=ana)
        assert back.status_code == 200, back.text
        theirs = back.json()["data"]["attachment"]
        assert theirs["type"] == "application/pdf" and back.json()["from"] == "agent"
        assert (
            await http.post(f"{base}/attachments?name=boleto.pdf", content=PDF, headers=beto)
        ).status_code == 403
        link = f"/api/conversations/{conversation}/attachments/{theirs['id']}"
        pdf = await http.get(link, headers=web)
        assert pdf.status_code == 200 and pdf.content == PDF
        assert (await http.get(link, headers=stranger)).status_code == 404
        # an attachment of another conversation is not found through one's own
        started = await http.post(
            "/api/bots/loja/messages", json={"message_id": "s1", "text": "oi"}, headers=stranger
        )
        elsewhere = f"/api/conversations/{started.json()['conversation_id']}/attachments"
        assert (await http.get(f"{elsewhere}/{theirs['id']}", headers=stranger)).status_code == 404
        await http.post(f"{base}/finish", json={}, headers=ana)
        # after the finish the service's agents still open it, others still not
        assert (
            await http.get(f"/api/agent/attachments/{theirs['id']}", headers=beto)
        ).status_code == 200
        assert (
            await http.get(f"/api/agent/attachments/{theirs['id']}", headers=caio)
        ).status_code == 404


@pytest.mark.asyncio
async def test_attachment_of_a_connector_customer(time_env, settings, engine):
    """A connector names the contact of an upload like it does for a message."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        await say(http, "5511", "m1", "oi")
        sent = await http.post(
            "/api/bots/loja/attachments?name=nota.pdf&contact_id=5511", content=PDF
        )
        assert sent.status_code == 200, sent.text
        nameless = await http.post("/api/bots/loja/attachments", content=PDF)
        assert nameless.status_code == 422
        assert nameless.json()["detail"][0]["loc"] == ["query", "contact_id"]
