"""How big a bot may be and which environment variables it may read: the operator's limits.

One frozen value the loader takes; the operator's come from the settings
(``TRANSBORDO_FLOW_MAX_BLOCKS``, ``TRANSBORDO_FLOW_MAX_BYTES``, ``TRANSBORDO_FLOW_ENV_ALLOW``:
``Settings.flow_limits()``), passed in by whoever loads a flow; without one, the defaults here.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

MAX_BLOCKS = 2_000
"""Blocks per bot: a large contact-center flow has a few hundred."""
MAX_BYTES = 512 * 1024
"""Bytes of a bot file (UTF-8): ten times the largest flow seen in practice."""
ENV_ALLOW = ("FLOW_*",)
"""Names (``*`` wildcards) a flow's ``http`` blocks and ``omni_key`` may read."""
OMNI_KEY_NAMES = "*_OMNI_KEY"
"""``omni_key`` may also read these: the key is only ever hashed, never stored nor sent."""
ENV_NEVER = ("TRANSBORDO_*", "TEMPORAL_*", "DATABASE_URL")
"""The service's own secrets: refused whatever the allow list says."""


@dataclass(frozen=True)
class FlowLimits:
    max_blocks: int = MAX_BLOCKS
    max_bytes: int = MAX_BYTES
    env_allow: tuple[str, ...] = ENV_ALLOW

    def allows(self, name: str, *, omni_key: bool = False) -> bool:
        """May a flow read environment variable ``name`` (in ``omni_key`` when told so)?"""
        if any(fnmatchcase(name, pattern) for pattern in ENV_NEVER):
            return False
        patterns = (*self.env_allow, OMNI_KEY_NAMES) if omni_key else self.env_allow
        return any(fnmatchcase(name, pattern) for pattern in patterns)

    def allowed(self, *, omni_key: bool = False) -> tuple[str, ...]:
        """The names (``*`` wildcards) a flow may read (in ``omni_key`` when told so)."""
        return (*self.env_allow, OMNI_KEY_NAMES) if omni_key else self.env_allow

    def refusal(self, name: str, *, omni_key: bool = False) -> str:
        """Why ``name`` may not be read, for a flow error."""
        allowed = ", ".join(self.allowed(omni_key=omni_key))
        return (
            f"environment variable {name} is not one a flow may read (allowed here: {allowed};"
            " the operator sets TRANSBORDO_FLOW_ENV_ALLOW)"
        )
