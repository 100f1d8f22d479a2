"""`transbordo up` without a flows folder says so, and the demo waits for the first start that
can prepare it: a later start with the bot's file, not only a new data folder; never twice,
never over an operator's own services."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import sqlalchemy as sa

from encryption.codec import KeyRing
from omni.models import ServiceCreate
from store import agents as agent_store
from store import services as service_store
from tests.test_up import (
    ADMIN_TOKEN,
    AGENT_TOKEN,
    FLOWS,
    REPLY_DEADLINE_SECONDS,
    no_log_lines,
    transbordo_up,
)
from transbordo.demo import demo_for
from transbordo.settings import Settings


def test_up_without_flows_says_so_and_a_later_start_with_flows_prepares_the_demo(
    tmp_path: Path,
) -> None:
    data_dir, missing = tmp_path / "data", tmp_path / "elsewhere" / "flows"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with transbordo_up(data_dir, ADMIN_TOKEN, "--flows", str(missing)) as up:
        up.wait_for_addresses()
        warnings = [line for line in up.printed if line.startswith("Warning:")]
        assert warnings == [
            f"Warning: no flows folder at {missing}: no bots published (use --flows)"
        ], up.printed
        assert up.printed_value(AGENT_TOKEN) is None
        no_log_lines(up.printed)
        with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
            assert http.get("/api/bots", headers=admin).json() == []
        assert "stopped" in up.interrupt()
    assert not (data_dir / "demo").exists()

    with transbordo_up(data_dir, ADMIN_TOKEN) as up:  # --flows <repo>/flows
        up.wait_for_addresses()
        agent_token = up.printed_value(AGENT_TOKEN)
        assert agent_token, up.printed
        assert not any(line.startswith("Warning:") for line in up.printed), up.printed
        kept = {p.name for p in (data_dir / "demo").iterdir()}
        assert kept == {"LOJA_OMNI_KEY", "agent_token"}
        with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
            services = http.get("/api/omni/services", headers=admin).json()
            assert [s["name"] for s in services] == ["Suporte"]
            agents = http.get("/api/omni/agents", headers=admin).json()
            assert [(a["name"], a["services"]) for a in agents] == [("Demo", ["Suporte"])]
        assert "stopped" in up.interrupt()


def _flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    shutil.copy(FLOWS / "loja.yaml", folder / "loja.yaml")
    return folder


def test_the_demo_is_prepared_once_on_a_start_that_has_its_bot(
    tmp_path: Path, settings: Settings, engine: sa.Engine
) -> None:
    ring, data = KeyRing.generate(), tmp_path / "data"
    data.mkdir()
    nothing = demo_for(engine, tmp_path / "none", data, {}, ring, wanted=True, fresh=True)
    assert nothing is not None and not nothing.keys and nothing.agent_token is None
    assert not (data / "demo").exists()

    flows = _flows(tmp_path)
    first = demo_for(engine, flows, data, {}, ring, wanted=True, fresh=False)
    assert first is not None and set(first.keys) == {"LOJA_OMNI_KEY"} and first.agent_token
    again = demo_for(engine, flows, data, {}, ring, wanted=True, fresh=False)
    assert again == first
    assert [a.name for a in agent_store.list_agents(engine)] == ["Demo"]
    without = demo_for(engine, flows, data, {}, ring, wanted=False, fresh=False)
    assert without == first  # `--no-demo` later still gives the kept keys


def test_the_demo_is_not_prepared_over_an_operators_own_services(
    tmp_path: Path, settings: Settings, engine: sa.Engine
) -> None:
    ring, data = KeyRing.generate(), tmp_path / "data"
    (data / "demo").mkdir(parents=True)  # an empty folder an earlier start left
    service_store.create_service(engine, ServiceCreate(name="Vendas"), ring)
    flows = _flows(tmp_path)
    assert demo_for(engine, flows, data, {}, ring, wanted=True, fresh=False) is None
    assert [s.name for s in service_store.list_services(engine)] == ["Vendas"]
    assert agent_store.list_agents(engine) == []
