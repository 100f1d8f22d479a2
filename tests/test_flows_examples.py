"""Every example bot under flows/ and every example in docs/flows.md is valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from bots.loader import load_flow, load_flow_file, validate_path
from bots.models import Channels, EscapeRoute, HumanBlock, HumanService
from bots.schedule import Schedule
from bots.templates import expression_error, template_error
from bots.validation import BLOCK_ADAPTER, block_texts
from bots.yaml_nodes import Builder, compose

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
    # Two ways to a person, both into Suporte: the plantão at any hour, the segunda via within
    # business hours (closed → the next opening in words).
    humano, segunda_via = flow.blocks["humano"], flow.blocks["segunda_via"]
    assert isinstance(humano, HumanBlock) and humano.service == "Suporte"
    assert isinstance(segunda_via, HumanBlock) and segunda_via.service == "Suporte"
    assert humano.check_hours is False and segunda_via.check_hours is True
    assert "{{ next_opening }}" in flow.blocks[segunda_via.on["closed"]].text  # type: ignore[union-attr]
    # Unavailable (no key, or a dead one) is a message to the customer, not silence.
    for block in (humano, segunda_via):
        assert block.on["unavailable"] == "indisponivel"
    assert "{% if contact.name %}" in flow.blocks[flow.start].text  # type: ignore[union-attr]


def test_faq_has_no_human_block() -> None:
    flow = load_flow_file(FLOWS / "faq.yaml", env={})
    assert flow.human_service is None
    assert not any(isinstance(block, HumanBlock) for block in flow.blocks.values())


DOCS = Path(__file__).parent.parent / "docs" / "flows.md"
SNIPPETS = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
SECTIONS = {
    "channels": TypeAdapter(Channels),
    "escape_routes": TypeAdapter(list[EscapeRoute]),
    "human_service": TypeAdapter(HumanService),
    "schedule": TypeAdapter(Schedule),
}


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.split(":")[0])
def test_reference_examples_are_valid(snippet: str) -> None:
    """docs/flows.md: a whole bot loads; a block or a section validates on its own."""
    if snippet.startswith("bot:"):
        load_flow(snippet, "docs/flows.md", env={"LOJA_OMNI_KEY": "k"})
        return
    root = compose(snippet)
    assert root is not None
    builder = Builder("docs/flows.md")
    data = builder.build(root)
    assert not builder.issues
    ((name, value),) = data.items()
    adapter = SECTIONS.get(name, BLOCK_ADAPTER)
    validated = adapter.validate_python(value)
    if adapter is BLOCK_ADAPTER:
        for _, source, is_expression in block_texts(validated):
            assert (expression_error if is_expression else template_error)(source) is None
