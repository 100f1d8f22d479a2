"""Every problem the flow loader finds has a stable `code` and the values it is about (`ctx`):
the API's 422 gives them next to the line, the column and the English `message` (which the CLI
and API clients keep reading), and the YAML editor says each code in pt-BR from its values.

One broken flow per kind of problem, published over HTTP; the CLI-only ones (a file that is not
UTF-8, two files of one bot) and publishing's warning through the loader itself. The browser
test is tests/test_flow_issue_pages.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import httpx

from api.app import create_app
from bots.errors import FLOW_ERROR
from bots.loader import load_flow, validate_path
from bots.model_errors import _BOUNDS, _EXPECTED
from bots.schedule import ISSUE_CODES
from bots.warnings import flow_warnings
from tests.conftest import admin_headers, api_client, pydantic_client

ROOT = Path(__file__).resolve().parents[1]
YAML = {**admin_headers(), "Content-Type": "application/yaml"}
HEAD = "bot: loja\nstart: inicio\nblocks:\n"
HUMAN_SERVICE = "human_service: {platform: omni_v2, omni_key: chave}\n"
TYPES = "message, question, menu, condition, set, http, human, end"
RESERVED = "agent, bot, contact, conversation, csat, next_opening"


def flow(*blocks: str, top: str = "") -> str:
    """A bot `loja` whose `inicio` (and others) come first, and a block `fim` that ends."""
    lines = "".join(f"  {block}\n" for block in blocks)
    return f"{top}{HEAD}{lines}  fim: {{type: end, text: Tchau}}\n"


OK = "inicio: {type: message, text: Oi, next: fim}"
ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 7)
)
QUESTION = "inicio: {type: question, text: CPF?, save_as: cpf, next: fim"
HTTP = "inicio: {type: http, next: fim, url: "

CASES: list[tuple[str, str, dict[str, str]]] = [
    # the YAML itself
    (
        flow("inicio: {type: message, text: Oi: tudo bem?, next: fim}"),
        "yaml_syntax",
        {
            "problem": "expected ',' or '}', but got ':'",
            "context": "while parsing a flow mapping",
            "context_line": "4",
            "quotes": "brackets",
        },
    ),
    (HEAD + "\tinicio: {type: end}\n", "yaml_tab", {}),
    (flow(OK) + "---\nbot: outro\n", "yaml_two_documents", {}),
    ("bot: loja\x07\n", "yaml_character", {"codepoint": "U+0007"}),
    ("# só um comentário\n", "empty_file", {}),
    ("- bot: loja\n", "not_a_mapping", {}),
    ("bot: " + "[" * 5000 + "]" * 5000 + "\n", "too_deep", {}),
    (flow('inicio: {type: end, text: "Oi \\ud800"}'), "invalid_text", {"codepoint": "U+D800"}),
    (ALIAS_BOMB, "too_many_values", {"max": "200000"}),
    (flow("inicio: &laco {type: message, text: Oi, next: fim, x: *laco}"), "recursive_alias", {}),
    (
        flow("inicio: {type: message, text: !python/none Oi, next: fim}"),
        "unsupported_tag",
        {"tag": "!python/none"},
    ),
    (
        flow("inicio: {type: message, text: !!int muitas, next: fim}"),
        "invalid_scalar",
        {"value": "muitas", "kind": "int"},
    ),
    (flow("inicio: {type: message, text: Oi, next: fim, [a]: b}"), "complex_key", {}),
    (
        flow("inicio: {type: message, text: Oi, text: Olá, next: fim}"),
        "duplicate_key",
        {"key": "text", "first_line": "4"},
    ),
    # the models (pydantic's error types)
    (flow("inicio: {type: message, text: Oi}"), "missing", {"block": "inicio", "field": "next"}),
    (
        flow("inicio: {type: message, text: Oi, nxt: fim, next: fim}"),
        "extra_forbidden",
        {"block": "inicio", "key": "nxt", "allowed": "type, text, next"},
    ),
    (
        flow("inicio: {type: mesage, text: Oi, next: fim}"),
        "union_tag_invalid",
        {"block": "inicio", "tag": "mesage", "types": TYPES},
    ),
    (
        flow("inicio: {text: Oi, next: fim}"),
        "union_tag_not_found",
        {"block": "inicio", "types": TYPES},
    ),
    (
        flow("inicio: {type: message, text: [Oi], next: fim}"),
        "string_type",
        {"block": "inicio", "loc": "text", "got": "list"},
    ),
    (
        flow(f"{QUESTION}, max_retries: muitas}}"),
        "int_parsing",
        {"block": "inicio", "loc": "max_retries", "got": "text", "input": "muitas"},
    ),
    (
        flow(f"{QUESTION}, max_retries: .inf}}"),
        "finite_number",
        {"block": "inicio", "loc": "max_retries", "input": "inf"},
    ),
    (
        flow("inicio: {type: human, check_hours: talvez, next: fim}", top=HUMAN_SERVICE),
        "bool_parsing",
        {"block": "inicio", "loc": "check_hours", "got": "text", "input": "talvez"},
    ),
    (
        flow(OK, top="human_service: {platform: omni_v3, omni_key: chave}\n"),
        "literal_error",
        {"loc": "human_service.platform", "expected": "'omni_v2'", "input": "omni_v3"},
    ),
    (
        flow("inicio: {type: human, on: {finalizado: fim}, next: fim}", top=HUMAN_SERVICE),
        "literal_error",
        {
            "block": "inicio",
            "loc": "on",
            "key": "finalizado",
            "expected": "'finished', 'closed', 'no_agents', 'abandoned', 'voicemail'"
            " or 'unavailable'",
        },
    ),
    (
        flow(OK).replace("bot: loja", "bot: Loja!"),
        "string_pattern_mismatch",
        {
            "loc": "bot",
            "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$",
            "rule": "bot_name",
            "input": "Loja!",
        },
    ),
    (
        flow("inicio: {type: menu, text: Escolha, options: [{label: '', next: fim}]}"),
        "string_too_short",
        {"block": "inicio", "loc": "options[0].label", "min_length": "1", "input": ""},
    ),
    (
        flow("inicio: {type: menu, text: Escolha, options: []}"),
        "too_short",
        {
            "block": "inicio",
            "loc": "options",
            "field_type": "List",
            "min_length": "1",
            "actual_length": "0",
        },
    ),
    (
        flow(f"{QUESTION}, timeout_seconds: 0, on_timeout: fim}}"),
        "greater_than",
        {"block": "inicio", "loc": "timeout_seconds", "gt": "0", "limit": "0", "input": "0"},
    ),
    (
        flow(f"{HTTP}'https://example.com', timeout_seconds: 99}}"),
        "less_than_equal",
        {
            "block": "inicio",
            "loc": "timeout_seconds",
            "le": "60.0",
            "limit": "60.0",
            "input": "99",
        },
    ),
    (
        flow("inicio: {type: human, skills: [" + "a" * 51 + "], next: fim}", top=HUMAN_SERVICE),
        "string_too_long",
        {"block": "inicio", "loc": "skills[0]", "max_length": "50", "input": "a" * 37 + "..."},
    ),
    (
        flow(
            f"inicio: {{type: human, skills: [{', '.join('abcdefghijklmnopqrstu')}], next: fim}}",
            top=HUMAN_SERVICE,
        ),
        "too_long",
        {
            "block": "inicio",
            "loc": "skills",
            "field_type": "List",
            "max_length": "20",
            "actual_length": "21",
        },
    ),
    (
        flow(OK, top="escape_routes:\n  - {text: Oi}\n"),
        "escape_route_trigger",
        {"loc": "escape_routes[0]"},
    ),
    (
        flow(OK, top="escape_routes:\n  - {keywords: [sair]}\n"),
        "escape_route_action",
        {"loc": "escape_routes[0]"},
    ),
    (flow(f"{QUESTION}, timeout_seconds: 60}}"), "timeout_pair", {"block": "inicio"}),
    (
        flow(OK, top="schedule: {timezone: Marte/Olympus, hours: {mon: ['08:00-12:00']}}\n"),
        "unknown_time_zone",
        {"zone": "Marte/Olympus"},
    ),
    (  # `hours:` with nothing under it: not the absent key that serves at any hour
        flow(OK, top="schedule: {timezone: America/Sao_Paulo, hours: null}\n"),
        "dict_type",
        {"got": "null", "loc": "schedule.hours"},
    ),
    # the rules the models cannot see
    (  # the model reads it (published before): publishing refuses it
        flow(OK, top="schedule: {hours: {tue: ['23:00-23:00']}}\n"),
        "bad_time_window",
        {"loc": "schedule.hours.tue[0]", "window": "23:00-23:00"},
    ),
    (
        flow(OK, top="schedule: {hours: {mon: ['22:00-02:00'], tue: ['01:00-03:00']}}\n"),
        "overlapping_windows",
        {
            "loc": "schedule.hours.tue[0]",
            "first": "22:00-02:00",
            "second": "01:00-03:00",
            "first_day": "mon",
            "second_day": "tue",
        },
    ),
    (
        flow("inicio: {type: message, text: Oi, next: fimm}"),
        "unknown_block",
        {"block": "inicio", "loc": "next", "target": "fimm", "suggestion": "fim"},
    ),
    (
        flow(OK, "esquecido: {type: end}"),
        "unreachable_block",
        {"block": "esquecido", "start": "inicio"},
    ),
    (
        flow(
            "inicio: {type: message, text: Oi, next: volta}",
            "volta: {type: message, text: De novo, next: inicio}",
        ),
        "waitless_loop",
        {"block": "inicio", "cycle": "inicio → volta → inicio"},
    ),
    (
        flow("inicio: {type: question, text: Nome?, save_as: contact, next: fim}"),
        "reserved_variable",
        {"block": "inicio", "loc": "save_as", "name": "contact", "reserved": RESERVED},
    ),
    (
        flow("inicio: {type: message, text: 'Oi, {{ nome', next: fim}"),
        "template_error",
        {
            "block": "inicio",
            "loc": "text",
            "error": "unexpected end of template, expected 'end of print statement'.",
        },
    ),
    (
        flow("inicio: {type: condition, branches: [{if: 'cpf ==', next: fim}], else: fim}"),
        "expression_error",
        {"block": "inicio", "loc": "branches[0].if", "error": "unexpected 'end of template'"},
    ),
    (
        flow(f"{QUESTION}, pattern: '(\\d)\\1'}}"),
        "bad_pattern",
        {
            "block": "inicio",
            "loc": "pattern",
            "error": "invalid escape sequence: \\1",
            "lacks": "backreferences",
        },
    ),
    (flow("inicio: {type: human, next: fim}"), "no_human_service", {"block": "inicio"}),
    (
        flow(
            "inicio: {type: menu, text: Escolha, options: [{label: Sair, next: fim},"
            " {label: sair!, next: fim}]}"
        ),
        "duplicate_label",
        {"block": "inicio", "loc": "options[1].label", "same_as": "0"},
    ),
    (
        flow(OK, top="escape_routes:\n" + "  - {keywords: [sair], goto: fim}\n" * 2),
        "duplicate_route",
        {"loc": "escape_routes[1]", "same_as": "0"},
    ),
    (
        flow(OK, top="escape_routes:\n  - {keywords: ['?!'], goto: fim}\n"),
        "empty_keyword",
        {"loc": "escape_routes[0].keywords[0]"},
    ),
    (
        flow(
            OK,
            top="escape_routes:\n  - {keywords: [sair], goto: fim}\n"
            "  - {keywords: [Sair!], text: Tchau}\n",
        ),
        "duplicate_keyword",
        {"loc": "escape_routes[1].keywords[0]", "keyword": "Sair!", "same_as": "0"},
    ),
    # ${NAME} references
    (
        flow(f"{HTTP}'https://x.example/${{1X}}'}}"),
        "env_bad_reference",
        {"block": "inicio", "loc": "url", "reference": "${1X}"},
    ),
    (
        flow(f"{HTTP}'https://x.example/${{DATABASE_URL}}'}}"),
        "env_not_allowed",
        {"block": "inicio", "loc": "url", "name": "DATABASE_URL", "allowed": "FLOW_*"},
    ),
    (
        flow(f"{HTTP}'https://x.example/${{FLOW_NINGUEM_DEFINIU}}'}}"),
        "env_not_set",
        {"block": "inicio", "loc": "url", "name": "FLOW_NINGUEM_DEFINIU"},
    ),
    (
        flow(f"{HTTP}'https://x.example/${{FLOW_X'}}"),
        "env_unclosed",
        {"block": "inicio", "loc": "url"},
    ),
]
LIMITS = {"too_many_blocks", "file_too_large"}
"""Said over HTTP by test_the_operators_limits_are_coded_with_their_numbers."""
CLI_ONLY = {"not_utf8", "duplicate_bot"}
"""Problems of files on disk (`transbordo validate`), never of a published text."""


async def test_each_kind_of_problem_answers_its_code_and_values(admin_api) -> None:
    wrong = {}
    for source, code, ctx in CASES:
        answer = await admin_api.put("/api/bots/loja", content=source.encode(), headers=YAML)
        assert answer.status_code == 422 and answer.json()["code"] == "flow_invalid", answer.text
        issues = answer.json()["detail"]
        assert all(set(issue) == {"line", "column", "message", "code", "ctx"} for issue in issues)
        if not any(issue["code"] == code and issue["ctx"] == ctx for issue in issues):
            wrong[code] = [(issue["code"], issue["ctx"]) for issue in issues]
    assert wrong == {}


async def test_the_message_stays_english_next_to_the_code(admin_api) -> None:
    source = flow("inicio: {type: message, text: Oi, next: nada}")
    answer = await admin_api.put("/api/bots/loja", content=source.encode(), headers=YAML)
    issue, _fim_unreached = answer.json()["detail"]
    assert issue == {
        "line": 4,
        "column": 43,
        "message": "block 'inicio', next: unknown block 'nada'",
        "code": "unknown_block",
        "ctx": {"block": "inicio", "loc": "next", "target": "nada"},
    }


async def test_an_empty_body_is_an_empty_file_not_a_missing_body(admin_api) -> None:
    for body in (b"", b"   \n"):
        answer = await admin_api.put("/api/bots/loja", content=body, headers=YAML)
        assert answer.status_code == 422 and answer.json()["code"] == "flow_invalid"
        [issue] = answer.json()["detail"]
        assert (issue["code"], issue["ctx"], issue["line"]) == ("empty_file", {}, 1)


async def test_a_file_of_another_bot_names_both(admin_api) -> None:
    answer = await admin_api.put("/api/bots/outro", content=flow(OK).encode(), headers=YAML)
    [issue] = answer.json()["detail"]
    assert issue["code"] == "bot_name_mismatch"
    assert issue["ctx"] == {"file_bot": "loja", "bot": "outro"}


async def test_the_operators_limits_are_coded_with_their_numbers(
    settings, engine, time_env
) -> None:
    small = settings.model_copy(update={"flow_max_blocks": 2, "flow_max_bytes": 1024})
    app = create_app(small, engine=engine, client=pydantic_client(time_env))
    client: httpx.AsyncClient
    async with api_client(app) as client:
        three = flow(OK, "outro: {type: end}")
        answer = await client.put("/api/bots/loja", content=three.encode(), headers=YAML)
        [issue] = answer.json()["detail"]
        assert issue["code"] == "too_many_blocks" and issue["ctx"] == {"count": "3", "max": "2"}
        big = flow(OK) + "# " + "x" * 1100 + "\n"
        answer = await client.put("/api/bots/loja", content=big.encode(), headers=YAML)
        [issue] = answer.json()["detail"]
        size = str(len(big.encode()))
        assert issue["code"] == "file_too_large" and issue["ctx"] == {"size": size, "max": "1024"}


def test_files_on_disk_and_publishing_warnings_are_coded(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("bot: loja\nstart: início\n".encode("latin-1"))
    (tmp_path / "a.yaml").write_text(flow(OK), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(flow(OK), encoding="utf-8")
    found = validate_path(tmp_path, env={})
    [latin1] = found[tmp_path / "latin1.yaml"]
    assert (latin1.code, latin1.ctx) == ("not_utf8", ())
    [twice] = found[tmp_path / "b.yaml"]
    assert twice.code == "duplicate_bot"
    assert dict(twice.ctx) == {"bot": "loja", "file": str(tmp_path / "a.yaml")}
    source = flow("inicio: {type: human, on: {finished: fim}}", top=HUMAN_SERVICE)
    [warning] = flow_warnings(load_flow(source, env={}), source, "loja.yaml")
    assert (warning.code, dict(warning.ctx)) == ("unrouted_closed", {"block": "inicio"})


def _codes_made_in_bots() -> set[str]:
    """The code literals the loader passes (`code=`, or the argument after the message)."""
    codes = set()
    for path in (ROOT / "bots").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            values = [k.value for k in node.keywords if k.arg == "code"]
            if name in ("report", "issue", "at", "at_node", "_failed", "Problem"):
                values += node.args[1:3] if name != "_failed" else node.args[4:5]
            if name == "PydanticCustomError":
                values += node.args[:1]
            codes |= {v.value for v in values if isinstance(v, ast.Constant)}
            if name == "FlowIssue":
                assert any(k.arg == "code" for k in node.keywords), (path.name, node.lineno)
    return {code for code in codes if isinstance(code, str) and re.fullmatch(r"[a-z_0-9]+", code)}


def _keys(table: str, key: str = r"\b([a-z_]+): \"") -> set[str]:
    """The keys of the object `table` of yaml_editor.js: the codes it says in pt-BR."""
    editor = (ROOT / "api" / "static" / "js" / "yaml_editor.js").read_text(encoding="utf-8")
    start = re.search(rf"^(export )?const {table} = {{", editor, re.M)
    assert start is not None, table
    body = editor[start.end() : editor.index("\n};" if table == "ISSUES_PT" else "};", start.end())]
    return set(re.findall(key, body, re.M))


def test_every_code_has_a_case_a_ptbr_text_and_a_line_in_the_docs() -> None:
    """Every code the loader makes (its literals, pydantic's types it words itself, a
    schedule's) is tested above, said by the YAML editor and listed in docs/flows.md."""
    made = _codes_made_in_bots() - {"unrouted_closed", "never_open"}  # warnings: said by words
    tested = {code for _, code, _ in CASES} | LIMITS | CLI_ONLY
    assert made - tested == set()
    said = _keys("ISSUES_PT", r"^  ([a-z_0-9]+): ") | _keys("EXPECTED_PT") | _keys("BOUNDS_PT")
    known = made | tested | set(_EXPECTED) | set(_BOUNDS) | set(ISSUE_CODES)
    assert said == known, (known - said, said - known)
    assert _keys("EXPECTED_PT") == set(_EXPECTED)
    docs = (ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
    errors = docs[docs.index("## Errors") : docs.index("## Editor support")]
    assert [code for code in sorted(known) if f"`{code}`" not in errors] == []
    assert FLOW_ERROR in errors
