"""The flow interpreter: walks a bot's blocks and says what to do next. No Temporal, no I/O.

Every entry point takes the flow and the conversation's :class:`FlowState` and returns a
:class:`Turn`: the replies to send, the new state and what the conversation waits for next
(customer input, an HTTP call's result, a human handoff's outcome, or nothing: it ended). The
workflow maps those waits to Temporal timers, updates and activities; the interpreter itself is
plain Python, so it is deterministic and easy to test.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, Field

from bots import env_refs, patterns
from bots.models import (
    BotFlow,
    ConditionBlock,
    EndBlock,
    EscapeRoute,
    HttpBlock,
    HumanBlock,
    HumanOutcome,
    MenuBlock,
    MessageBlock,
    QuestionBlock,
    SetBlock,
)
from bots.templates import evaluate, render
from bots.url_templates import UnrenderableUrl, render_url

MAX_STEPS_PER_TURN = 100
"""Circuit breaker: a turn that runs this many blocks without waiting is a loop."""


class Reply(BaseModel):
    """One message from the bot to the customer."""

    kind: Literal["text", "menu", "notice"] = "text"
    text: str
    options: list[str] | None = None


class FlowState(BaseModel):
    """Where a conversation stands in its flow; carried across continue-as-new."""

    block: str | None = None
    """The block waiting for the customer (question/menu), or running (http/human)."""
    variables: dict[str, Any] = Field(default_factory=dict)
    contact: dict[str, Any] = Field(default_factory=dict)
    agent: dict[str, Any] | None = None
    next_opening: str | None = None
    retries: int = 0
    started: bool = False
    ended: bool = False

    def context(self) -> dict[str, Any]:
        """What templates see: collected variables plus the runtime's reserved names."""
        return {
            **self.variables,
            "contact": self.contact,
            "agent": self.agent or {},
            "next_opening": self.next_opening or "",
        }


class AwaitInput(BaseModel):
    kind: Literal["await_input"] = "await_input"
    timeout_seconds: int | None = None


class HttpRequest(BaseModel):
    """A rendered call; ``url`` and ``headers`` are marked (:mod:`bots.env_refs`): the activity
    resolves their ``${NAME}`` and turns ``$$`` back into ``$``."""

    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    timeout_seconds: float = 10


class CallHttp(BaseModel):
    kind: Literal["call_http"] = "call_http"
    request: HttpRequest


class HandOver(BaseModel):
    kind: Literal["hand_over"] = "hand_over"
    block: str


class Ended(BaseModel):
    kind: Literal["ended"] = "ended"


Wait = AwaitInput | CallHttp | HandOver | Ended


class HttpResult(BaseModel):
    """What an HTTP block saves: `{{ pedido.ok }}`, `{{ pedido.status }}`, `{{ pedido.body }}`."""

    ok: bool
    status: int = 0
    body: Any = None
    error: str | None = None


class Turn(BaseModel):
    replies: list[Reply]
    state: FlowState
    wait: Wait = Field(discriminator="kind")


class FlowLoopError(Exception):
    """A turn ran MAX_STEPS_PER_TURN blocks without waiting for the customer."""


def start(flow: BotFlow, state: FlowState) -> Turn:
    """Begin the flow at its start block."""
    state = state.model_copy(update={"started": True})
    return _run(flow, state, flow.start, [])


def answer(flow: BotFlow, state: FlowState, text: str) -> Turn:
    """The customer said `text` while the flow waits for input."""
    if state.ended or state.block is None:
        return Turn(replies=[], state=state, wait=Ended() if state.ended else AwaitInput())
    block = flow.blocks[state.block]
    if isinstance(block, QuestionBlock):
        return _answer_question(flow, state, block, text)
    if isinstance(block, MenuBlock):
        return _answer_menu(flow, state, block, text)
    return Turn(replies=[], state=state, wait=_wait_of(flow, state))


def timeout(flow: BotFlow, state: FlowState) -> Turn:
    """The customer did not answer within the waiting block's `timeout_seconds`."""
    block = flow.blocks[state.block] if state.block else None
    if isinstance(block, QuestionBlock | MenuBlock) and block.on_timeout:
        return _run(flow, state, block.on_timeout, [])
    return Turn(replies=[], state=state, wait=_wait_of(flow, state))


def http_done(flow: BotFlow, state: FlowState, result: HttpResult) -> Turn:
    """The running HTTP block's call finished."""
    block = flow.blocks[state.block] if state.block else None
    if not isinstance(block, HttpBlock):
        return Turn(replies=[], state=state, wait=_wait_of(flow, state))
    variables = dict(state.variables)
    if block.save_as:
        variables[block.save_as] = result.model_dump()
    state = state.model_copy(update={"variables": variables})
    target = block.on_error if (not result.ok and block.on_error) else block.next
    return _run(flow, state, target, [])


def human_done(flow: BotFlow, state: FlowState, outcome: HumanOutcome) -> Turn:
    """The running Humano block ended with `outcome` (finished, closed, abandoned, ...)."""
    block = flow.blocks[state.block] if state.block else None
    if not isinstance(block, HumanBlock):
        return Turn(replies=[], state=state, wait=_wait_of(flow, state))
    target = block.on.get(outcome) or block.next
    if target is None:
        return _end(state, [])
    return _run(flow, state, target, [])


def jump(flow: BotFlow, state: FlowState, target: str) -> Turn:
    """Go to a block directly (an escape route's `goto`)."""
    return _run(flow, state, target, [])


def matching_escape_route(flow: BotFlow, text: str) -> EscapeRoute | None:
    """The first route with a keyword in `text` as a whole word (any case, any accents)."""
    words = normalize(text)
    padded = f" {words} "
    for route in flow.escape_routes:
        for keyword in route.keywords:
            if f" {normalize(keyword)} " in padded:
                return route
    return None


