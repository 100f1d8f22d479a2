"""uvicorn's httptools protocol, answering a response's head and first body chunk in one write.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, and its body at `http.response.body`: two `send` syscalls, two TCP
segments, and a client that wakes twice (once for a head it cannot use yet). Every JSON answer
of the API is one body chunk sent right after its start, so the head waits here for the next
write and both leave in one. A head with nothing right behind it (an SSE stream, whose first
event may come much later) leaves on the loop's next round of callbacks, so a client still sees
the stream open at once. Measured on a bot turn in shape (b), within one run: 0.07-0.08 ms less
per request (bench/README.md, fifteenth pass).

Every connection it accepts also gets `TCP_USER_TIMEOUT` (`tcp_user_timeout_seconds`): a peer
gone without closing (a laptop lid closed, Wi-Fi lost) would otherwise keep its stream, and the
agent's presence and stream place, for the ~15 minutes Linux retransmits (`tcp_retries2`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.stream_drain import Drain, offer
from transbordo.settings import served_settings

logger = logging.getLogger(__name__)

HEAD = b"HTTP/1."
"""How a response's head begins (uvicorn's status lines). Only such writes are held (a body
chunk that happens to begin so is held too: it still leaves in order, at most a round later)."""


class HeadWithBody:
    """A transport that holds a response's head until the next write (or the loop's next round
    of callbacks) and sends both at once. Everything else goes to the real transport."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held + data)
        elif data[: len(HEAD)] == HEAD:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(chunks))

    def flush(self) -> None:
        """Send a head still held (nothing came right behind it). A transport closing with
        bytes still to send takes it too; one closed and drained is gone."""
        if self._held is not None:
            held, self._held = self._held, None
            transport = self._transport
            if not transport.is_closing() or transport.get_write_buffer_size() > 0:
                transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def user_timeout_of(app: object) -> float:
    """The served app's `tcp_user_timeout_seconds` (`served_settings`)."""
    return served_settings(app).tcp_user_timeout_seconds


def give_up_unacknowledged(transport: asyncio.BaseTransport, seconds: float) -> None:
    """Have the kernel end the connection (ETIMEDOUT; the app sees a disconnect) once data sent
    on it stays unacknowledged for `seconds`. Nothing with 0, on a socket other than TCP, or
    where the platform lacks the option (Linux has it)."""
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    sock = transport.get_extra_info("socket")
    if option is None or sock is None or seconds <= 0:
        return
    try:  # the kernel's own family: `socket.fromfd` (uvicorn's --fd) may have named another
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) not in (
            socket.AF_INET,
            socket.AF_INET6,
        ):
            return  # e.g. a Unix socket behind a local proxy
        sock.setsockopt(socket.IPPROTO_TCP, option, max(1, round(seconds * 1000)))
    except (
        OSError,
        AttributeError,
    ) as error:  # no SO_DOMAIN off Linux  # a kernel that names the option but refuses it
        logger.debug("TCP_USER_TIMEOUT not set: %s", error)


class CoalescedHttpToolsProtocol(HttpToolsProtocol):
    """`uvicorn.Config(http=CoalescedHttpToolsProtocol)`: httptools, one write per response,
    a `Drain` per connection, and a bound on how long a silent peer keeps its connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        give_up_unacknowledged(transport, user_timeout_of(self.config.app))
        self.drain = Drain()
        super().connection_made(HeadWithBody(transport, self.loop))  # type: ignore[arg-type]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        offer(self.scope, self.drain)  # type: ignore[arg-type]

    def shutdown(self) -> None:
        """The server is stopping: a stream on this connection ends (api/stream_drain.py), and
        uvicorn closes the connection once its response is complete."""
        self.drain.start()
        super().shutdown()
