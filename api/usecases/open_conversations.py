"""Which workflow holds a contact's open conversation, remembered per API process.

A hint, never the truth: a message to a remembered conversation goes to it as a plain Update,
and when that workflow turns out to have ended (closed, or refusing as ending) the caller
forgets the hint and asks SQL, as without it. So a stale entry costs one failed Update, never a
wrong answer; entries are forgotten when a turn's reply says `ended`, and the least recently
used go past `MAX_ENTRIES`. It saves the SQL lookup of every turn (bench/README.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

MAX_ENTRIES = 20_000

_entries: OrderedDict[tuple[str, str, str], str] = OrderedDict()
_lock = threading.Lock()


def _key(engine: Engine, bot: str, contact_id: str) -> tuple[str, str, str]:
    return (_database(engine), bot, contact_id)


_databases: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()


def _database(engine: Engine) -> str:
    """The database an engine reaches (engines to the same one share hints), rendered once per
    engine instead of on every message."""
    database = _databases.get(engine)
    if database is None:
        database = _databases[engine] = engine.url.render_as_string(hide_password=True)
    return database


def get(engine: Engine, bot: str, contact_id: str) -> str | None:
    """The workflow id last seen holding the contact's open conversation, if any."""
    key = _key(engine, bot, contact_id)
    with _lock:
        wid = _entries.get(key)
        if wid is not None:
            _entries.move_to_end(key)
        return wid


def remember(engine: Engine, bot: str, contact_id: str, workflow_id: str, status: str) -> None:
    """What a turn's reply said: the conversation is open in `workflow_id`, or it ended."""
    key = _key(engine, bot, contact_id)
    with _lock:
        if status == "ended":
            _entries.pop(key, None)
            return
        _entries[key] = workflow_id
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def forget(engine: Engine, bot: str, contact_id: str) -> None:
    with _lock:
        _entries.pop(_key(engine, bot, contact_id), None)
