"""The process's key ring, from the settings or the data folder (encryption/codec.py does the
cryptography; this module only knows where the keys live)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from encryption.codec import KeyRing, KeyRingError, ensure_key_file
from transbordo.settings import Settings


def key_ring(settings: Settings) -> KeyRing:
    """The process's key ring: from the settings when `encryption_keys` is set, else the data
    folder's `keys.json` (created on first use). Read once per process: a rotated ring is
    picked up by restarting the worker and the API."""
    keys = settings.encryption_keys
    hash_key = settings.contact_hash_key
    if keys is None:
        if hash_key is not None:
            raise KeyRingError("TRANSBORDO_CONTACT_HASH_KEY needs TRANSBORDO_ENCRYPTION_KEYS")
        return _file_ring(settings.data_dir.resolve())
    if hash_key is None:
        raise KeyRingError("TRANSBORDO_ENCRYPTION_KEYS needs TRANSBORDO_CONTACT_HASH_KEY")
    return _parsed_ring(keys.get_secret_value(), hash_key.get_secret_value())


@lru_cache
def _file_ring(data_dir: Path) -> KeyRing:
    return ensure_key_file(data_dir)


@lru_cache
def _parsed_ring(keys: str, contact_hash_key: str) -> KeyRing:
    return KeyRing.parse(keys, contact_hash_key)
