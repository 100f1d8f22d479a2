"""The payload codec and key ring: what ops rely on when they rotate keys or read old histories."""

from __future__ import annotations

import base64
import dataclasses
import json
import pickle
import stat
import time
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter

from encryption.codec import (
    EncryptionCodec,
    KeyRing,
    KeyRingError,
    decrypt_text,
    encrypt_text,
    encrypted_converter,
    ensure_key_file,
    keyed_hash,
    read_key_file,
    with_key_active,
    with_key_added,
    without_key,
    write_key_file,
)
from encryption.pydantic_payloads import (
    MAX_TYPE_ADAPTERS,
    SharedPydanticPayloadConverter,
    shared_type_adapter,
)
from tests.conftest import ADMIN_TOKEN
from workflows.contracts import PickupRequest


def _payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_payloads_are_unreadable_and_round_trip() -> None:
    codec = EncryptionCodec(KeyRing.generate())
    [sealed] = await codec.encode([_payload('{"cpf": "12345678909"}')])
    assert b"12345678909" not in sealed.SerializeToString()
    [opened] = await codec.decode([sealed])
    assert opened.data == b'{"cpf": "12345678909"}'
    assert opened.metadata["encoding"] == b"json/plain"


async def test_an_added_key_encrypts_nothing_until_it_is_activated(tmp_path: Path) -> None:
    old = ensure_key_file(tmp_path)
    [sealed] = await EncryptionCodec(old).encode([_payload("antes")])
    added, key_id = with_key_added(old)
    write_key_file(tmp_path, added)
    # Step 1: a process that restarted with the added key still encrypts with the old one, so
    # the processes that have not restarted yet read what it writes.
    assert read_key_file(tmp_path) == added and added.active_id == old.active_id
    [meanwhile] = await EncryptionCodec(added).encode([_payload("durante")])
    assert [p.data for p in await EncryptionCodec(old).decode([meanwhile])] == [b"durante"]
    # Step 2: active, the old key kept: both read, the hash key never changes.
    new = with_key_active(added, key_id)
    write_key_file(tmp_path, new)
    assert new.active_id == key_id and new.contact_hash_key == old.contact_hash_key
    [fresh] = await EncryptionCodec(new).encode([_payload("depois")])
    assert fresh.metadata["encryption-key-id"] == key_id.encode()
    assert [p.data for p in await EncryptionCodec(new).decode([sealed, meanwhile, fresh])] == [
        b"antes",
        b"durante",
        b"depois",
    ]


