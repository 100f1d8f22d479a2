"""The server that writes a response's head and body at once (api/coalesced_http.py) still
answers whole, and still opens a stream before its first event: a real uvicorn server on
loopback, read with a raw connection. (The one write itself is a speed matter: bench/.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from transbordo.stack import serve


def _app(first_event: asyncio.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/turn")
    async def turn() -> dict[str, object]:
        return {"status": "bot", "replies": [{"text": "Escolha uma opção"}]}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            await first_event.wait()  # the stream's first event comes only when told
            yield b"data: primeiro\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


async def _request(base: str, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def test_answers_arrive_whole_and_a_stream_opens_before_its_first_event() -> None:
    first_event = asyncio.Event()
    async with serve(_app(first_event)) as base, asyncio.timeout(30):
        reader, writer = await _request(base, "/turn")
        for more in (True, False):  # two answers on one kept-alive connection
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            assert head.startswith(b"HTTP/1.1 200")
            assert json.loads(body) == {"status": "bot", "replies": [{"text": "Escolha uma opção"}]}
            if more:
                writer.write(b"GET /turn HTTP/1.1\r\nHost: x\r\n\r\n")
        writer.close()
        await writer.wait_closed()

        reader, writer = await _request(base, "/stream")
        head = await reader.readuntil(b"\r\n\r\n")  # before any event: the stream is open
        assert head.startswith(b"HTTP/1.1 200")
        assert b"text/event-stream" in head
        first_event.set()
        assert (await reader.readuntil(b"primeiro")).endswith(b"data: primeiro")
        writer.close()
        await writer.wait_closed()
