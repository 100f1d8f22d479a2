"""The demo `transbordo up` prepares on its first start with the bot, so a newcomer sees a
handoff at once.

For every bot file of the flows folder whose Omni key is a `${VAR}` nobody exported, it creates
the services its Humano blocks name, an integration of the bot with each (the key of the first
becomes the variable's value), and one demo agent serving all of them. The keys and the agent's
token are kept in `<data>/demo/` (mode 600, one file each): later runs on the same folder give
the keys to the worker and API in their environment and print the same token again. A user who
exports the variable keeps their own key; `up --no-demo` prepares nothing.

A start with nothing to prepare (no flows folder, every key exported) keeps nothing, so the
first start that can prepare the demo does, on a later start too, as long as the database has
no service and no agent of an operator's own (`demo_for`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from encryption.codec import KeyRing
from transbordo.bot_files import read_bot_files, services_of

log = logging.getLogger(__name__)

DEMO_FOLDER = "demo"
AGENT_TOKEN_FILE = "agent_token"
AGENT_NAME = "Demo"


@dataclass
class Demo:
    """What the demo gives `up`: environment variables for the children, the agent's token."""

    keys: dict[str, str] = field(default_factory=dict)
    agent_token: str | None = None


def keep_secret(path: Path, value: str) -> None:
    """Write `value` to `path`, readable by this user only (mode 600 before any byte lands)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(value + "\n")


def kept_demo(data: Path) -> Demo | None:
    """The demo of this data folder, if one was prepared (an empty `demo/` folder, which an
    older `prepare_demo` made before it knew it had nothing to prepare, is none)."""
    folder = data / DEMO_FOLDER
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    demo = Demo()
    for path in sorted(folder.iterdir()):
        value = path.read_text().strip()
        if path.name == AGENT_TOKEN_FILE:
            demo.agent_token = value
        elif value:
            demo.keys[path.name] = value
    return demo


def demo_for(
    engine: Engine,
    flows_dir: Path,
    data: Path,
    env: dict[str, str],
    ring: KeyRing,
    *,
    wanted: bool,
    fresh: bool,
) -> Demo | None:
    """The data folder's kept demo; else, if `wanted`, a new one: on a new (`fresh`) data folder
    as always, on an older one only while the database has no service and no agent (nothing of
    an operator's own for the demo to go over)."""
    kept = kept_demo(data)
    if kept is not None or not wanted:
        return kept
    if not fresh and not _untouched(engine):
        return None
    return prepare_demo(engine, flows_dir, data, env, ring)


def _untouched(engine: Engine) -> bool:
    from store import agents as agent_store
    from store import services as service_store

    return not service_store.list_services(engine) and not agent_store.list_agents(engine)


def prepare_demo(
    engine: Engine, flows_dir: Path, data: Path, env: dict[str, str], ring: KeyRing
) -> Demo:
    """Create the demo's services, integrations and agent; keep its secrets under `data`
    (`ring` encrypts what SQL keeps of a service's secrets)."""
    from omni.models import AgentCreate, IntegrationCreate
    from store import agents as agent_store
    from store import integrations as integration_store

    demo = Demo()
    folder = data / DEMO_FOLDER  # made by the first secret kept: none, nothing prepared
    served: list[str] = []
    for bot_file in read_bot_files(flows_dir, env):
        variable, bot = bot_file.key_variable, bot_file.flow.bot
        if bot_file.flow.human_service is None or not variable or variable in env:
            continue
        services = services_of(bot_file.flow)
        keys = []
        for service in services:
            _ensure_service(engine, service, ring)
            body = IntegrationCreate(service=service, bot=bot)
            keys.append(integration_store.create_integration(engine, body).api_key)
        demo.keys[variable] = keys[0]
        keep_secret(folder / variable, keys[0])
        served += [s for s in services if s not in served]
        log.info("demo: bot %s hands over to %s", bot, ", ".join(services))
    if served:
        agent = agent_store.create_agent(
            engine, AgentCreate(name=_free_agent_name(engine), services=served)
        )
        demo.agent_token = agent.token
        keep_secret(folder / AGENT_TOKEN_FILE, agent.token)
        log.info("demo: agent %s serves %s", agent.name, ", ".join(served))
    return demo


def _ensure_service(engine: Engine, name: str, ring: KeyRing) -> None:
    """The service `name`, created with the defaults unless it exists (a shared database)."""
    from omni.models import ServiceCreate
    from store import services as service_store

    if not any(s.name == name for s in service_store.list_services(engine)):
        service_store.create_service(engine, ServiceCreate(name=name), ring)


def _free_agent_name(engine: Engine) -> str:
    """AGENT_NAME, or AGENT_NAME 2, 3... when a shared database already has one."""
    from store import agents as agent_store

    taken = {agent.name for agent in agent_store.list_agents(engine)}
    return next(n for i in range(1, len(taken) + 2) if (n := _numbered(i)) not in taken)


def _numbered(i: int) -> str:
    return AGENT_NAME if i == 1 else f"{AGENT_NAME} {i}"