def escape(flow: BotFlow, state: FlowState, route: EscapeRoute) -> Turn:
    """Apply an escape route: say its text (staying put) or jump to its block."""
    if route.goto:
        return jump(flow, state, route.goto)
    replies = [Reply(text=render(route.text or "", state.context()))]
    return Turn(replies=replies, state=state, wait=_wait_of(flow, state))


def normalize(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: how keywords and labels are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _wait_of(flow: BotFlow, state: FlowState) -> Wait:
    if state.ended:
        return Ended()
    block = flow.blocks[state.block] if state.block else None
    if isinstance(block, QuestionBlock | MenuBlock):
        return AwaitInput(timeout_seconds=block.timeout_seconds)
    return AwaitInput()


def _answer_question(flow: BotFlow, state: FlowState, block: QuestionBlock, text: str) -> Turn:
    value = text.strip()
    if block.pattern is None or patterns.fullmatch(block.pattern, value):
        variables = {**state.variables, block.save_as: value}
        state = state.model_copy(update={"variables": variables, "retries": 0})
        return _run(flow, state, block.next, [])
    return _retry(flow, state, block, block.retry_text)


def _answer_menu(flow: BotFlow, state: FlowState, block: MenuBlock, text: str) -> Turn:
    choice = normalize(text)
    for number, option in enumerate(block.options, start=1):
        label = render(option.label, state.context())  # as the customer saw it in the prompt
        names = {str(number), normalize(label), *(normalize(k) for k in option.keywords)}
        if choice in names:
            variables = dict(state.variables)
            if block.save_as:
                variables[block.save_as] = label
            state = state.model_copy(update={"variables": variables, "retries": 0})
            return _run(flow, state, option.next, [])
    return _retry(flow, state, block, block.invalid_text)


def _retry(
    flow: BotFlow, state: FlowState, block: QuestionBlock | MenuBlock, retry_text: str
) -> Turn:
    retries = state.retries + 1
    if retries > block.max_retries and block.on_invalid:
        return _run(flow, state.model_copy(update={"retries": 0}), block.on_invalid, [])
    state = state.model_copy(update={"retries": retries})
    replies = [Reply(text=render(retry_text, state.context())), _prompt(block, state)]
    return Turn(
        replies=replies, state=state, wait=AwaitInput(timeout_seconds=block.timeout_seconds)
    )


def _prompt(block: QuestionBlock | MenuBlock, state: FlowState) -> Reply:
    text = render(block.text, state.context())
    if isinstance(block, QuestionBlock):
        return Reply(text=text)
    labels = [render(option.label, state.context()) for option in block.options]
    numbered = "\n".join(f"{n}. {label}" for n, label in enumerate(labels, start=1))
    return Reply(kind="menu", text=f"{text}\n{numbered}", options=labels)


def _end(state: FlowState, replies: list[Reply]) -> Turn:
    state = state.model_copy(update={"ended": True, "block": None})
    return Turn(replies=replies, state=state, wait=Ended())


def _run(flow: BotFlow, state: FlowState, name: str, replies: list[Reply]) -> Turn:
    """Walk blocks from `name` until one waits; collect what they say on the way."""
    replies = list(replies)
    for _ in range(MAX_STEPS_PER_TURN):
        block = flow.blocks[name]
        state = state.model_copy(update={"block": name, "retries": 0})
        context = state.context()
        match block:
            case MessageBlock():
                replies.append(Reply(text=render(block.text, context)))
                name = block.next
            case QuestionBlock() | MenuBlock():
                replies.append(_prompt(block, state))
                return Turn(
                    replies=replies,
                    state=state,
                    wait=AwaitInput(timeout_seconds=block.timeout_seconds),
                )
            case ConditionBlock():
                name = next(
                    (b.next for b in block.branches if evaluate(b.when, context)), block.otherwise
                )
            case SetBlock():
                values = {key: render(value, context) for key, value in block.values.items()}
                state = state.model_copy(update={"variables": {**state.variables, **values}})
                name = block.next
            case HttpBlock():
                request = HttpRequest(
                    method=block.method,
                    # Values encoded in the URL change the activity's input, not the workflow's
                    # commands (replay checks an activity's type and id): no patch needed.
                    url=_render_marked(block.url, context, url=True),
                    headers={k: _render_marked(v, context) for k, v in block.headers.items()},
                    body=_render_value(block.body, context),
                    timeout_seconds=block.timeout_seconds,
                )
                return Turn(replies=replies, state=state, wait=CallHttp(request=request))
            case HumanBlock():
                return Turn(replies=replies, state=state, wait=HandOver(block=name))
            case EndBlock():
                if block.text:
                    replies.append(Reply(text=render(block.text, context)))
                return _end(state, replies)
    raise FlowLoopError(f"more than {MAX_STEPS_PER_TURN} blocks in one turn (stopped at '{name}')")


def _render_marked(source: str, context: dict[str, Any], *, url: bool = False) -> str:
    """A URL or header: ``${NAME}`` kept for the activity, every other ``$`` doubled. In a URL,
    each value is one encoded component (:func:`bots.url_templates.render_url`): a customer's
    ``1/../admin?x#`` cannot change its path or query."""
    rendering = render_url if url else render
    try:
        return env_refs.render_marked(source, lambda text: rendering(text, context))
    except UnrenderableUrl:  # no URL at all, never its first part: the call fails (on_error)
        return ""


def _render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render every string inside an HTTP body (dicts and lists included)."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, dict):
        return {key: _render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_value(item, context) for item in value]
    return value
