"""bench/bot_turn.py --profile: wall time of named steps of the API's send path."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from functools import wraps
from typing import Any

from temporalio.client import Client

from api.usecases import delivery


class StepTimes:
    """Wall time spent in named steps of the API's send path (with --profile)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.enabled = False

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        if asyncio.iscoroutinefunction(original):

            @wraps(original)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self.step(label):
                    return await original(*args, **kwargs)

            setattr(owner, name, async_wrapper)
        else:

            @wraps(original)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with self.step(label):
                    return original(*args, **kwargs)

            setattr(owner, name, wrapper)

    @contextmanager
    def step(self, label: str):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.enabled:
                self.times[label].append((time.perf_counter() - started) * 1000)

    def report(self, title: str) -> None:
        print(f"\n  where a {title} goes (mean per message):")
        for label, values in self.times.items():
            print(f"    {label:<44} {statistics.fmean(values):7.2f} ms  (x{len(values)})")
        self.times.clear()


def instrument(steps: StepTimes, client: Client) -> None:
    steps.wrap(delivery.conversation_log, "answer_of", "SQL answer_of (replay lookup)")
    label = "SQL latest conversation + newest version (one query)"
    steps.wrap(delivery.conversation_log, "latest_with_newest_version", label)
    steps.wrap(delivery.bot_store, "version_of", "bot version (memory, or SQL + BotFlow parse)")
    label = "SQL ensure_conversation (202 path)"
    steps.wrap(delivery.conversation_log, "ensure_conversation", label)
    steps.wrap(client, "execute_update_with_start_workflow", "Temporal update-with-start")
    # the turn's API path, step by step (an open conversation)
    from api import channel_auth

    steps.wrap(delivery, "_known", "SQL open-conversation / replay lookup")
    steps.wrap(delivery.open_conversations, "get", "open-conversation hint (memory)")
    steps.wrap(delivery, "_to_open_conversation", "Temporal Update (open conversation)")
    steps.wrap(delivery.conversation_log, "record_turn", "SQL record_turn (read-your-writes)")
    credentials = channel_auth.channel_credentials
    steps.wrap(credentials, "bot_of_token", "SQL connector credential (cache miss)")
    converter = client.data_converter.payload_converter
    steps.wrap(converter, "to_payloads", "payload encoding (client side)")
