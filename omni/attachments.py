"""Attachments (pure): what a file really is, by its first bytes, and whether it may be sent.

The declared content type of an upload is never trusted: `sniff` reads the magic bytes and the
file is stored and served as what they say. `refusal` gives the code and English reason a file
is refused (type not allowed, too large, empty), or None; the screens say the code in pt-BR. The
limits are settings (docs/limits.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

KINDS: dict[str, str] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "application/pdf": "pdf",
    "audio/mpeg": "audio",
    "audio/ogg": "audio",
    "audio/wav": "audio",
    "audio/webm": "audio",
    "audio/mp4": "audio",
    "audio/amr": "audio",
}
"""Every type Transbordo can recognise, and how a screen shows it (img, PDF link, audio)."""

DEFAULT_TYPES = sorted(KINDS)


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file say, among `KINDS`; None if none."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    return None


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    types: tuple[str, ...]


def refusal(content: bytes, limits: Limits) -> tuple[str, str] | None:
    """(code, English reason) when the file may not be sent; None when it may."""
    if not content:
        return "attachment_empty", "the file is empty"
    if len(content) > limits.max_bytes:
        return "attachment_too_large", f"the file is over the {_size(limits.max_bytes)} limit"
    found = sniff(content[:64])
    if found is None or found not in limits.types:
        return (
            "attachment_type",
            "file type not accepted: send an image (JPEG, PNG, GIF, WebP), a PDF or an audio file",
        )
    return None


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    return f"{n / 1024:g} KB"


def clean_name(name: str | None, content_type: str) -> str:
    """A file name safe to show and to put in a Content-Disposition (no paths, no controls)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"<>')[:120].strip()
    return base or f"arquivo.{content_type.rsplit('/', 1)[-1]}"


class AttachmentRef(BaseModel):
    """What a transcript entry carries of an attachment (its `data["attachment"]`)."""

    id: str
    name: str
    type: str
    size: int | None = None
    """None while a channel's media is still being fetched."""