def test_each_change_keeps_the_replaced_file_private(tmp_path: Path) -> None:
    old = ensure_key_file(tmp_path)
    before = (tmp_path / "keys.json").read_text()
    added, key_id = with_key_added(old)
    write_key_file(tmp_path, added)
    assert (tmp_path / "keys.json.bak").read_text() == before
    for name in ("keys.json", "keys.json.bak"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json", "keys.json.bak"]


def test_only_a_key_not_active_is_retired(tmp_path: Path) -> None:
    ring, key_id = with_key_added(KeyRing.generate())
    with pytest.raises(KeyRingError, match="is the active key"):
        without_key(ring, ring.active_id)
    with pytest.raises(KeyRingError, match="no key 'nope'"):
        without_key(ring, "nope")
    with pytest.raises(KeyRingError, match="no key 'nope'"):
        with_key_active(ring, "nope")
    assert [k for k, _ in without_key(ring, key_id).keys] == [ring.active_id]
    with pytest.raises(KeyRingError, match="no key ring at"):
        read_key_file(tmp_path)
    assert list(tmp_path.iterdir()) == []  # reading never makes a ring


async def test_a_payload_of_a_dropped_key_or_tampered_is_refused() -> None:
    [sealed] = await EncryptionCodec(KeyRing.generate()).encode([_payload("x")])
    with pytest.raises(ValueError, match="not in the ring"):
        await EncryptionCodec(KeyRing.generate()).decode([sealed])
    ring = KeyRing.generate()
    [sealed] = await EncryptionCodec(ring).encode([_payload("x")])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        await EncryptionCodec(ring).decode([sealed])


async def test_clear_payloads_from_before_encryption_pass_through() -> None:
    [same] = await EncryptionCodec(KeyRing.generate()).decode([_payload("velho")])
    assert same.data == b"velho"


def test_key_file_is_private_and_stable(tmp_path) -> None:
    ring = ensure_key_file(tmp_path)
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert ensure_key_file(tmp_path) == ring


def test_keyed_hash_is_stable_and_hides_the_contact() -> None:
    ring = KeyRing.generate()
    assert keyed_hash(ring, "5511999990000") == keyed_hash(ring, "5511999990000")
    assert "5511999990000" not in keyed_hash(ring, "5511999990000")
    assert keyed_hash(ring, "a") != keyed_hash(KeyRing.generate(), "a")


def test_settings_form_parses_and_bad_keys_are_named() -> None:
    ring = KeyRing.generate()
    text = ring.to_json()
    assert KeyRing.from_json(text) == ring
    with pytest.raises(KeyRingError, match="32 bytes"):
        KeyRing.parse("k1:c2hvcnQ=", "A" * 44)
    with pytest.raises(KeyRingError, match="base64"):
        KeyRing.parse("k1:!!!", "A" * 44)


def test_stored_secrets_are_encrypted_and_old_clear_ones_still_read() -> None:
    ring = KeyRing.generate()
    stored = encrypt_text(ring, "whsec_abc")
    assert "whsec_abc" not in stored and decrypt_text(ring, stored) == "whsec_abc"
    assert decrypt_text(ring, "whsec_legacy") == "whsec_legacy"


async def test_the_codec_endpoint_round_trips_for_the_admin_and_the_ui_cookie(admin_api) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import admin_headers

    clear = {
        "payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IjUyOTk4MjI0NzI1Ig=="}]
    }
    assert (await admin_api.post("/api/codec/encode", json=clear)).status_code == 401
    sealed = await admin_api.post("/api/codec/encode", json=clear, headers=admin_headers())
    assert sealed.status_code == 200, sealed.text
    assert "IjUyOTk4MjI0NzI1Ig==" not in sealed.text
    # the browser case: the session route sets a cookie the UI sends with credentials
    session = await admin_api.post("/api/codec/session", headers=admin_headers())
    assert session.status_code == 204 and "httponly" in session.headers["set-cookie"].lower()
    assert ADMIN_TOKEN not in session.headers["set-cookie"]  # a value made from it, not it
    assert "secure" not in session.headers["set-cookie"].lower()  # plain http on loopback
    opened = await admin_api.post("/api/codec/decode", json=sealed.json())
    assert opened.status_code == 200, opened.text
    assert opened.json() == clear
    admin_api.cookies.clear()
    assert (await admin_api.post("/api/codec/decode", json=sealed.json())).status_code == 401
    bad = await admin_api.post("/api/codec/decode", content=b"\xff", headers=admin_headers())
    assert bad.status_code == 400
    # behind TLS the browser never sends the admin token's cookie over plain http
    https = str(admin_api.base_url).replace("http://", "https://", 1) + "/api/codec/session"
    tls = await admin_api.post(https, headers=admin_headers())
    assert tls.status_code == 204 and "; secure" in tls.headers["set-cookie"].lower()


async def test_only_the_ui_origin_may_call_the_codec_across_origins(admin_api) -> None:  # type: ignore[no-untyped-def]
    def preflight(origin: str) -> dict[str, str]:
        return {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        }

    ui = await admin_api.options("/api/codec/decode", headers=preflight("http://localhost:8233"))
    assert ui.status_code == 200
    assert ui.headers["access-control-allow-origin"] == "http://localhost:8233"
    assert ui.headers["access-control-allow-credentials"] == "true"
    other = await admin_api.options("/api/codec/decode", headers=preflight("https://evil.example"))
    assert "access-control-allow-origin" not in other.headers
    api = await admin_api.options("/api/omni/services", headers=preflight("http://localhost:8233"))
    assert "access-control-allow-origin" not in api.headers  # the rest of the API stays same-origin


