"""Where attachments' bytes are kept: a folder on disk (`<data_dir>/attachments`) by default, an
S3-compatible bucket when `attachment_s3_bucket` is set (docs/operations.md).

The S3 client is boto3: the reference client, kept by AWS, that speaks to every S3-compatible
store (MinIO, Ceph, R2, ...) with the same signing, retries and endpoint override; it is an
optional dependency (`pip install transbordo[s3]`), imported only when a bucket is configured.
Keys are the attachment ids (`att_<hex>`), never a name from a user.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from encryption.codec import KeyRing, decrypt_bytes, encrypt_bytes

SAFE_KEY = re.compile(r"^att_[0-9a-f]{20}$")


class FileStore(Protocol):
    def put(self, key: str, content: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes | None: ...


def _checked(key: str) -> str:
    if not SAFE_KEY.match(key):
        raise ValueError(f"not an attachment key: {key!r}")
    return key


class DiskStore:
    """One file per attachment under `root` (two-character fan-out folders)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[4:6] / key

    def put(self, key: str, content: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(".part")
        partial.write_bytes(content)
        partial.chmod(0o600)
        partial.replace(path)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.exists() else None


class S3Store:
    """One object per attachment in `bucket` (under `prefix`), through boto3."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )

    def put(self, key: str, content: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + _checked(key),
            Body=content,
            ContentType=content_type,
        )

    def get(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _checked(key))
        except self.client.exceptions.NoSuchKey:
            return None
        body: bytes = answer["Body"].read()
        return body


class SealedStore:
    """Any store, with each file encrypted by the key ring before it leaves the process
    (encryption/codec.py `encrypt_bytes`, bound to its key); files kept in clear before still
    read. Rotation keeps old files readable while their key stays in the ring."""

    def __init__(self, inner: FileStore, ring: KeyRing) -> None:
        self.inner = inner
        self.ring = ring

    def put(self, key: str, content: bytes, content_type: str) -> None:
        sealed = encrypt_bytes(self.ring, content, key)
        self.inner.put(key, sealed, "application/octet-stream")

    def get(self, key: str) -> bytes | None:
        stored = self.inner.get(key)
        return None if stored is None else decrypt_bytes(self.ring, stored, key)


def file_store(
    data_dir: Path,
    *,
    ring: KeyRing | None = None,
    bucket: str | None = None,
    prefix: str = "",
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> FileStore:
    """The store the settings name (the arguments are the `attachment_s3_*` settings); with a
    `ring`, every file is sealed with it."""
    store: FileStore
    if bucket:
        store = S3Store(
            bucket,
            prefix=prefix,
            endpoint_url=endpoint_url,
            region=region,
            access_key=access_key,
            secret_key=secret_key,
        )
    else:
        store = DiskStore(data_dir / "attachments")
    return SealedStore(store, ring) if ring is not None else store
