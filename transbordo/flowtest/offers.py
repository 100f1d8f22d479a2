"""Conversation test steps of automatic assignment: who the conversation rings for, and an
agent's Aceitar/Recusar (`agent: accept`, `agent: decline`, `expect_offer: NAME|none`).

A lapse is time passing: `wait:` past the service's `offer_seconds`, then `expect_offer:` the
next agent. Offers are read from the agent API (`GET /api/agent/offers`), as the screen does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from transbordo.flowtest.format import Step
from transbordo.flowtest.testbed import StepFailed

NOBODY = "none"


def read_expect_offer(line: int, value: Any) -> Step:
    if value is None or isinstance(value, bool | list | dict):
        raise ValueError("expect_offer: expected an agent's name, or `none`")
    return Step(line, "expect_offer", str(value))


async def open_offer(
    http: httpx.AsyncClient, headers: dict[str, str], conversation_id: str
) -> dict[str, Any] | None:
    """The agent's open offer of this conversation, if its screen rings for it now."""
    response = await http.get("/api/agent/offers", headers=headers)
    response.raise_for_status()
    return next((o for o in response.json() if o["conversation_id"] == conversation_id), None)


async def ringing_for(
    http: httpx.AsyncClient, agents: dict[str, dict[str, str]], conversation_id: str
) -> list[str]:
    return [
        name
        for name, headers in agents.items()
        if await open_offer(http, headers, conversation_id) is not None
    ]


async def expect_offer(
    step: Step,
    http: httpx.AsyncClient,
    agents: dict[str, dict[str, str]],
    conversation_id: str,
    deadline_seconds: float,
    poll_seconds: float,
) -> None:
    """The conversation rings for exactly this agent (or nobody); a lapse or a decline that is
    still being processed is asked again until the deadline."""
    wanted = [] if step.value == NOBODY else [step.value]
    if wanted and wanted[0] not in agents:
        raise StepFailed(step.line, f"no agent {step.value!r} (agents: {', '.join(agents)})")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_seconds
    while True:
        ringing = await ringing_for(http, agents, conversation_id)
        if ringing == wanted:
            return
        if loop.time() > deadline:
            got = ", ".join(ringing) or "nobody"
            raise StepFailed(step.line, f"expected an offer to {step.value}, it rings for {got}")
        await asyncio.sleep(poll_seconds)


async def answer_offer(
    step: Step,
    http: httpx.AsyncClient,
    name: str,
    headers: dict[str, str],
    conversation_id: str,
    deadline_seconds: float,
    poll_seconds: float,
) -> httpx.Response:
    """`agent: accept` / `agent: decline`: the agent answers its offer of this conversation."""
    action = step.value[0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_seconds
    while (offer := await open_offer(http, headers, conversation_id)) is None:
        if loop.time() > deadline:
            raise StepFailed(step.line, f"agent {name} {action}: no offer of this conversation")
        await asyncio.sleep(poll_seconds)
    return await http.post(f"/api/agent/offers/{offer['id']}/{action}", headers=headers)
