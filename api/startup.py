"""Start-up work of the API: publish the bots found in the flows folder."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from transbordo.settings import Settings

log = logging.getLogger(__name__)


def publish_flows_dir(engine: Engine, settings: Settings) -> None:
    """Publish every `*.yaml` bot of the flows folder (a new version only when it changed)."""
    # Filled in with the bot registry (store/bots.py).
