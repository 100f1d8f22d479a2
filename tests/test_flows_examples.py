"""Every example bot under flows/ loads without issues."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bots.loader import load_flow_file, validate_path
from bots.models import HumanBlock

FLOWS = Path(__file__).parent.parent / "flows"
EXAMPLES = sorted(FLOWS.glob("*.yaml"))


def _env_for(path: Path) -> dict[str, str]:
    """A value for every ${VAR} the example reads (their real values are deployment secrets)."""
    names = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", path.read_text(encoding="utf-8"))
    return {name: f"test-{name.lower()}" for name in names}


def test_there_are_examples() -> None:
    assert {"loja.yaml", "faq.yaml"} <= {p.name for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_loads(path: Path) -> None:
    flow = load_flow_file(path, env=_env_for(path))
    assert flow.bot == path.stem
    assert validate_path(path, env=_env_for(path)) == {path: []}


def test_loja_is_the_design_example() -> None:
    flow = load_flow_file(FLOWS / "loja.yaml", env={"LOJA_OMNI_KEY": "ok_test"})
    assert flow.human_service is not None and flow.human_service.omni_key == "ok_test"
    assert flow.human_service.wait_time_notice == "once"
    assert flow.schedule is not None and flow.schedule.timezone == "America/Sao_Paulo"
    humano = flow.blocks["humano"]
    assert isinstance(humano, HumanBlock) and humano.service == "Suporte"
    assert "{{ next_opening }}" in flow.blocks[humano.on["closed"]].text  # type: ignore[union-attr]
    assert "{{ contact.name }}" in flow.blocks[flow.start].text  # type: ignore[union-attr]


def test_faq_has_no_human_block() -> None:
    flow = load_flow_file(FLOWS / "faq.yaml", env={})
    assert flow.human_service is None
    assert not any(isinstance(block, HumanBlock) for block in flow.blocks.values())
