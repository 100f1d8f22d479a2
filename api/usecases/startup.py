"""Start-up work of the API: publish the bots found in the flows folder.

The files seed bots and publish what is new in them; they do not undo what was published on
the pages or through the API since (docs/flows.md, "The flows folder at start-up"). A file is
published when its bot has no version, when the newest version has this file's source (then a
new version only if the resolved flow changed: a new `${VAR}` value), or when no version ever
had this source (the file was edited). Otherwise the file was published before and a newer
version came from elsewhere: that one is kept, said in one line, and published again so that
its own `${VAR}`s are read anew (a rotated key applies; no new version when nothing changed).
A literal Omni key counts with its text: the same masked text with another key is another
text.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from api.usecases.publishing import PublishError, as_stored, publish_source
from store import bots as bot_store
from transbordo.bot_files import bot_paths
from transbordo.settings import Settings

log = logging.getLogger(__name__)


def publish_flows_dir(engine: Engine, settings: Settings) -> None:
    """Publish every bot file of the flows folder that is new to its bot (module docstring).

    A broken file is reported and skipped: the other bots still start.
    """
    limits = settings.flow_limits()
    for path in bot_paths(settings.flows_dir):
        bot, source = path.stem, path.read_text(encoding="utf-8")
        origin = str(path)
        stored = as_stored(bot, source, limits)
        kept = bot_store.replaced_since(engine, bot, *stored) if stored else None
        newest = bot_store.latest(engine, bot) if kept is not None else None
        if newest is not None:
            log.info(
                "bot %s: kept version %s, published after the source of %s (on the pages or"
                " the API); the file publishes again once its text changes",
                bot,
                kept,
                path,
            )
            # the kept text published again: its ${VAR}s read anew (a rotated key applies)
            source, origin = newest.source, f"the kept version {kept}"
        try:
            version, created, warnings = publish_source(engine, bot, source, limits)
        except PublishError as exc:
            for issue in exc.issues:
                log.error("%s:%s:%s: %s", path, issue["line"], issue["column"], issue["message"])
            continue
        except IntegrityError:  # another API replica published the same file at the same time
            continue
        for warning in warnings:
            log.warning("%s: %s", origin, warning)
        if created:
            log.info("published %s as bot %s version %s", origin, version.bot, version.version)
