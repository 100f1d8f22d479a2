"""Playing a conversation test's steps and matching the messages it expects."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bots.models import BotFlow
from transbordo.flowtest import offers
from transbordo.flowtest.format import At, ConversationTest, Step
from transbordo.flowtest.matching import describe, mismatch, one_line, quote, state_problem
from transbordo.flowtest.testbed import StepFailed, Testbed

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "America/Sao_Paulo"
MESSAGE_DEADLINE_SECONDS = 5.0
"""How long (wall clock) an `expect` waits for a message that is not there yet."""
POLL_SECONDS = 0.05
TRANSCRIPT_TAIL = 12
"""Messages shown under a failure."""


class Driver:
    """Plays one test's steps and keeps the unread messages of its conversation."""

    def __init__(self, stack: Testbed, flow: BotFlow, test: ConversationTest) -> None:
        self.stack = stack
        self.flow = flow
        self.test = test
        self.contact = dict(test.contact)
        self.contact_id = str(self.contact.pop("id", f"flowtest-{uuid.uuid4().hex[:8]}"))
        self.conversation_id: str | None = None
        self.cursor = 0
        self.pending: list[dict[str, Any]] = []
        self.sent = 0
        self.line = test.line  # of the step being played

    async def run(self) -> None:
        if self.test.at is not None:
            await self._set_clock(self.test.at)
        for step in self.test.steps:
            self.line = step.line
            await self.play(step)
        last = self.test.steps[-1].line if self.test.steps else self.test.line
        await self._nothing_unread(last, "after the last step")

    async def play(self, step: Step) -> None:
        match step.action:
            case "say":
                await self._nothing_unread(step.line, "before this message")
                await self._say(step)
            case "expect":
                await self._expect(step)
            case "wait":
                await self._nothing_unread(step.line, "before this wait")
                # Skips exactly this long: the server unlocks time skipping for the sleep and
                # locks it again. (Inside `time_skipping_unlocked()` it would stay unlocked
                # after the sleep and could race on to the next timer before we look.)
                await self.stack.env.sleep(step.value)
            case "agent":
                await self._nothing_unread(step.line, "before this agent action")
                await self._agent(step)
            case "leave":
                await self._nothing_unread(step.line, "before leaving")
                response = await self.stack.http.post(
                    f"/api/conversations/{self._conversation(step)}/leave"
                )
                _check_http(step, "leave", response)
            case "expect_offer":
                await self._sync(step)
                await offers.expect_offer(
                    step,
                    self.stack.http,
                    self.stack.agents,
                    self._conversation(step),
                    MESSAGE_DEADLINE_SECONDS,
                    POLL_SECONDS,
                )
            case "expect_status" | "expect_variables":
                await self._sync(step)
                await self._eventually(step)

    async def _eventually(self, step: Step) -> None:
        """Check the conversation's state; a timer that has just fired may still be running,
        so a wrong answer is asked again until the deadline."""
        deadline = asyncio.get_running_loop().time() + MESSAGE_DEADLINE_SECONDS
        while True:
            snapshot = await self._snapshot(step)
            problem = state_problem(step, snapshot)
            if problem is None:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise StepFailed(step.line, problem)
            await asyncio.sleep(POLL_SECONDS)

    # --- customer ---

    async def _say(self, step: Step) -> None:
        self.sent += 1
        body: dict[str, Any] = {
            "contact_id": self.contact_id,
            "message_id": f"{self.contact_id}-{self.sent}",
            "text": step.value,
        }
        if self.contact:
            body["contact"] = self.contact
        response = await self.stack.http.post(f"/api/bots/{self.flow.bot}/messages", json=body)
        if response.status_code == 202:
            raise StepFailed(step.line, "the message was accepted but no worker answered in time")
        _check_http(step, "say", response)
        turn = response.json()
        if turn["conversation_id"] != self.conversation_id:  # the first, or one after an end
            self.conversation_id, self.cursor, self.pending = turn["conversation_id"], 0, []
        self._receive(turn["replies"])

    def _receive(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if message["seq"] <= self.cursor:
                continue
            self.cursor = message["seq"]
            if message["from"] != "customer":
                self.pending.append(message)

    # --- reading what the conversation said ---

    async def _expect(self, step: Step) -> None:
        if not self.pending:
            await self._sync(step, wait_for_one=True)
        if not self.pending:
            raise StepFailed(step.line, f"expected {describe(step.value)}, got no message")
        message = self.pending.pop(0)
        problem = mismatch(step.value, message)
        if problem:
            raise StepFailed(step.line, problem)

    async def _nothing_unread(self, line: int, when: str) -> None:
        if self.conversation_id is None:
            return
        await self._sync(None)
        if self.pending:
            message = self.pending[0]
            more = f" (and {len(self.pending) - 1} more)" if len(self.pending) > 1 else ""
            raise StepFailed(
                line,
                f"unexpected {message['from']} message {quote(message.get('text'))}{more} {when}"
                " (add an expect step for it)",
            )

    async def _sync(self, step: Step | None, *, wait_for_one: bool = False) -> None:
        """Read the transcript up to what the workflow has said (the SQL log is written in
        batches, a moment later); with `wait_for_one`, until a new message or the deadline."""
        if self.conversation_id is None:
            return
        deadline = asyncio.get_running_loop().time() + MESSAGE_DEADLINE_SECONDS
        while True:
            last_seq = (await self._snapshot(step)).last_seq
            messages = await self._messages(self.cursor)
            self._receive(messages)
            caught_up = self.cursor >= last_seq
            if (caught_up and (self.pending or not wait_for_one)) or (
                asyncio.get_running_loop().time() > deadline
            ):
                return
            await asyncio.sleep(POLL_SECONDS)

    async def _messages(self, after: int) -> list[dict[str, Any]]:
        response = await self.stack.http.get(
            f"/api/conversations/{self.conversation_id}/messages", params={"after": after}
        )
        return response.json() if response.status_code == 200 else []

    async def _snapshot(self, step: Step | None) -> Any:
        from store.conversations import get_conversation
        from workflows.conversation import ConversationWorkflow

        line = step.line if step else self.test.line
        row = get_conversation(self.stack.engine, self._conversation(step))
        if row is None:
            raise StepFailed(line, "the conversation is not in the log")
        handle = self.stack.client.get_workflow_handle(row.workflow_id)
        return await handle.query(ConversationWorkflow.snapshot)

    def _conversation(self, step: Step | None) -> str:
        if self.conversation_id is None:
            line = step.line if step else self.test.line
            raise StepFailed(line, "no conversation yet (start with a `say` step)")
        return self.conversation_id

    async def transcript_tail(self) -> list[str]:
        if self.conversation_id is None:
            return []
        messages: list[dict[str, Any]] = []
        try:
            last_seq = (await self._snapshot(None)).last_seq
            deadline = asyncio.get_running_loop().time() + MESSAGE_DEADLINE_SECONDS
            while asyncio.get_running_loop().time() < deadline:
                messages = await self._messages(0)
                if messages and messages[-1]["seq"] >= last_seq:
                    break
                await asyncio.sleep(POLL_SECONDS)
        except Exception:  # noqa: BLE001 - only decoration of a failure
            log.debug("no transcript", exc_info=True)
        lines = [f"{m['from']}: {one_line(m.get('text'))}" for m in messages[-TRANSCRIPT_TAIL:]]
        return ["conversation so far:", *(f"  {line}" for line in lines)] if lines else []

    # --- agents ---

    async def _agent(self, step: Step) -> None:
        action, argument = step.value
        name = step.agent or next(iter(self.stack.agents), None)
        if name not in self.stack.agents:
            known = ", ".join(self.stack.agents) or "none (the bot has no human block)"
            raise StepFailed(step.line, f"no agent {name!r} (agents: {known})")
        headers = self.stack.agents[name]
        http = self.stack.http
        if action == "status":
            response = await http.post(
                "/api/agent/status", json={"status": argument}, headers=headers
            )
        elif action == "next":
            response = await http.post("/api/agent/next", headers=headers)
        elif action in ("accept", "decline"):
            response = await offers.answer_offer(
                step,
                http,
                str(name),
                headers,
                self._conversation(step),
                MESSAGE_DEADLINE_SECONDS,
                POLL_SECONDS,
            )
        else:
            url = f"/api/agent/conversations/{self._conversation(step)}"
            match action:
                case "pickup":
                    response = await http.post(f"{url}/pickup", headers=headers)
                case "say":
                    response = await http.post(
                        f"{url}/messages", json={"text": argument}, headers=headers
                    )
                case "transfer":
                    response = await http.post(f"{url}/transfer", json=argument, headers=headers)
                case _:
                    response = await http.post(f"{url}/finish", json=argument, headers=headers)
        _check_http(step, f"agent {name} {action}", response)

    # --- the clock ---

    async def _set_clock(self, at: At) -> None:
        now = await self.stack.env.get_current_time()
        zone = ZoneInfo(self.flow.schedule.timezone if self.flow.schedule else DEFAULT_TIMEZONE)
        target = resolve_at(at, now, zone)
        if target < now:
            raise StepFailed(
                self.test.line,
                f"at: {at.text} is in the past: the test server's clock starts now"
                f" ({now.astimezone(zone):%Y-%m-%d %H:%M %Z}) and cannot go back;"
                " use a later date or a recurring moment such as `mon 10:00`",
            )
        if target > now:
            await self.stack.env.sleep(target - now)


def resolve_at(at: At, now: datetime, zone: ZoneInfo) -> datetime:
    """The instant `at` names: as written (local time of `zone` when it has no offset), or the
    first recurring moment (`mon 10:00`, `12-25 10:00` in `zone`) after `now`."""
    if at.instant is not None:
        instant = at.instant
        return instant if instant.tzinfo else instant.replace(tzinfo=zone)
    local = now.astimezone(zone)
    day = local.date()
    for offset in range(366 * 8 + 1):
        candidate_day = day + timedelta(days=offset)
        if at.weekday is not None and candidate_day.weekday() != at.weekday:
            continue
        if at.month_day is not None and (candidate_day.month, candidate_day.day) != at.month_day:
            continue
        candidate = datetime.combine(candidate_day, datetime.min.time(), zone).replace(
            hour=at.hour, minute=at.minute
        )
        if candidate > now:
            return candidate
    raise ValueError(f"no date matches {at.text}")  # pragma: no cover - 8 years hold a 02-29


def _check_http(step: Step, what: str, response: httpx.Response) -> None:
    if response.status_code < 300:
        return
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    raise StepFailed(step.line, f"{what}: HTTP {response.status_code} {one_line(str(detail))}")
