"""What a valid flow may do unnoticed: publishing warnings (not errors, the bot is published).

Each is a `FlowIssue` with its place and a stable code, as the loader's errors are; the pages say
them in pt-BR by their words (api/static/js/yaml_editor.js `WARNINGS_PT`).
"""

from __future__ import annotations

from bots.errors import FlowIssue
from bots.models import BotFlow, HumanBlock
from bots.places import located
from bots.schedule import never_open
from bots.yaml_nodes import Locator, compose

UNROUTED_CLOSED = (
    "checks hours (check_hours, the default) but has no `closed` route (on.closed or next):"
    " out of hours, on a holiday or under emergency closure the customer would be ended without"
    " a word; add `on: {closed: <block>}` with a message such as"
    ' "Voltamos {{ next_opening }}.", or `check_hours: false`'
)
"""A publishing warning (not an error: such a bot still works while service is open)."""

NEVER_OPEN = (
    "opens on no day, so every Humano block that checks hours (check_hours, the default) ends"
    " `closed` at any time: give the days their windows, or leave `hours` out to serve at any"
    " hour (holidays and the emergency closure still close)"
)
"""A publishing warning: `hours: {}` (or only empty days) is a bot closed for good."""


def flow_warnings(flow: BotFlow, source: str, filename: str) -> list[FlowIssue]:
    """What a valid flow may do unnoticed: a Humano block that checks hours with nowhere for the
    `closed` outcome to go ends the conversation in silence. Said even with no `schedule` yet:
    hours and the emergency closure are set later, on the bot's Atendimento Humano page. And
    hours that open on no day, while a Humano block checks them (`never_open`)."""
    root = compose(source)
    if root is None:  # pragma: no cover - `flow` was loaded from this source
        return []
    locator = Locator(root, filename)
    blocks = flow.blocks.items()
    checking = [(n, b) for n, b in blocks if isinstance(b, HumanBlock) and b.check_hours]
    warnings: list[FlowIssue] = []
    if checking and flow.schedule is not None and never_open(flow.schedule):
        where = ("schedule", "hours")
        warnings.append(locator.at(where, located(where, NEVER_OPEN), "never_open", key=True))
    for name, block in checking:
        if "closed" not in block.on and block.next is None:
            path = ("blocks", name)
            message = located(path, UNROUTED_CLOSED)
            warnings.append(locator.at(path, message, "unrouted_closed", {"block": name}, key=True))
    return warnings


def key_warning(source: str, filename: str, message: str, code: str) -> FlowIssue:
    """A warning about the bot's Omni key (its variable not set, the key not registered) at its
    `omni_key` (or, with none, its `human_service`), as the flow's other warnings are placed."""
    root = compose(source)
    if root is None:  # pragma: no cover - the flow was loaded from this source
        return FlowIssue(file=filename, line=1, column=1, message=message, code=code)
    return Locator(root, filename).at(("human_service", "omni_key"), message, code)
