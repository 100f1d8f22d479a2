"""Where `transbordo chat` finds the API: the address `up` writes into the data folder while it
runs, and the order in which `chat` picks one."""

from __future__ import annotations

from pathlib import Path

from transbordo.settings import Settings

API_URL_FILE = "api_url"
"""In the data folder while `up` runs: its API's address (`transbordo chat` goes there)."""


def announce(data: Path, settings: Settings) -> str:
    """Write the API's address into the data folder; returns what was written."""
    text = f"http://{settings.api_host}:{settings.api_port}\n"
    (data / API_URL_FILE).write_text(text)
    return text


def forget(data: Path, announced: str | None) -> None:
    """Remove the address file only if this `up` wrote it (`announced`) and it still says so:
    another `up` on the same data folder, running or started after this one, keeps its own."""
    if announced is None:
        return
    path = data / API_URL_FILE
    try:
        if path.read_text() == announced:
            path.unlink()
    except OSError:
        pass  # gone already


def chat_address(settings: Settings) -> str:
    """Without `--api`: the address the environment sets (TRANSBORDO_API_HOST / _PORT); else
    the one `up` runs on the data folder (`transbordo up --port 18300` then `transbordo chat
    loja` finds 18300); else the default. A file left by an `up` that was killed never wins
    over what the person set."""
    configured = f"http://{settings.api_host}:{settings.api_port}"
    if settings.model_fields_set & {"api_host", "api_port"}:
        return configured
    try:
        running = (settings.data_dir / API_URL_FILE).read_text().strip()
    except OSError:
        running = ""
    return running or configured
