"""Personal data out of Temporal's clear text: an AES-GCM payload codec with a key ring.

Every payload a worker or client sends to Temporal (workflow inputs, Update arguments and
results, activity inputs, queries, memo, summaries) is encrypted with the ring's *active* key
and tagged with its key id; any key still in the ring decrypts, so keys rotate in steps: a new
key is added (not active), made active once every process has it, and the old one is retired
only once nothing encrypted with it is needed (transbordo/keys_cli.py). Identifiers that Temporal
indexes (workflow ids, search attributes) cannot be encrypted: they carry `keyed_hash` of the
contact id instead, under a separate key that never rotates (rotating it would lose the way to
each open conversation).

The ring lives in the setting `TRANSBORDO_ENCRYPTION_KEYS` (`id:base64key,...`, first active)
and `TRANSBORDO_CONTACT_HASH_KEY`, or in `<data dir>/keys.json` (mode 0600), which
`ensure_key_file` creates on first start. `transbordo.keyring.key_ring(settings)` is the one
way to get it, and
`encrypted_converter(ring)` the one data converter every client, worker and replayer uses:
encryption has no "off". A process's ring travels with its Temporal client (`ring_of`), so the
API and the worker built on one client hash and encrypt with the same keys.

This module imports no settings at run time: the store (webhook secrets) imports it freely.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from encryption.pydantic_payloads import SharedPydanticPayloadConverter

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_FILE = "keys.json"
BACKUP_FILE = "keys.json.bak"
"""The ring as it was before the last `transbordo keys` change (0600)."""


class KeyRingError(ValueError):
    """A key ring setting or file that cannot be used (bad base64, wrong length, no key)."""


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys by id (the first is active) and the contact-id hashing key."""

    keys: tuple[tuple[str, bytes], ...]
    contact_hash_key: bytes

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("the key ring has no encryption key")
        for key_id, key in self.keys:
            if not key_id or ":" in key_id or "," in key_id:
                raise KeyRingError(f"bad key id {key_id!r}")
            if len(key) != 32:
                raise KeyRingError(f"key {key_id!r} must be 32 bytes (AES-256)")
        if len(self.contact_hash_key) < 32:
            raise KeyRingError("the contact hash key must be at least 32 bytes")

    @property
    def active_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes | None:
        return dict(self.keys).get(key_id)

    @classmethod
    def generate(cls) -> KeyRing:
        key = (_new_key_id(), AESGCM.generate_key(256))
        return cls(keys=(key,), contact_hash_key=secrets.token_bytes(32))

    @classmethod
    def parse(cls, keys: str, contact_hash_key: str) -> KeyRing:
        """From the settings' text form: `id:base64,id:base64` and a base64 hash key."""
        pairs = []
        for part in (p.strip() for p in keys.split(",")):
            key_id, sep, encoded = part.partition(":")
            if not sep:
                raise KeyRingError("TRANSBORDO_ENCRYPTION_KEYS is `id:base64key,...`")
            pairs.append((key_id, _b64(encoded, key_id)))
        return cls(keys=tuple(pairs), contact_hash_key=_b64(contact_hash_key, "contact hash"))

    def as_environment(self) -> dict[str, str]:
        """The ring as the settings' environment variables (for a child process)."""
        keys = ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in self.keys)
        return {
            "TRANSBORDO_ENCRYPTION_KEYS": keys,
            "TRANSBORDO_CONTACT_HASH_KEY": base64.b64encode(self.contact_hash_key).decode(),
        }

    def to_json(self) -> str:
        return json.dumps(
            {
                "encryption_keys": [
                    {"id": key_id, "key": base64.b64encode(key).decode()}
                    for key_id, key in self.keys
                ],
                "contact_hash_key": base64.b64encode(self.contact_hash_key).decode(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            data = json.loads(text)
            keys = tuple((k["id"], _b64(k["key"], k["id"])) for k in data["encryption_keys"])
            return cls(keys=keys, contact_hash_key=_b64(data["contact_hash_key"], "contact hash"))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise KeyRingError(f"unreadable key file: {exc}") from None


def ensure_key_file(data_dir: Path) -> KeyRing:
    """The data folder's key ring, created (0600) on first start."""
    path = data_dir / KEY_FILE
    if path.exists():
        return KeyRing.from_json(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    ring = KeyRing.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(ring.to_json())
    return ring


def read_key_file(data_dir: Path) -> KeyRing:
    """The data folder's ring as it is (never made here: a typo in a folder's name must not
    make a new ring)."""
    path = data_dir / KEY_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise KeyRingError(
            f"no key ring at {path}: `transbordo up` makes it on its first start"
        ) from None
    return KeyRing.from_json(text)


def write_key_file(data_dir: Path, ring: KeyRing) -> None:
    """Replace the data folder's ring, the one it replaces kept first as `keys.json.bak`;
    both 0600, each written whole (a crash leaves the old file or the new one, never half)."""
    path = data_dir / KEY_FILE
    _write_private(data_dir / BACKUP_FILE, path.read_bytes())
    _write_private(path, ring.to_json().encode())


def new_key(ring: KeyRing | None = None) -> tuple[str, bytes]:
    """A new AES-256 key with an id not in `ring`."""
    taken = {key_id for key_id, _ in ring.keys} if ring else set()
    key_id = _new_key_id()
    while key_id in taken:
        key_id = _new_key_id()
    return key_id, AESGCM.generate_key(256)


def key_text(key: tuple[str, bytes]) -> str:
    """One key as `TRANSBORDO_ENCRYPTION_KEYS` lists it: `id:base64`."""
    return f"{key[0]}:{base64.b64encode(key[1]).decode()}"


def with_key_added(ring: KeyRing) -> tuple[KeyRing, str]:
    """The ring with a new key *last*, not active: every process learns it at its next start
    before any encrypts with it (`with_key_active`, once all have restarted)."""
    key = new_key(ring)
    return KeyRing(keys=(*ring.keys, key), contact_hash_key=ring.contact_hash_key), key[0]


def with_key_active(ring: KeyRing, key_id: str) -> KeyRing:
    """The ring with `key_id` first (active), the others kept in their order."""
    key = _known(ring, key_id)
    rest = tuple(k for k in ring.keys if k[0] != key_id)
    return KeyRing(keys=(key, *rest), contact_hash_key=ring.contact_hash_key)


def without_key(ring: KeyRing, key_id: str) -> KeyRing:
    """The ring without `key_id`, which must not be the active key."""
    _known(ring, key_id)
    if key_id == ring.active_id:
        raise KeyRingError(f"key {key_id!r} is the active key")
    keys = tuple(k for k in ring.keys if k[0] != key_id)
    return KeyRing(keys=keys, contact_hash_key=ring.contact_hash_key)


def _known(ring: KeyRing, key_id: str) -> tuple[str, bytes]:
    key = ring.key(key_id)
    if key is None:
        known = ", ".join(k for k, _ in ring.keys)
        raise KeyRingError(f"no key {key_id!r} in the ring (its keys: {known})")
    return key_id, key


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a .tmp left by a crash may have had other modes
        with os.fdopen(fd, "wb", closefd=False) as file:
            file.write(data)
            file.flush()
            os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


def encrypted_converter(ring: KeyRing) -> DataConverter:
    """The pydantic data converter with the ring's codec; failure messages and stack traces
    are encoded too (a refusal's message may quote what a customer typed)."""
    return DataConverter(
        payload_converter_class=SharedPydanticPayloadConverter,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def ring_of(client: Client) -> KeyRing:
    """The ring of a client built with `encrypted_converter`; any other client is a bug."""
    codec = client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise KeyRingError(
            "this Temporal client does not encrypt: build it with transbordo.keyring.key_ring()"
        )
    return codec.ring


def keyed_hash(ring: KeyRing, value: str) -> str:
    """A stable pseudonym of `value` (a contact id) for workflow ids and search attributes."""
    digest = hmac.new(ring.contact_hash_key, value.encode(), hashlib.sha256).hexdigest()
    return f"h{digest[:32]}"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM per payload; the key id travels in the metadata, the nonce with the data."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__()
        self._ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys}

    @property
    def ring(self) -> KeyRing:
        return self._ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._ring.active_id
        cipher = self._ciphers[key_id]
        out = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: key_id.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(payload) for payload in payloads]

    def decode_one(self, payload: Payload) -> Payload:
        """One payload in clear (sync: the codec endpoint and tests call it directly)."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was on: readable as it is
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise ValueError(f"payload encrypted with key {key_id!r}, which is not in the ring")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        return Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode()))


def clear_payloads_json(data: Any, codec: EncryptionCodec) -> Any:
    """Protobuf-JSON data (an exported history, a codec request) with every encrypted payload
    replaced by its clear form: for recorded test histories and for reading an export."""
    if isinstance(data, list):
        return [clear_payloads_json(item, codec) for item in data]
    if not isinstance(data, dict):
        return data
    metadata = data.get("metadata")
    if isinstance(metadata, dict) and metadata.get("encoding") == _ENCODING_B64:
        clear = codec.decode_one(json_format.ParseDict(data, Payload()))
        return json_format.MessageToDict(clear)
    return {key: clear_payloads_json(value, codec) for key, value in data.items()}


_ENCODING_B64 = base64.b64encode(ENCODING).decode()


def encrypt_text(ring: KeyRing, text: str) -> str:
    """A secret kept in SQL (e.g. a webhook secret): `enc:<key id>:<base64 nonce+sealed>`."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(dict(ring.keys)[ring.active_id]).encrypt(nonce, text.encode(), None)
    return f"enc:{ring.active_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt_text(ring: KeyRing, stored: str) -> str:
    """The clear text of `encrypt_text`'s output; values stored before encryption pass as is."""
    if not stored.startswith("enc:"):
        return stored
    _, key_id, encoded = stored.split(":", 2)
    key = ring.key(key_id)
    if key is None:
        raise KeyRingError(f"secret encrypted with key {key_id!r}, which is not in the ring")
    raw = base64.b64decode(encoded)
    return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()


SEALED_FILE = b"TBE1"
"""The first bytes of a file sealed by `encrypt_bytes` (an attachment at rest)."""


def encrypt_bytes(ring: KeyRing, data: bytes, bound_to: str) -> bytes:
    """A file at rest: `TBE1`, the key id's length and id, nonce, AES-256-GCM sealed bytes; the
    name it is stored under (`bound_to`) is authenticated, so a file moved to another name fails."""
    key_id = ring.active_id.encode()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(dict(ring.keys)[ring.active_id]).encrypt(nonce, data, bound_to.encode())
    return SEALED_FILE + bytes([len(key_id)]) + key_id + nonce + sealed


def decrypt_bytes(ring: KeyRing, stored: bytes, bound_to: str) -> bytes:
    """The clear bytes of `encrypt_bytes`' output; files stored in clear pass as they are."""
    if not stored.startswith(SEALED_FILE):
        return stored
    at = len(SEALED_FILE)
    size = stored[at]
    key_id = stored[at + 1 : at + 1 + size].decode()
    key = ring.key(key_id)
    if key is None:
        raise KeyRingError(f"file encrypted with key {key_id!r}, which is not in the ring")
    raw = stored[at + 1 + size :]
    return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode())


def _new_key_id() -> str:
    return f"k{secrets.token_hex(4)}"


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise KeyRingError(f"key {what!r} is not valid base64") from None
