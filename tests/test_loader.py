"""The flow loader: broken-flow corpus, YAML 1.1 traps, ${VAR}, folders, JSON schema."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.errors import FlowError, FlowIssue
from bots.limits import FlowLimits
from bots.loader import flow_issues, flow_json_schema, load_flow, load_flow_file, validate_path
from bots.models import HttpBlock, HumanBlock, MenuBlock, MessageBlock, QuestionBlock
from bots.validation import BLOCK_TYPES

BROKEN = Path(__file__).parent / "flows_broken"
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$")


def flow(text: str, env: dict[str, str] | None = None, filename: str = "bot.yaml"):
    return load_flow(textwrap.dedent(text), filename, env={} if env is None else env)


def issues(
    text: str, env: dict[str, str] | None = None, limits: FlowLimits | None = None
) -> list[FlowIssue]:
    env = {} if env is None else env
    return flow_issues(textwrap.dedent(text), "bot.yaml", env=env, limits=limits)


# ---------------------------------------------------------------- the broken-flow corpus


def _expectations(path: Path) -> list[tuple[int, int, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = EXPECT.match(line)
        if match is None:
            break
        found.append((int(match[1]), int(match[2]), match[3]))
    return found


CORPUS = sorted(BROKEN.glob("*.yaml"))


def test_corpus_has_a_file_per_rule() -> None:
    assert len(CORPUS) >= 20
    assert all(_expectations(path) for path in CORPUS), "every file starts with '# expect:'"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_flow_reports_each_problem_where_it_is(path: Path) -> None:
    expected = _expectations(path)
    with pytest.raises(FlowError) as raised:
        load_flow_file(path, env={})
    reported = raised.value.issues
    shown = "\n".join(str(issue) for issue in reported)
    for line, column, text in expected:
        assert any((i.line, i.column) == (line, column) and text in i.message for i in reported), (
            f"expected {line}:{column}: {text}\nreported:\n{shown}"
        )
    assert len(reported) == len(expected), f"unexpected extra issues:\n{shown}"
    assert all(issue.file == str(path) for issue in reported)
    assert reported == sorted(reported, key=lambda i: (i.line, i.column))


# ---------------------------------------------------------------- API shape

VALID = """\
    bot: loja
    start: inicio
    blocks:
      inicio: {type: message, text: "Olá, {{ contact.name }}!", next: fim}
      fim: {type: end, text: Tchau}
    """


def test_valid_flow_loads() -> None:
    loaded = flow(VALID)
    assert loaded.bot == "loja"
    assert isinstance(loaded.blocks["inicio"], MessageBlock)


def test_issue_and_error_text() -> None:
    issue = FlowIssue(file="flows/loja.yaml", line=3, column=7, message="boom")
    assert str(issue) == "flows/loja.yaml:3:7: boom"
    assert issue.public() == {
        "line": 3,
        "column": 7,
        "message": "boom",
        "code": "flow_error",
        "ctx": {},
    }
    error = FlowError([issue, issue.model_copy(update={"line": 4})])
    assert str(error) == "flows/loja.yaml:3:7: boom\nflows/loja.yaml:4:7: boom"


def test_all_issues_are_collected_not_just_the_first() -> None:
    found = issues(
        """\
        bot: loja
        start: inicio
        blocks:
          inicio: {type: message, text: Olá, nxt: fim}
          outro: {type: mesage}
          fim: {type: end, text: "{{ x"}
        """
    )
    assert [(i.line, i.column) for i in found] == [(4, 11), (4, 38), (5, 17), (6, 26)]


def test_empty_source_and_filename_default() -> None:
    with pytest.raises(FlowError) as raised:
        load_flow("")
    assert str(raised.value) == (
        "<flow>:1:1: the file is empty (a bot file starts with `bot: <name>`)"
    )


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 8)]
    found = issues("\n".join(lines) + "\n")
    assert len(found) == 1
    assert "too large" in found[0].message


def test_deep_nesting_is_an_issue_not_a_crash() -> None:
    found = issues("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert [str(i) for i in found] == ["bot.yaml:1:1: the document is nested too deeply"]


# ---------------------------------------------------------------- YAML 1.1 traps


def test_yaml_1_1_traps_keep_their_text() -> None:
    loaded = flow(
        """\
        bot: loja
        schedule:
          hours: {mon-fri: [08:00-18:00]}
          holidays:
            - {date: 2026-12-25, name: Natal}
            - {date: 01-01, name: on}
        escape_routes:
          - {keywords: [no, off, yes, on, n, y], text: 18:00}
        start: menu
        blocks:
          menu:
            type: menu
            text: 12:30
            options:
              - {label: no, next: fim}
              - {label: 1, next: fim}
              - {label: Ainda está aí?, next: fim}
          fim: {type: end, text: ~}
        """
    )
    assert loaded.schedule is not None
    assert loaded.schedule.holidays[0].date == "2026-12-25"
    assert loaded.schedule.holidays[1].date == "01-01"
    assert loaded.schedule.holidays[1].name == "on"
    assert loaded.escape_routes[0].keywords == ["no", "off", "yes", "on", "n", "y"]
    assert loaded.escape_routes[0].text == "18:00"
    menu = loaded.blocks["menu"]
    assert isinstance(menu, MenuBlock)
    assert menu.text == "12:30"
    assert [o.label for o in menu.options] == ["no", "1", "Ainda está aí?"]
    assert loaded.blocks["fim"].text is None  # type: ignore[union-attr]


def test_yaml_1_2_booleans_and_numbers() -> None:
    loaded = flow(
        """\
        bot: loja
        human_service: {omni_key: k}
        start: humano
        blocks:
          humano: {type: human, show_agent_name: False, check_hours: TRUE, max_wait_seconds: 0x10}
        """
    )
    block = loaded.blocks["humano"]
    assert isinstance(block, HumanBlock)
    assert (block.show_agent_name, block.check_hours, block.max_wait_seconds) == (False, True, 16)


# ---------------------------------------------------------------- rules that must not fire


def test_flows_that_look_odd_but_are_valid() -> None:
    loaded = flow(
        """\
        bot: loja
        human_service: {omni_key: k}
        escape_routes:
          - {keywords: [ajuda], goto: ajuda}      # reachable only through this route
        start: menu
        blocks:
          menu:
            type: menu
            text: Escolha
            options:
              - {label: Repetir, next: repetir}
              - {label: Humano, next: humano}
          repetir: {type: message, text: De novo, next: menu}   # a loop that waits (menu)
          ajuda: {type: message, text: Ajuda, next: menu}
          humano: {type: human}                                 # no on/next: the runtime ends
        """
    )
    assert set(loaded.blocks) == {"menu", "repetir", "ajuda", "humano"}


def test_self_loop_without_waiting_is_reported() -> None:
    found = issues(
        """\
        bot: loja
        start: eco
        blocks:
          eco: {type: http, url: "https://example.com", next: eco}
        """
    )
    assert [str(i) for i in found] == [
        "bot.yaml:4:3: block 'eco': the loop eco → eco never waits for the customer "
        "(add a question, menu or human block to it, or an end)"
    ]


def test_a_broken_block_does_not_hide_the_rules_of_the_others() -> None:
    found = issues(
        """\
        bot: loja
        start: a
        blocks:
          a: {type: message, text: "{{ x", next: b}
          b: {type: message, text: [wrong], next: a}
        """
    )
    assert [(i.line, i.column, i.message.split(":")[0]) for i in found] == [
        (4, 28, "block 'a', text"),
        (5, 28, "block 'b', text"),
    ]


# ---------------------------------------------------------------- ${VAR}

HTTP_FLOW = """\
    bot: loja
    human_service: {omni_key: "${LOJA_OMNI_KEY}"}
    start: consulta
    blocks:
      consulta:
        type: http
        url: ${FLOW_CRM_URL}/clientes/{{ cpf }}
        headers: {Authorization: "Bearer ${FLOW_CRM_TOKEN}"}
        body: {nota: "${NOT_SUBSTITUTED}"}
        next: fim
      fim: {type: end, text: "${NOT_SUBSTITUTED}"}
    """
ENV = {"LOJA_OMNI_KEY": "ok_123", "FLOW_CRM_URL": "https://crm.x", "FLOW_CRM_TOKEN": "s3cr3t"}


def test_omni_key_is_expanded_and_http_references_stay_placeholders() -> None:
    loaded = flow(HTTP_FLOW, env=ENV)
    assert loaded.human_service is not None and loaded.human_service.omni_key == "ok_123"
    block = loaded.blocks["consulta"]
    assert isinstance(block, HttpBlock)
    assert block.url == "${FLOW_CRM_URL}/clientes/{{ cpf }}"
    assert block.headers == {"Authorization": "Bearer ${FLOW_CRM_TOKEN}"}
    assert block.body == {"nota": "${NOT_SUBSTITUTED}"}
    assert loaded.blocks["fim"].text == "${NOT_SUBSTITUTED}"  # type: ignore[union-attr]
    assert "s3cr3t" not in loaded.model_dump_json()


def test_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**ENV, "LOJA_OMNI_KEY": "from-os"}.items():
        monkeypatch.setenv(name, value)
    loaded = load_flow(textwrap.dedent(HTTP_FLOW))
    assert loaded.human_service is not None and loaded.human_service.omni_key == "from-os"


def test_missing_variables_are_reported_each_at_its_value() -> None:
    found = issues(HTTP_FLOW, env={"FLOW_CRM_URL": "https://crm.example"})
    assert [str(i) for i in found] == [
        "bot.yaml:2:27: human_service.omni_key: environment variable LOJA_OMNI_KEY is not set",
        "bot.yaml:8:30: block 'consulta', headers.Authorization: "
        "environment variable FLOW_CRM_TOKEN is not set",
    ]


def test_only_allowed_variables_are_read_and_the_service_secrets_never() -> None:
    source = HTTP_FLOW.replace("FLOW_CRM_TOKEN", "TRANSBORDO_ADMIN_TOKEN")
    env = {**ENV, "TRANSBORDO_ADMIN_TOKEN": "admin-secret"}
    wide = FlowLimits(env_allow=("*",))
    for limits in (FlowLimits(), wide):
        found = issues(source, env=env, limits=limits)
        assert [(i.line, i.column) for i in found] == [(8, 30)]
        assert "TRANSBORDO_ADMIN_TOKEN is not one a flow may read" in found[0].message
        assert "admin-secret" not in found[0].message
    crm = HTTP_FLOW.replace("FLOW_CRM_TOKEN", "CRM_TOKEN")
    assert issues(crm, env={**ENV, "CRM_TOKEN": "t"}, limits=FlowLimits(env_allow=("CRM_*",)))
    crm_env = {**ENV, "CRM_TOKEN": "t"}
    allowed = FlowLimits(env_allow=("FLOW_*", "CRM_*"))
    assert issues(crm, env=crm_env, limits=allowed) == []


def test_an_empty_secret_is_reported_without_echoing_values() -> None:
    found = issues(
        """\
        bot: loja
        human_service: {omni_key: "${KEY_OMNI_KEY}"}
        start: fim
        blocks: {fim: {type: end}}
        """,
        env={"KEY_OMNI_KEY": ""},
    )
    assert [str(i) for i in found] == ["bot.yaml:2:27: human_service.omni_key: must not be empty"]


# ---------------------------------------------------------------- limits


def _chain(n: int) -> str:
    lines = ["bot: loja", "start: b0", "blocks:"]
    lines += [f"  b{i}: {{type: message, text: Oi, next: b{i + 1}}}" for i in range(n)]
    lines.append(f"  b{n}: {{type: end}}")
    return "\n".join(lines) + "\n"


def test_too_many_blocks_is_one_issue_naming_the_limit() -> None:
    found = flow_issues(_chain(10), "bot.yaml", env={}, limits=FlowLimits(max_blocks=10))
    assert [str(i) for i in found] == [
        "bot.yaml:3:1: blocks: 11 blocks; a bot holds at most 10 (TRANSBORDO_FLOW_MAX_BLOCKS)"
    ]
    assert flow_issues(_chain(9), "bot.yaml", env={}, limits=FlowLimits(max_blocks=10)) == []


def test_too_many_bytes_is_refused_before_parsing() -> None:
    source = "bot: loja\n# " + "x" * 2000 + "\n{{{{ not even yaml"
    found = flow_issues(source, "bot.yaml", env={}, limits=FlowLimits(max_bytes=1024))
    assert [(i.line, i.column) for i in found] == [(1, 1)]
    assert "at most 1,024 (TRANSBORDO_FLOW_MAX_BYTES)" in found[0].message


def test_a_long_wait_less_loop_is_found_without_recursion_limits() -> None:
    last = "  b5000: {type: message, text: x, next: b0}"
    source = _chain(5000).replace("  b5000: {type: end}", last)
    found = flow_issues(source, "bot.yaml", env={}, limits=FlowLimits(max_blocks=6000))
    assert len(found) == 1 and found[0].line == 4
    assert "the loop b0 → b1 → " in found[0].message
    assert "b5000 → b0 never waits" in found[0].message


def test_every_loop_is_reported_once_at_its_first_block() -> None:
    source = """\
    bot: loja
    start: a
    blocks:
      a: {type: message, text: a, next: b}
      b: {type: message, text: b, next: a}
      c: {type: message, text: c, next: c}
      d: {type: question, text: d, save_as: d, next: a}
    """
    found = issues(source)
    loops = [str(i) for i in found if "never waits" in i.message]
    assert loops == [
        "bot.yaml:4:3: block 'a': the loop a → b → a never waits for the customer"
        " (add a question, menu or human block to it, or an end)",
        "bot.yaml:6:3: block 'c': the loop c → c never waits for the customer"
        " (add a question, menu or human block to it, or an end)",
    ]


# ---------------------------------------------------------------- files and folders


def test_validate_path_walks_a_folder(tmp_path: Path) -> None:
    (tmp_path / "loja.yaml").write_text(textwrap.dedent(VALID), encoding="utf-8")
    (tmp_path / "copia.yml").write_text(textwrap.dedent(VALID), encoding="utf-8")
    (tmp_path / "quebrado.yaml").write_text("bot: x\nstart: [\n", encoding="utf-8")
    (tmp_path / "latin1.yaml").write_bytes("bot: loja\ntext: olá\n".encode("latin-1"))
    (tmp_path / "ignorado.test.yaml").write_text("nada: 1\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "fixture.yaml").write_text("nada: 1\n", encoding="utf-8")
    (tmp_path / "notas.txt").write_text("nada: 1\n", encoding="utf-8")

    results = validate_path(tmp_path, env={})

    assert sorted(p.name for p in results) == [
        "copia.yml",
        "latin1.yaml",
        "loja.yaml",
        "quebrado.yaml",
    ]
    assert results[tmp_path / "copia.yml"] == []
    assert [str(i) for i in results[tmp_path / "loja.yaml"]] == [
        f"{tmp_path / 'loja.yaml'}:1:6: bot: 'loja' is already the bot of {tmp_path / 'copia.yml'}"
    ]
    assert [(i.line, i.column) for i in results[tmp_path / "latin1.yaml"]] == [(2, 9)]
    assert "not UTF-8" in results[tmp_path / "latin1.yaml"][0].message
    assert "YAML syntax error" in results[tmp_path / "quebrado.yaml"][0].message


def test_validate_path_on_one_file(tmp_path: Path) -> None:
    path = tmp_path / "loja.yaml"
    path.write_text(textwrap.dedent(VALID), encoding="utf-8")
    assert validate_path(path) == {path: []}
    assert load_flow_file(path).bot == "loja"


# ---------------------------------------------------------------- JSON schema


def test_flow_json_schema_describes_a_bot_file() -> None:
    schema = flow_json_schema()
    json.dumps(schema)
    assert schema["$id"] and schema["title"] == "Transbordo bot flow"
    assert schema["type"] == "object"
    assert {"bot", "blocks", "start", "human_service", "schedule"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"bot", "start", "blocks"}
    block_schema = schema["properties"]["blocks"]["additionalProperties"]
    assert set(block_schema["discriminator"]["mapping"]) == set(BLOCK_TYPES)
    condition = schema["$defs"]["ConditionBlock"]["properties"]
    assert "else" in condition and "otherwise" not in condition
    assert "if" in schema["$defs"]["ConditionBranch"]["properties"]
    # `hours:` with nothing under it is refused, so an editor must not offer null for it
    hours = schema["$defs"]["Schedule"]["properties"]["hours"]
    assert hours["type"] == "object" and "anyOf" not in hours and "default" not in hours


# ---------------------------------------------------------------- robustness

YAMLISH = st.text(alphabet="ab :-[]{}\n\t#&*!|>'\"?,%@`~01.", max_size=80)


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_any_text_loads_or_raises_flow_error_inside_the_file(source: str) -> None:
    try:
        load_flow(source, "x.yaml", env={})
    except FlowError as error:
        assert error.issues
        lines = source.count("\n") + 1
        for issue in error.issues:
            assert 1 <= issue.line <= lines + 1
            assert issue.column >= 1


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Cn")), min_size=1, max_size=30
    ).filter(lambda s: s.strip() == s and s and "{%" not in s and "{{" not in s and "{#" not in s)
)  # template markup is its own matter (tests/test_flow_limits.py): a lone "{%" is a flow error
def test_quoted_texts_round_trip(text: str) -> None:
    quoted = json.dumps(text, ensure_ascii=False)  # a valid double-quoted YAML scalar
    loaded = flow(
        f"""\
        bot: loja
        start: cpf
        blocks:
          cpf: {{type: question, text: {quoted}, save_as: resposta, next: fim}}
          fim: {{type: end}}
        """
    )
    block = loaded.blocks["cpf"]
    assert isinstance(block, QuestionBlock) and block.text == text
