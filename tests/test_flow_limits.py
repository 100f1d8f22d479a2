"""Bounds on what a bot may be and do: blocks and bytes per bot, templates that cannot blow up.

Behaviour, not timing: a template over a bound renders as nothing (and is a flow error at
publish when its constants already break it); a bot over a size limit is a flow error naming it.
"""

from __future__ import annotations

import pytest

from api.usecases.publishing import PublishError, publish_source
from bots.templates import MAX_OUTPUT, evaluate, expression_error, render, template_error
from tests.conftest import admin_headers

YAML = {**admin_headers(), "Content-Type": "application/yaml"}


def chain(n: int) -> str:
    lines = ["bot: grande", "start: b0", "blocks:"]
    lines += [f"  b{i}: {{type: message, text: Oi, next: b{i + 1}}}" for i in range(n - 1)]
    lines.append(f"  b{n - 1}: {{type: end}}")
    return "\n".join(lines) + "\n"


def test_the_default_limits_take_2000_blocks_and_refuse_2001(engine) -> None:
    publish_source(engine, "grande", chain(2000))
    with pytest.raises(PublishError) as refused:
        publish_source(engine, "grande", chain(2001))
    assert refused.value.issues == [
        {
            "line": 3,
            "column": 1,
            "message": "blocks: 2,001 blocks; a bot holds at most 2,000"
            " (TRANSBORDO_FLOW_MAX_BLOCKS)",
            "code": "too_many_blocks",
            "ctx": {"count": "2001", "max": "2000"},
        }
    ]


def test_a_file_over_512_kib_is_refused_naming_the_limit(engine) -> None:
    source = chain(2) + "# " + "x" * 512 * 1024 + "\n"
    with pytest.raises(PublishError) as refused:
        publish_source(engine, "grande", source)
    [issue] = refused.value.issues
    assert (issue["line"], issue["column"]) == (1, 1)
    assert "at most 524,288 (TRANSBORDO_FLOW_MAX_BYTES)" in str(issue["message"])


@pytest.mark.asyncio
async def test_a_template_that_would_explode_is_422_with_line_and_column(admin_api) -> None:
    source = "bot: conta\nstart: oi\nblocks:\n  oi: {type: end, text: '{{ 9**(9**6) }}'}\n"
    answer = await admin_api.put("/api/bots/conta", content=source, headers=YAML)
    assert answer.status_code == 422
    [issue] = answer.json()["detail"]
    assert (issue["line"], issue["column"]) == (4, 25)
    assert issue["message"] == (
        "block 'oi', text: template error: the number would be larger than 4096 bits"
    )
    condition = (
        "bot: conta\nstart: c\nblocks:\n"
        "  c: {type: condition, branches: [{if: \"'a' * 10**9 == x\", next: f}], else: f}\n"
        "  f: {type: end}\n"
    )
    answer = await admin_api.put("/api/bots/conta", content=condition, headers=YAML)
    assert answer.status_code == 422
    assert "expression error: the result would be longer than" in answer.text


@pytest.mark.parametrize(
    "source",
    [
        "{{ 9 ** (9 ** 6) }}",
        "{{ 'a' * 10 ** 9 }}",
        "{{ (2 ** 4000) * (2 ** 4000) }}",
        "{{ '%0999999999d' % 1 }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ range(10 ** 6) | list | length }}",
        "{{ 'ab'.center(10 ** 9) }}",
    ],
)
def test_constant_overflows_are_flow_errors(source: str) -> None:
    assert (template_error(source) or "").startswith("template error:")


@pytest.mark.parametrize(
    "source",
    [
        "{{ big * n }}",
        "{{ n ** n }}",
        "{{ big | replace('a', big) }}",
        "{{ big.ljust(n) }}",
        "{{ 'x' | center(n) }}",
        "{{ '%*d' | format(n, 1) }}",
        "{% set ns = namespace(s='a') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s | length }}",
        "{% for i in items %}{% for j in items %}{% endfor %}{% endfor %}done",
        "{% macro f(k) %}{% if k %}{{ f(k - 1) }}{{ f(k - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
        "{% for i in range(200) %}{{ big }}{% endfor %}",
    ],
)
def test_templates_over_a_bound_render_as_nothing(source: str) -> None:
    context = {"big": "a" * 60_000, "n": 10**9, "items": list(range(9_000))}
    assert template_error(source) is None  # nothing constant: only the run time can tell
    assert render(source, context) == ""


def test_ordinary_templates_are_untouched() -> None:
    context = {"nome": "Ana", "itens": ["a", "b"], "total": 12.5, "pedido": {"n": 123456}}
    source = (
        "Olá, {{ nome ~ '!' }} {% for i in itens %}{{ loop.index }}:{{ i | upper }} {% endfor %}"
        "{{ '%.2f' | format(total) }} {{ 'Pedido %s' % pedido.n }} {{ 2 ** 10 }} {{ '-' * 3 }}"
        " {{ '{:>5}'.format(nome) }} {{ itens | join(', ') }}"
    )
    assert render(source, context) == ("Olá, Ana! 1:A 2:B 12.50 Pedido 123456 1024 ---   Ana a, b")
    assert evaluate("nome | length == 3 and total * 2 > 20", context)
    assert len(render("{{ 'a' * n }}", {"n": MAX_OUTPUT})) == MAX_OUTPUT


def test_no_template_draws_at_random() -> None:
    """A workflow renders its templates again on replay: nothing in them may be drawn."""
    assert "random" in (template_error("{{ ['Oi', 'Olá'] | random }}") or "")
    assert render("{{ lipsum(1) }}", {}) == ""  # unknown here: renders as nothing, every time


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__"),
        ("{{ pedido['__globals__'] }}", "__globals__"),
        ("Olá {{ cliente.__dict__ }}", "__dict__"),
    ],
)
def test_python_internals_are_flow_errors_not_empty_texts(source: str, name: str) -> None:
    """The sandbox renders them as nothing: the customer would get an empty message."""
    assert render(source, {"cliente": {"nome": "Ana"}, "pedido": {}}).strip() in ("", "Olá")
    problem = template_error(source) or ""
    assert problem.startswith("template error: '") and name in problem
    assert evaluate("x.__class__ == 1", {"x": 1}) is False
    assert "__class__" in (expression_error("x.__class__ == 1") or "")


def test_json_keys_with_underscores_still_read() -> None:
    """An HTTP block's answer may have `_id` or `__v` keys: items, not Python internals."""
    answer = {"_id": "a1", "__v": 0}
    assert template_error("{{ resposta._id }} {{ resposta.__v }}") is None
    assert render("{{ resposta._id }} {{ resposta.__v }}", {"resposta": answer}) == "a1 0"
