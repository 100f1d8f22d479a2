"""Where in a bot file an issue is: a path (``("blocks", "menu", "options", 0, "next")``) said
in the message (``block 'menu', options[0].next``) and given to screens as ``ctx`` values."""

from __future__ import annotations

from collections.abc import Sequence

from bots.yaml_nodes import PathItem


def describe_path(path: Sequence[PathItem]) -> str:
    """``("blocks", "menu", "options", 0, "next")`` → ``block 'menu', options[0].next``."""
    head = ""
    if len(path) >= 2 and path[0] == "blocks":
        head, path = f"block {path[1]!r}", path[2:]
    tail = ""
    for item in path:
        tail += f"[{item}]" if isinstance(item, int) else (f".{item}" if tail else str(item))
    return ", ".join(part for part in (head, tail) if part)


def located(path: Sequence[PathItem], message: str) -> str:
    """``message`` after the place it is about, as the CLI and the API's ``message`` say it."""
    where = describe_path(path)
    return f"{where}: {message}" if where else message


def place(path: Sequence[PathItem]) -> dict[str, str]:
    """Where an issue is, as its ``ctx``: ``block`` (the block's name) and ``loc`` (the rest of
    the path, ``options[0].next``), so a screen can say it without parsing the message."""
    where: dict[str, str] = {}
    if len(path) >= 2 and path[0] == "blocks":
        where["block"], path = str(path[1]), path[2:]
    if path:
        where["loc"] = describe_path(path)
    return where
