"""A channel's menu button presses, mixed into ConversationWorkflow: read against the menu
asked now (the pure workflows/menu_press.py) under the workflow's lock, so each press is read
against the menu of its own turn; an older menu's press answers nothing but an escape route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bots.models import MenuBlock
    from workflows import interpreter, menu_press
    from workflows.contracts import CustomerMessage

from workflows import patches

if TYPE_CHECKING:
    from workflows.core import ConversationCore

    class _Core(ConversationCore, Protocol):
        def _await_input(self, timeout_seconds: int | None) -> None: ...

else:
    _Core = object


class ButtonPresses(_Core):
    """Reading presses; the workflow provides `ConversationCore` and `_await_input`."""

    def _read_press(self, msg: CustomerMessage) -> menu_press.Press:
        """A button's press read against the menu asked now (patch `menu-press`, asked only by
        runs that get a press: before it, the number read against whatever was asked)."""
        text, tag = menu_press.tag_of(msg, on_a_channel=self._input.channel is not None)
        if tag is None or not patches.patched(patches.MENU_PRESS):
            return menu_press.Press(msg.text)
        return menu_press.read(
            msg.model_copy(update={"text": text}), tag, self.conv, self._input.flow
        )

    def _escapes(self, text: str) -> bool:
        """An older button's label that names an escape route still takes it (bot only)."""
        bot = self.conv.csat is None and self.conv.status == "bot"
        return bot and interpreter.matching_escape_route(self._input.flow, text) is not None

    def _ask_again(self, press: menu_press.Press) -> None:
        """Tell the customer the button was an older question's, and ask the current again."""
        self._append("bot", text=menu_press.STALE_NOTICE)
        asked = press.ask_again
        assert asked is not None
        self._append("bot", kind="menu", text=asked.text, options=asked.options)
        block = self._input.flow.blocks.get(self.conv.state.block or "")
        if self.conv.csat is None and isinstance(block, MenuBlock):  # its time starts over
            self._await_input(block.timeout_seconds)
