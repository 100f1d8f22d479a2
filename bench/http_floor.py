"""Benchmark: the HTTP hop alone, the floor under any turn of an HTTP API on this stack.

    python bench/http_floor.py [--n 1000]

A FastAPI app with one route shaped like `POST /api/bots/{bot}/messages` (the same body model
fields, a small JSON answer, no dependency, no I/O) served by uvicorn in its own process (on
uvloop and httptools when installed, as the API), called over loopback by httpx from this one,
as bench/turn_processes.py calls the API. What it prints is what a bot turn pays before the API
does any work: the share of the 1.3× budget over a bare Update that no code of ours can give
back (bench/README.md, "the bot turn's floor"). Also the CPU per request of each side over the
measured calls: this process (the client; `time.process_time()`) and the uvicorn process (its
user + system time from /proc).
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import load_client  # noqa: E402
from bot_turn import row  # noqa: E402
from handoff_throughput import cpu_seconds  # noqa: E402

from transbordo import eventloop  # noqa: E402

APP = """
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class MessageIn(BaseModel):
    contact_id: str
    message_id: str
    text: str


@app.post("/api/bots/{bot}/messages")
async def message(bot: str, body: MessageIn) -> dict:
    reply = {"from": "bot", "text": body.text}
    return {"conversation_id": "c", "status": "bot", "replies": [reply]}
"""


async def one_client(client: str, port: int, n: int, server_pid: int) -> None:
    """`n` calls through `client` (bench/load_client.py's), after 100 unmeasured."""
    transport = load_client.transport(client)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport) as http:
        for _ in range(100):
            try:
                await http.get("/docs")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        body = {"contact_id": "c", "message_id": "m", "text": "oi"}
        async with load_client.posting(http, client) as poster:  # as the turn benches post
            for _ in range(100):
                await poster.post("/api/bots/b/messages", json=body)
            times = []
            before = time.process_time(), cpu_seconds(server_pid)
            for _ in range(n):
                began = time.perf_counter()
                answer = await poster.post("/api/bots/b/messages", json=body)
                times.append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200, answer.text
            client_ms = (time.process_time() - before[0]) * 1000 / n
            server_ms = (cpu_seconds(server_pid) - before[1]) * 1000 / n
    print(row(f"{client}: round trip", times))
    print(
        f"{'  CPU per request':<38} client {client_ms:.2f} ms   server (uvicorn) {server_ms:.2f} ms"
    )


async def main(n: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="transbordo-http-floor-"))
    (folder / "http_floor_app.py").write_text(APP, "utf-8")
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "uvicorn",
            "http_floor_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=folder,
    )
    try:
        for client in (*load_client.CLIENTS, *reversed(load_client.CLIENTS)):  # A B B A
            await one_client(client, port, n, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    eventloop.run(main(parser.parse_args().n))