async def test_converters_the_worker_makes_per_workflow_share_one_schema_per_type() -> None:
    """The SDK makes a payload converter per workflow instance and activation (serialization
    contexts); a replayed conversation must not rebuild its input's schema each time."""
    converter = encrypted_converter(KeyRing.generate())
    value = PickupRequest(agent_id="ag_1", agent_name="Ana")
    [payload] = await converter.encode([value])
    assert await converter.decode([payload], [PickupRequest]) == [value]
    before = shared_type_adapter.cache_info()
    for _ in range(3):  # what `DataConverter.with_context` & co do: a fresh converter instance
        fresh = dataclasses.replace(converter)
        assert fresh.payload_converter is not converter.payload_converter
        assert await fresh.decode([payload], [PickupRequest]) == [value]
    after = shared_type_adapter.cache_info()
    assert (after.misses, after.hits) == (before.misses, before.hits + 3)
    assert after.currsize < MAX_TYPE_ADAPTERS


def test_the_shared_converters_hold_what_the_sdks_own_hold() -> None:
    """Our converters skip their base constructors (the SDK builds one per activation): if a
    newer temporalio sets more state there, this fails instead of a worker at run time."""
    ours, theirs = SharedPydanticPayloadConverter(), PydanticPayloadConverter()
    assert vars(ours).keys() == vars(theirs).keys()
    json_ours = ours.converters[b"json/plain"]
    json_theirs = theirs.converters[b"json/plain"]
    assert vars(json_ours).keys() == vars(json_theirs).keys()
    assert list(ours.converters) == list(theirs.converters)
    copy = pickle.loads(pickle.dumps(ours))  # a process pool or a deep copy still gets one
    assert copy.converters[b"json/plain"]._type_adapter is shared_type_adapter  # noqa: SLF001
    value = PickupRequest(agent_id="ag_1", agent_name="Ana")
    assert copy.from_payloads(ours.to_payloads([value]), [PickupRequest]) == [value]


async def test_a_forged_or_lapsed_codec_session_is_refused(admin_api) -> None:  # type: ignore[no-untyped-def]
    from api.routes.codec import COOKIE, _live_session, session_value

    assert not _live_session("²³.00", ADMIN_TOKEN)  # digits, but not ASCII ones: no 500

    batch = {"payloads": []}
    lapsed = session_value(ADMIN_TOKEN, int(time.time()) - 1)
    other = session_value("another-admin-token-0123456789abcdef", int(time.time()) + 60)
    for cookie in (lapsed, other, ADMIN_TOKEN, "9999999999.00", ""):
        admin_api.cookies.set(COOKIE, cookie)
        refused = await admin_api.post("/api/codec/decode", json=batch)
        assert refused.status_code == 401, cookie
    admin_api.cookies.set(COOKIE, session_value(ADMIN_TOKEN, int(time.time()) + 60))
    assert (await admin_api.post("/api/codec/decode", json=batch)).status_code == 200
    assert (await admin_api.post("/api/codec/session")).status_code == 401  # no self-renewal


async def test_the_ui_decodes_a_batch_larger_than_other_requests_may_be(admin_api) -> None:  # type: ignore[no-untyped-def]
    """A history page's payloads go to the codec in one request: far over the 64 KB default."""
    from tests.conftest import admin_headers

    big = base64.b64encode(json.dumps("x" * 600_000).encode()).decode()
    clear = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": big}]}
    sealed = await admin_api.post("/api/codec/encode", json=clear, headers=admin_headers())
    assert sealed.status_code == 200, sealed.text[:200]
    opened = await admin_api.post("/api/codec/decode", json=sealed.json(), headers=admin_headers())
    assert opened.status_code == 200 and opened.json() == clear
    huge = {"payloads": [{"metadata": {}, "data": "A" * (7 * 1024 * 1024)}]}
    refused = await admin_api.post("/api/codec/decode", json=huge, headers=admin_headers())
    assert refused.status_code == 413
