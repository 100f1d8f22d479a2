"""bench/handoff.py's setup over HTTP: the flow, a service with agents, customer messages, timing.

The stack's HTTP as tests/test_handoff.py drives it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

ADMIN = {"Authorization": "Bearer bench-admin-token-0123456789abcdefgh"}
AGENT_CAPACITY = 100  # the API's maximum


def flow(bot: str, key: str, service: str, *, straight_to_queue: bool = False) -> str:
    """tests/test_handoff.py's flow: greeting, menu, Humano block, back to the menu after the
    agent; `straight_to_queue` starts at the Humano block (one message queues the customer)."""
    greeting = "\n  inicio: {type: message, text: Olá!, next: menu}"
    return f"""
bot: {bot}
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: once}}
start: {"humano" if straight_to_queue else "inicio"}
blocks:{"" if straight_to_queue else greeting}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Falar com um especialista, next: humano}}
      - {{label: Sair, next: fim}}
  humano:
    type: human
    service: {service}
    text: Vou te transferir para um especialista.
    on: {{finished: depois, closed: fim, abandoned: fim, unavailable: fim, no_agents: fim}}
  depois: {{type: message, text: "{{{{ agent.name }}}} te atendeu. Algo mais?", next: menu}}
  fim: {{type: end, text: Até logo!}}
"""


# --- the stack's HTTP, as tests/test_handoff.py drives it --------------------------------------


async def expect(response: Awaitable[httpx.Response], code: int = 200) -> dict[str, Any]:
    answer = await response
    if answer.status_code != code:
        raise RuntimeError(f"{answer.request.url}: {answer.status_code} {answer.text}")
    return answer.json()


async def setup_bot(
    http: httpx.AsyncClient,
    bot: str,
    service: str,
    abandon_seconds: int,
    agents: int,
    *,
    straight_to_queue: bool = False,
) -> list[dict[str, str]]:
    """A service, an integration binding `bot` to it, the bot published, and `agents` agents
    of the service (available, capacity 100); their auth headers."""
    body = {"name": service, "abandon_seconds": abandon_seconds, "answer_time_seconds": 60}
    await expect(http.post("/api/omni/services", json=body, headers=ADMIN), 201)
    key = (
        await expect(
            http.post(
                "/api/omni/integrations", json={"service": service, "bot": bot}, headers=ADMIN
            ),
            201,
        )
    )["api_key"]
    source = flow(bot, key, service, straight_to_queue=straight_to_queue)
    headers = {**ADMIN, "Content-Type": "text/yaml"}
    published = await http.put(f"/api/bots/{bot}", content=source, headers=headers)
    assert published.status_code in (200, 201), published.text
    tokens = []
    for i in range(agents):
        made = await expect(
            http.post(
                "/api/omni/agents",
                json={"name": f"{service}-{i}", "services": [service], "capacity": AGENT_CAPACITY},
                headers=ADMIN,
            ),
            201,
        )
        auth = {"Authorization": f"Bearer {made['token']}"}
        await expect(http.post("/api/agent/status", json={"status": "available"}, headers=auth))
        tokens.append(auth)
    return tokens


async def say(
    http: httpx.AsyncClient, bot: str, contact: str, message_id: str, text: str
) -> dict[str, Any]:
    body = {"contact_id": contact, "message_id": message_id, "text": text}
    return await expect(http.post(f"/api/bots/{bot}/messages", json=body))


class Steps:
    """Latencies of named HTTP steps, in milliseconds."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    async def timed(self, name: str, call: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        result = await call
        self.times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return result


async def bounded(n: int, concurrency: int, one: Callable[[int], Awaitable[Any]]) -> float:
    """Run `one(i)` for i < n, `concurrency` at a time; the wall time in seconds."""
    indices = iter(range(n))

    async def lane() -> None:
        for i in indices:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(concurrency, n))))
    return time.perf_counter() - started
