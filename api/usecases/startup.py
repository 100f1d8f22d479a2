"""Start-up work of the API: publish the bots found in the flows folder.

The files seed bots and publish what is new in them; they do not undo what was published on
the pages or through the API since (docs/flows.md, "The flows folder at start-up"). A file is
published when its bot has no version, when the newest version has this file's source (then a
new version only if the resolved flow changed: a new `${VAR}` value), or when no version ever
had this source (the file was edited). Otherwise the file was published before and a newer
version came from elsewhere: that one is kept, said in one line.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from api.usecases.publishing import (
    KEY_HASH_PREFIX,
    MASK,
    UNSET_KEY_PREFIX,
    PublishError,
    masked,
    publish_source,
)
from store import bots as bot_store
from transbordo.bot_files import OMNI_KEY, bot_paths
from transbordo.settings import Settings

log = logging.getLogger(__name__)


def publish_flows_dir(engine: Engine, settings: Settings) -> None:
    """Publish every bot file of the flows folder that is new to its bot (module docstring).

    A broken file is reported and skipped: the other bots still start.
    """
    for path in bot_paths(settings.flows_dir):
        bot, source = path.stem, path.read_text(encoding="utf-8")
        kept = bot_store.replaced_since(engine, bot, _as_stored(source))
        if kept is not None:
            log.info(
                "bot %s: kept version %s, published after the source of %s (on the pages or"
                " the API); the file publishes again once its text changes",
                bot,
                kept,
                path,
            )
            continue
        try:
            version, created, warnings = publish_source(engine, bot, source, settings.flow_limits())
        except PublishError as exc:
            for issue in exc.issues:
                log.error("%s:%s:%s: %s", path, issue["line"], issue["column"], issue["message"])
            continue
        except IntegrityError:  # another API replica published the same file at the same time
            continue
        for warning in warnings:
            log.warning("%s: %s", path, warning)
        if created:
            log.info("published %s as bot %s version %s", path, version.bot, version.version)


def _as_stored(source: str) -> str:
    """`source` as publishing stores it: a literal Omni key masked (publishing's `masked`).
    Where this reading differs from publishing's, the file counts as never published and is
    published, as every file was before the rule."""
    match = OMNI_KEY.search(source)
    if match is None or match["var"]:
        return source
    key = match["value"]
    if key == MASK or key.startswith((KEY_HASH_PREFIX, UNSET_KEY_PREFIX)):
        return source
    return masked(source, key)
