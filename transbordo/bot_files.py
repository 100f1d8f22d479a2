"""Bot files of a flows folder, read as `transbordo up` and the flow tests need them.

The Omni key of a bot file is usually a `${VAR}` (a deployment secret): these helpers find the
variable, load a file with unset variables standing in, and list the Humano blocks' services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bots.models import BotFlow, HumanBlock

OMNI_KEY = re.compile(
    r"""(?:^|[\s{,])omni_key:\s*(["']?)(?P<value>\$\{(?P<var>[A-Za-z_]\w*)\}|[^"'\s#,}]+)\1""",
    re.M,
)
"""`omni_key:` in a bot file, with the variable it reads (`${LOJA_OMNI_KEY}`) or a literal key."""
DEFAULT_SERVICE = "Suporte"
"""The service prepared for Humano blocks that name none (they queue in the key's service)."""
PLACEHOLDER = "unset-omni-key"


@dataclass(frozen=True)
class BotFile:
    """A bot file that loaded: its flow and the Omni key variable it reads (if any)."""

    path: Path
    flow: BotFlow
    key_variable: str | None


def bot_paths(folder: Path) -> list[Path]:
    """The bot files `up` publishes: `*.yaml`/`*.yml` of the folder, not the `*.test.yaml`."""
    if not folder.is_dir():
        return []
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [p for p in paths if not p.name.endswith((".test.yaml", ".test.yml"))]


def flows_folder_warnings(folder: Path) -> list[str]:
    """`up`'s console line when there is no flows folder (`flows` is relative to where `up`
    runs): no bot is published from it and the demo waits for a start that has one."""
    if folder.is_dir():
        return []
    return [f"Warning: no flows folder at {folder}: no bots published (use --flows)"]


def key_variable(source: str) -> str | None:
    """The variable a bot file's `omni_key` reads, if it reads one."""
    match = OMNI_KEY.search(source)
    return match["var"] if match else None


def read_bot_files(folder: Path, env: dict[str, str]) -> list[BotFile]:
    """The bot files of `folder` that load (a broken one is the API's to report, with its line),
    an unset Omni key variable standing in as a placeholder."""
    from bots.errors import FlowError
    from bots.loader import load_flow
    from transbordo.settings import get_settings

    found = []
    for path in bot_paths(folder):
        try:
            source = path.read_text(encoding="utf-8-sig")
            variable = key_variable(source)
            values = dict(env)
            if variable and variable not in values:
                values[variable] = PLACEHOLDER
            flow = load_flow(source, str(path), env=values, limits=get_settings().flow_limits())
        except (OSError, UnicodeDecodeError, FlowError):
            continue
        found.append(BotFile(path, flow, variable))
    return found


def services_of(flow: BotFlow) -> list[str]:
    """The services a bot's Humano blocks queue in, in the order of the file; a block naming
    none queues in its key's service, the first one here (or DEFAULT_SERVICE)."""
    named: list[str] = []
    for block in flow.blocks.values():
        if isinstance(block, HumanBlock) and block.service and block.service not in named:
            named.append(block.service)
    return named or [DEFAULT_SERVICE]
