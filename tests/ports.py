"""Ports for servers a test starts as processes of their own (`transbordo up`, Temporal).

A port the OS hands out with `bind(("127.0.0.1", 0))` comes from the ephemeral range, the same
range every outgoing connection of the machine takes its local port from: between the probe and
the child's own bind, another test's connection may take it ("address already in use": CI
failed so once). These are drawn below that range instead, where nothing is assigned
automatically, and probed free.
"""

from __future__ import annotations

import random
import socket
from contextlib import ExitStack

LOW, HIGH = 20_000, 32_000
"""Below Linux's default ephemeral range (32768–60999): never given to an outgoing connection."""


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free just now, all bound at once, then released."""
    with ExitStack() as stack:
        ports: list[int] = []
        for port in random.sample(range(LOW, HIGH), 200):
            sock = stack.enter_context(socket.socket())
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"no {count} free ports in {LOW}-{HIGH}")
