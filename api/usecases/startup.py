"""Start-up work of the API: publish the bots found in the flows folder."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from api.usecases.publishing import PublishError, publish_source
from transbordo.settings import Settings

log = logging.getLogger(__name__)


def publish_flows_dir(engine: Engine, settings: Settings) -> None:
    """Publish every bot file of the flows folder (a new version only when it changed).

    A broken file is reported and skipped: the other bots still start.
    """
    folder = settings.flows_dir
    if not folder.is_dir():
        return
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        if path.name.endswith((".test.yaml", ".test.yml")):
            continue
        try:
            version, created, warnings = publish_source(
                engine, path.stem, path.read_text(encoding="utf-8"), settings.flow_limits()
            )
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
