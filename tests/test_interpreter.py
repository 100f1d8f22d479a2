"""The flow interpreter on its own: plain Python, no Temporal. Flows come from the real loader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.loader import FlowError, load_flow
from bots.models import BotFlow
from workflows import interpreter
from workflows.interpreter import (
    MAX_STEPS_PER_TURN,
    AwaitInput,
    CallHttp,
    Ended,
    FlowLoopError,
    FlowState,
    HandOver,
    HttpRequest,
    HttpResult,
    Reply,
    Turn,
)

CONTACT = {"id": "5511", "name": "Ana"}


def flow(blocks: str, *, start: str = "inicio", header: str = "") -> BotFlow:
    """A bot file starting at `inicio` with these blocks (YAML, indented by two spaces), through
    the real loader; then, for the test, started at `start` instead."""
    bot = load_flow(f"bot: teste\n{header}start: inicio\nblocks:\n{blocks}")
    return bot.model_copy(update={"start": start})


def fresh() -> FlowState:
    return FlowState(contact=dict(CONTACT))


def texts(turn: Turn) -> list[str]:
    return [reply.text for reply in turn.replies]


def play(bot: BotFlow, events: list[str | None]) -> list[Turn]:
    """Start, then each event the way the workflow handles it: None is a timeout, a message
    matching an escape route takes the route, any other message answers the waiting block."""
    turns = [interpreter.start(bot, fresh())]
    for event in events:
        state = turns[-1].state
        if state.ended:
            break
        if event is None:
            turns.append(interpreter.timeout(bot, state))
        elif (route := interpreter.matching_escape_route(bot, event)) is not None:
            turns.append(interpreter.escape(bot, state, route))
        else:
            turns.append(interpreter.answer(bot, state, event))
    return turns


def converse(bot: BotFlow, *inputs: str) -> list[Turn]:
    return play(bot, list(inputs))


# --- message ------------------------------------------------------------------------------

MESSAGES = """\
  inicio: {type: message, text: "Olá, {{ contact.name }}!", next: segundo}
  segundo: {type: message, text: Temos novidades., next: terceiro}
  terceiro: {type: message, text: "Seu id é {{ contact.id }}.", next: pergunta}
  pergunta: {type: question, text: Tudo bem?, save_as: resposta, next: sozinho}
  sozinho: {type: message, text: Só eu., next: fim}
  fim: {type: end}
"""


@pytest.mark.parametrize(
    ("start", "expected", "wait"),
    [
        ("inicio", ["Olá, Ana!", "Temos novidades.", "Seu id é 5511.", "Tudo bem?"], AwaitInput),
        ("terceiro", ["Seu id é 5511.", "Tudo bem?"], AwaitInput),
        ("sozinho", ["Só eu."], Ended),
    ],
)
def test_messages_chain_until_a_block_waits(start: str, expected: list[str], wait: type) -> None:
    bot = flow(MESSAGES, start=start)
    turn = interpreter.start(bot, fresh())
    assert texts(turn) == expected
    assert all(reply.kind == "text" for reply in turn.replies)
    assert isinstance(turn.wait, wait)
    assert turn.state.started


# --- question -----------------------------------------------------------------------------

QUESTION = """\
  inicio:
    type: question
    text: "Código, {{ contact.name }}?"
    save_as: codigo
    pattern: '\\d{3}'
    retry_text: "Inválido ({{ contact.name }})."
    max_retries: 2
    on_invalid: desiste
    timeout_seconds: 60
    on_timeout: sumiu
    next: ok
  ok: {type: end, text: "Código {{ codigo }} anotado."}
  desiste: {type: end, text: Vamos tentar outra hora.}
  sumiu: {type: end, text: Encerrando por falta de resposta.}
"""


@pytest.mark.parametrize(
    ("inputs", "expected", "wait", "variables", "retries"),
    [
        (["123"], ["Código 123 anotado."], Ended(), {"codigo": "123"}, 0),
        (["  123 "], ["Código 123 anotado."], Ended(), {"codigo": "123"}, 0),
        (["12"], ["Inválido (Ana).", "Código, Ana?"], AwaitInput(timeout_seconds=60), {}, 1),
        (["1234"], ["Inválido (Ana).", "Código, Ana?"], AwaitInput(timeout_seconds=60), {}, 1),
        (["a", "b"], ["Inválido (Ana).", "Código, Ana?"], AwaitInput(timeout_seconds=60), {}, 2),
        (["a", "b", "c"], ["Vamos tentar outra hora."], Ended(), {}, 0),
        (["a", "b", "321"], ["Código 321 anotado."], Ended(), {"codigo": "321"}, 0),
    ],
    ids=["valid", "trimmed", "short", "long", "second-retry", "exhausted", "valid-after-retries"],
)
def test_question_checks_the_pattern(
    inputs: list[str], expected: list[str], wait: Any, variables: dict, retries: int
) -> None:
    last = converse(flow(QUESTION), *inputs)[-1]
    assert texts(last) == expected
    assert last.wait == wait
    assert last.state.variables == variables
    assert last.state.retries == retries


def test_question_prompt_waits_with_its_timeout() -> None:
    turn = interpreter.start(flow(QUESTION), fresh())
    assert texts(turn) == ["Código, Ana?"]
    assert turn.wait == AwaitInput(timeout_seconds=60)
    assert turn.state.block == "inicio"


def test_question_without_on_invalid_keeps_asking() -> None:
    bot = flow(
        "  inicio: {type: question, text: Sim ou não?, save_as: r, pattern: 'sim|não',"
        " max_retries: 1, next: fim}\n  fim: {type: end}\n"
    )
    turns = converse(bot, *["talvez"] * 6)
    for n, turn in enumerate(turns[1:], start=1):
        assert texts(turn) == ["Não entendi. Pode repetir?", "Sim ou não?"]
        assert turn.wait == AwaitInput() and turn.state.retries == n
    assert texts(interpreter.answer(bot, turns[-1].state, "não")) == []


def test_question_without_pattern_takes_any_answer() -> None:
    bot = flow(
        "  inicio: {type: question, text: Nome?, save_as: nome, next: fim}\n"
        "  fim: {type: end, text: 'Oi, {{ nome }}.'}\n"
    )
    last = converse(bot, " Zé da Silva! ")[-1]
    assert texts(last) == ["Oi, Zé da Silva!."] and last.state.variables == {"nome": "Zé da Silva!"}


def test_question_timeout_takes_on_timeout() -> None:
    bot = flow(QUESTION)
    asked = interpreter.start(bot, fresh())
    turn = interpreter.timeout(bot, asked.state)
    assert texts(turn) == ["Encerrando por falta de resposta."]
    assert turn.wait == Ended() and turn.state.ended and turn.state.block is None


def test_timeout_without_on_timeout_changes_nothing() -> None:
    bot = flow(
        "  inicio: {type: question, text: Nome?, save_as: nome, next: fim}\n  fim: {type: end}\n"
    )
    asked = interpreter.start(bot, fresh())
    turn = interpreter.timeout(bot, asked.state)
    assert turn.replies == [] and turn.state == asked.state and turn.wait == AwaitInput()


# --- menu ---------------------------------------------------------------------------------

MENU = """\
  inicio:
    type: menu
    text: Como posso ajudar?
    save_as: assunto
    options:
      - {label: Segunda via de boleto, next: boleto, keywords: [fatura, "2ª via"]}
      - {label: Horário da loja, next: horario}
      - {label: "Falar com {{ vendedor }}", next: vendedor}
    invalid_text: "Opção inválida, {{ contact.name }}."
    max_retries: 1
    on_invalid: desiste
    timeout_seconds: 300
    on_timeout: sumiu
  boleto: {type: end, text: "Boleto ({{ assunto }})."}
  horario: {type: end, text: "Abrimos às 8h ({{ assunto }})."}
  vendedor: {type: end, text: "Chamando ({{ assunto }})."}
  desiste: {type: end, text: Até mais.}
  sumiu: {type: end, text: Sumiu.}
"""
MENU_PROMPT = "Como posso ajudar?\n1. Segunda via de boleto\n2. Horário da loja\n3. Falar com João"


def menu_shown(bot: BotFlow) -> Turn:
    return interpreter.start(bot, fresh().model_copy(update={"variables": {"vendedor": "João"}}))


def test_menu_prompt_lists_the_rendered_options() -> None:
    turn = menu_shown(flow(MENU))
    assert turn.replies == [
        Reply(
            kind="menu",
            text=MENU_PROMPT,
            options=["Segunda via de boleto", "Horário da loja", "Falar com João"],
        )
    ]
    assert turn.wait == AwaitInput(timeout_seconds=300)


@pytest.mark.parametrize(
    ("text", "expected", "label"),
    [
        ("1", "Boleto (Segunda via de boleto).", "Segunda via de boleto"),
        (" 2. ", "Abrimos às 8h (Horário da loja).", "Horário da loja"),
        ("segunda via de boleto", "Boleto (Segunda via de boleto).", "Segunda via de boleto"),
        ("SEGUNDA VIA DE BOLETO!", "Boleto (Segunda via de boleto).", "Segunda via de boleto"),
        ("horario da loja", "Abrimos às 8h (Horário da loja).", "Horário da loja"),
        ("HORÁRIO DA LÔJA", "Abrimos às 8h (Horário da loja).", "Horário da loja"),
        ("Fatura", "Boleto (Segunda via de boleto).", "Segunda via de boleto"),
        ("2a via", "Boleto (Segunda via de boleto).", "Segunda via de boleto"),
        ("2ª via", "Boleto (Segunda via de boleto).", "Segunda via de boleto"),
        ("falar com joao", "Chamando (Falar com João).", "Falar com João"),
        ("3", "Chamando (Falar com João).", "Falar com João"),
        ("0", None, None),
        ("4", None, None),
        ("segunda via", None, None),
        ("boleto", None, None),
    ],
)
def test_menu_choice(text: str, expected: str | None, label: str | None) -> None:
    bot = flow(MENU)
    turn = interpreter.answer(bot, menu_shown(bot).state, text)
    if expected is None:
        assert texts(turn) == ["Opção inválida, Ana.", MENU_PROMPT]
        assert turn.replies[1].kind == "menu"
        assert turn.wait == AwaitInput(timeout_seconds=300) and turn.state.retries == 1
        assert "assunto" not in turn.state.variables
    else:
        assert texts(turn) == [expected]
        assert turn.state.variables["assunto"] == label
        assert turn.wait == Ended()


def test_menu_retries_then_on_invalid_and_timeout() -> None:
    bot = flow(MENU)
    waiting = menu_shown(bot)
    once = interpreter.answer(bot, waiting.state, "9")
    assert texts(interpreter.answer(bot, once.state, "9")) == ["Até mais."]
    assert texts(interpreter.timeout(bot, once.state)) == ["Sumiu."]


# --- condition and set --------------------------------------------------------------------

CONDITION = """\
  inicio: {type: question, text: Idade?, save_as: idade, next: faixa}
  faixa:
    type: condition
    branches:
      - {if: "idade | int >= 18", next: adulto}
      - {if: "idade | int >= 12", next: jovem}
    else: crianca
  adulto: {type: end, text: adulto}
  jovem: {type: end, text: jovem}
  crianca: {type: end, text: criança}
"""


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        ("30", "adulto"),
        ("18", "adulto"),
        ("17", "jovem"),
        ("12", "jovem"),
        ("5", "criança"),
        ("abc", "criança"),
    ],
)
def test_condition_takes_the_first_true_branch_else_else(age: str, expected: str) -> None:
    assert texts(converse(flow(CONDITION), age)[-1]) == [expected]


def test_a_condition_that_fails_to_evaluate_counts_as_false() -> None:
    bot = flow(
        '  inicio:\n    type: condition\n    branches: [{if: "nada.campo.x > 1", next: sim}]\n'
        "    else: nao\n  sim: {type: end, text: sim}\n  nao: {type: end, text: não}\n"
    )
    assert texts(interpreter.start(bot, fresh())) == ["não"]


def test_set_renders_templates_from_the_state_before_it() -> None:
    bot = flow(
        "  inicio: {type: question, text: Cidade?, save_as: cidade, next: guarda}\n"
        '  guarda:\n    type: set\n    values:\n      saudacao: "Olá, {{ contact.name }}"\n'
        '      local: "{{ cidade | upper }}"\n      fixo: "5"\n    next: fala\n'
        '  fala: {type: end, text: "{{ saudacao }} de {{ local }} ({{ fixo }})"}\n'
    )
    last = converse(bot, "Recife")[-1]
    assert texts(last) == ["Olá, Ana de RECIFE (5)"]
    assert last.state.variables == {
        "cidade": "Recife",
        "saudacao": "Olá, Ana",
        "local": "RECIFE",
        "fixo": "5",
    }


# --- http ---------------------------------------------------------------------------------

HTTP = """\
  inicio: {type: question, text: CPF?, save_as: cpf, next: consulta}
  consulta:
    type: http
    method: POST
    url: "https://api.exemplo.com/pedidos/{{ cpf }}"
    headers: {X-Contato: "{{ contact.id }}", Accept: application/json}
    body: {cpf: "{{ cpf }}", itens: ["{{ contact.name }}", 2, true], vazio: null}
    timeout_seconds: 5
    save_as: pedido
    next: ok
    on_error: erro
  ok: {type: end, text: "ok {{ pedido.status }} {{ pedido.body.situacao }}"}
  erro: {type: end, text: "erro {{ pedido.status }} {{ pedido.error }}"}
"""


def test_http_block_asks_for_the_rendered_call() -> None:
    turn = converse(flow(HTTP), "123")[-1]
    assert turn.replies == []
    assert turn.state.block == "consulta"
    assert turn.wait == CallHttp(
        request=HttpRequest(
            method="POST",
            url="https://api.exemplo.com/pedidos/123",
            headers={"X-Contato": "5511", "Accept": "application/json"},
            body={"cpf": "123", "itens": ["Ana", 2, True], "vazio": None},
            timeout_seconds=5,
        )
    )


def test_http_block_keeps_environment_references_and_marks_every_other_dollar() -> None:
    bot = load_flow(
        "bot: teste\nstart: inicio\nblocks:\n"
        "  inicio: {type: question, text: CPF?, save_as: cpf, next: consulta}\n"
        "  consulta:\n"
        "    type: http\n"
        "    url: '${FLOW_CRM}/p/{{ cpf }}?a=$1'\n"
        "    headers: {Authorization: 'Bearer ${FLOW_TOKEN}'}\n"
        "    next: fim\n"
        "  fim: {type: end}\n",
        env={"FLOW_CRM": "https://crm", "FLOW_TOKEN": "secret"},
    )
    turn = converse(bot, "${FLOW_TOKEN}")[-1]
    assert isinstance(turn.wait, CallHttp)
    assert turn.wait.request.url == "${FLOW_CRM}/p/%24%7BFLOW_TOKEN%7D?a=$$1"
    assert turn.wait.request.headers == {"Authorization": "Bearer ${FLOW_TOKEN}"}
    assert "secret" not in turn.model_dump_json()


def test_a_catastrophic_pattern_is_an_ordinary_non_match() -> None:
    """`(a+)+` backtracks for minutes in Python's `re`; RE2 answers in linear time."""
    bot = flow(
        "  inicio: {type: question, text: Diga, save_as: r, pattern: '(a+)+', next: fim}\n"
        "  fim: {type: end, text: 'ok {{ r }}'}\n"
    )
    turn = converse(bot, "a" * 26 + "!")[-1]
    assert texts(turn) == ["Não entendi. Pode repetir?", "Diga"]
    assert turn.state.retries == 1
    assert texts(interpreter.answer(bot, turn.state, "a" * 26)) == ["ok " + "a" * 26]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (HttpResult(ok=True, status=200, body={"situacao": "enviado"}), "ok 200 enviado"),
        (HttpResult(ok=False, status=404, body={"erro": "x"}), "erro 404 None"),
        (HttpResult(ok=False, error="ConnectError: refused"), "erro 0 ConnectError: refused"),
    ],
)
def test_http_done_saves_the_result_and_branches(result: HttpResult, expected: str) -> None:
    bot = flow(HTTP)
    calling = converse(bot, "123")[-1]
    turn = interpreter.http_done(bot, calling.state, result)
    assert texts(turn) == [expected]
    assert turn.state.variables["pedido"] == {
        "ok": result.ok,
        "status": result.status,
        "body": result.body,
        "error": result.error,
    }


def test_http_error_without_on_error_goes_to_next_and_no_save_as_saves_nothing() -> None:
    bot = flow(
        "  inicio: {type: http, url: 'https://x.example/a', next: fim}\n"
        "  fim: {type: end, text: seguiu}\n"
    )
    calling = interpreter.start(bot, fresh())
    assert isinstance(calling.wait, CallHttp) and calling.wait.request.method == "GET"
    turn = interpreter.http_done(bot, calling.state, HttpResult(ok=False, error="boom"))
    assert texts(turn) == ["seguiu"] and turn.state.variables == {}


def test_http_done_outside_an_http_block_changes_nothing() -> None:
    bot = flow(QUESTION)
    asked = interpreter.start(bot, fresh())
    turn = interpreter.http_done(bot, asked.state, HttpResult(ok=True))
    assert turn.replies == [] and turn.state == asked.state


# --- human --------------------------------------------------------------------------------

HUMAN_SERVICE = "human_service: {omni_key: chave}\n"
HUMAN = """\
  inicio: {type: message, text: Transferindo., next: humano}
  humano:
    type: human
    service: Suporte
    on: {closed: fora, finished: volta, no_agents: outro}
    next: fim
  fora: {type: end, text: "Voltamos {{ next_opening }}."}
  volta: {type: end, text: "Atendido por {{ agent.name }}."}
  fim: {type: end, text: Obrigado!}
  outro: {type: message, text: x, next: seco}
  seco: {type: human, on: {no_agents: fim}}
"""


def human_waiting(start: str = "inicio") -> tuple[BotFlow, Turn]:
    bot = flow(HUMAN, start=start, header=HUMAN_SERVICE)
    return bot, interpreter.start(bot, fresh())


def test_human_block_hands_over() -> None:
    _, turn = human_waiting()
    assert texts(turn) == ["Transferindo."]
    assert turn.wait == HandOver(block="humano") and turn.state.block == "humano"


@pytest.mark.parametrize(
    ("start", "outcome", "expected"),
    [
        ("inicio", "closed", ["Voltamos segunda-feira às 08:00."]),
        ("inicio", "finished", ["Atendido por Bia."]),
        ("inicio", "abandoned", ["Obrigado!"]),
        ("inicio", "unavailable", ["Obrigado!"]),
        ("outro", "no_agents", ["Obrigado!"]),
        ("outro", "closed", []),
    ],
)
def test_human_done_routes_the_outcome(start: str, outcome: str, expected: list[str]) -> None:
    bot, turn = human_waiting(start)
    state = turn.state.model_copy(
        update={"next_opening": "segunda-feira às 08:00", "agent": {"name": "Bia"}}
    )
    done = interpreter.human_done(bot, state, outcome)
    assert texts(done) == expected
    assert done.wait == Ended() and done.state.ended and done.state.block is None


# --- end ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "expected"),
    [("{type: end, text: 'Tchau, {{ contact.name }}.'}", ["Tchau, Ana."]), ("{type: end}", [])],
)
def test_end_says_its_text_if_any_and_ends(block: str, expected: list[str]) -> None:
    bot = flow(f"  inicio: {block}\n")
    turn = interpreter.start(bot, fresh())
    assert texts(turn) == expected
    assert turn.wait == Ended() and turn.state.ended and turn.state.block is None
    after = interpreter.answer(bot, turn.state, "oi")
    assert after.replies == [] and after.wait == Ended() and after.state == turn.state


# --- escape routes ------------------------------------------------------------------------

ESCAPES = """\
escape_routes:
  - {keywords: [atendente, falar com humano], goto: humano}
  - {keywords: [ajuda], text: "Responda à pergunta, {{ contact.name }}."}
  - {inactivity_seconds: 300, text: Ainda está aí?}
"""
ESCAPE_BLOCKS = """\
  inicio:
    type: question
    text: CPF?
    save_as: cpf
    timeout_seconds: 120
    on_timeout: fim
    next: fim
  humano: {type: message, text: Um atendente já vem., next: fim}
  fim: {type: end}
"""


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("Quero falar com ATENDENTE!", 0),
        ("atendente", 0),
        ("Atendênte, por favor", 0),
        ("atendentes", None),
        ("sematendente", None),
        ("quero FALAR com humano.", 0),
        ("quero falar com o humano", None),
        ("AJUDA?", 1),
        ("ajudante", None),
        ("300", None),
        ("", None),
    ],
)
def test_matching_escape_route_is_whole_word_any_case_any_accent(
    text: str, route: int | None
) -> None:
    bot = flow(ESCAPE_BLOCKS, header=ESCAPES)
    found = interpreter.matching_escape_route(bot, text)
    assert found == (None if route is None else bot.escape_routes[route])


def test_escape_with_text_keeps_the_wait() -> None:
    bot = flow(ESCAPE_BLOCKS, header=ESCAPES)
    asked = interpreter.start(bot, fresh())
    turn = interpreter.escape(bot, asked.state, bot.escape_routes[1])
    assert texts(turn) == ["Responda à pergunta, Ana."]
    assert turn.state == asked.state and turn.wait == AwaitInput(timeout_seconds=120)


def test_escape_with_goto_jumps() -> None:
    bot = flow(ESCAPE_BLOCKS, header=ESCAPES)
    asked = interpreter.start(bot, fresh())
    turn = interpreter.escape(bot, asked.state, bot.escape_routes[0])
    assert texts(turn) == ["Um atendente já vem."] and turn.wait == Ended()


# --- templates ----------------------------------------------------------------------------


def test_templates_see_contact_variables_and_next_opening() -> None:
    bot = flow(
        "  inicio:\n    type: message\n"
        '    text: "{{ contact.name }}/{{ contact.id }}/{{ pedido }}/{{ next_opening }}'
        '/{{ agent.name }}/{{ nada }}"\n    next: fim\n  fim: {type: end}\n'
    )
    state = fresh().model_copy(
        update={"variables": {"pedido": "P1"}, "next_opening": "amanhã às 08:00"}
    )
    assert texts(interpreter.start(bot, state)) == ["Ana/5511/P1/amanhã às 08:00//"]


def test_an_attribute_of_a_missing_value_renders_as_nothing() -> None:
    bot = flow("  inicio: {type: end, text: 'Rua: {{ endereco.rua }}'}\n")
    assert texts(interpreter.start(bot, fresh())) == ["Rua: "]


def test_a_template_failing_at_run_time_renders_as_nothing() -> None:
    bot = flow("  inicio: {type: end, text: 'Total: {{ 1 / 0 }}'}\n")
    assert texts(interpreter.start(bot, fresh())) == [""]


# --- loops --------------------------------------------------------------------------------

COUNTER: dict[str, Any] = {
    "bot": "laco",
    "start": "conta",
    "blocks": {
        "conta": {"type": "set", "values": {"n": "{{ (n | int) + 1 }}"}, "next": "volta"},
        "volta": {
            "type": "condition",
            "branches": [{"if": "n | int < LIMIT", "next": "conta"}],
            "else": "fim",
        },
        "fim": {"type": "end", "text": "{{ n }}"},
    },
}


def counter(limit: int) -> BotFlow:
    data = yaml.safe_load(yaml.safe_dump(COUNTER).replace("LIMIT", str(limit)))
    return BotFlow.model_validate(data)


def test_the_loader_rejects_loops_that_never_wait() -> None:
    with pytest.raises(FlowError, match="never waits for the customer"):
        load_flow(yaml.safe_dump(COUNTER).replace("LIMIT", "5"))


@pytest.mark.parametrize(
    ("limit", "loops"),
    [(10, False), (MAX_STEPS_PER_TURN // 2 - 1, False), (MAX_STEPS_PER_TURN // 2, True)],
)
def test_a_turn_running_too_many_blocks_is_a_flow_loop(limit: int, loops: bool) -> None:
    """A loop the loader would reject (built directly): two blocks a round, plus the end."""
    bot, state = counter(limit), fresh().model_copy(update={"variables": {"n": "0"}})
    if loops:
        with pytest.raises(FlowLoopError, match=f"more than {MAX_STEPS_PER_TURN} blocks"):
            interpreter.start(bot, state)
    else:
        assert texts(interpreter.start(bot, state)) == [str(limit)]


# --- property: any valid flow, any input --------------------------------------------------

VARIABLES = ["v0", "v1", "v2"]
EXPRESSIONS = ["v0 == 'a'", "v1 | length > 2", "v2", "not v0", "v0 == v1", "true"]
VALUES = ["a", "{{ v0 }}x", "{{ v1 | upper }}", "{{ contact.name }}"]
INPUTS = ["1", "2", "3", "a", "abc", "Opção 1", "opcao 2", "sair", "ajuda", "x" * 5, " "]
WAITING = ("question", "menu")
KINDS = ["message", "condition", "set", *WAITING, *WAITING, "end"]
"""Block types to draw (waiting blocks twice as often, so conversations go on for a while)."""


@st.composite
def flows(draw: st.DrawFn) -> dict[str, Any]:
    """A random bot file that the loader accepts, as data.

    Every block may point anywhere, except that message/condition/set blocks only point to later
    blocks or to blocks that wait (so no loop runs without waiting); the last block is an end;
    blocks not reachable from the start are dropped.
    """
    count = draw(st.integers(min_value=2, max_value=10))
    kinds = [*draw(st.lists(st.sampled_from(KINDS), min_size=count - 1, max_size=count - 1)), "end"]
    names = [f"b{i}" for i in range(count)]
    waiting = [n for n, k in zip(names, kinds, strict=True) if k in WAITING]

    def anywhere() -> str:
        return draw(st.sampled_from(names))

    def onward(i: int) -> str:
        return draw(st.sampled_from(names[i + 1 :] + waiting))

    blocks: dict[str, dict[str, Any]] = {}
    for i, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        block: dict[str, Any] = {"type": kind}
        if kind == "message":
            block |= {"text": draw(st.sampled_from(VALUES)), "next": onward(i)}
        elif kind == "set":
            keys = draw(st.lists(st.sampled_from(VARIABLES), min_size=1, max_size=2, unique=True))
            block |= {"values": {k: draw(st.sampled_from(VALUES)) for k in keys}}
            block["next"] = onward(i)
        elif kind == "condition":
            count_branches = draw(st.integers(min_value=1, max_value=3))
            block["branches"] = [
                {"if": draw(st.sampled_from(EXPRESSIONS)), "next": onward(i)}
                for _ in range(count_branches)
            ]
            block["else"] = onward(i)
        elif kind in WAITING:
            block |= _waiting_block(draw, kind, name, anywhere)
        elif draw(st.booleans()):
            block["text"] = "Fim, {{ contact.name }}."
        blocks[name] = block
    reachable = _reachable(blocks, "b0")
    data: dict[str, Any] = {
        "bot": "aleatorio",
        "start": "b0",
        "blocks": {n: b for n, b in blocks.items() if n in reachable},
    }
    if draw(st.booleans()):
        goto = draw(st.sampled_from(sorted(reachable)))
        data["escape_routes"] = [
            {"keywords": ["sair"], "goto": goto},
            {"keywords": ["ajuda"], "text": "Ajuda aqui."},
        ]
    return data


def _waiting_block(
    draw: st.DrawFn, kind: str, name: str, anywhere: Callable[[], str]
) -> dict[str, Any]:
    """The fields of a question or menu block (it may point anywhere: it waits)."""
    block: dict[str, Any] = {"text": f"Pergunta {name}?"}
    block["max_retries"] = draw(st.integers(min_value=0, max_value=2))
    if on_invalid := draw(st.sampled_from([None, anywhere()])):
        block["on_invalid"] = on_invalid
    if draw(st.booleans()):
        block |= {"timeout_seconds": 30, "on_timeout": anywhere()}
    save_as = draw(st.sampled_from([None, *VARIABLES]))
    if kind == "question":
        block |= {"save_as": save_as or "v0", "next": anywhere()}
        if pattern := draw(st.sampled_from([None, "[a-c]+", "\\d"])):
            block["pattern"] = pattern
        return block
    labels = draw(
        st.lists(
            st.sampled_from(["Opção 1", "Opção 2", "Opção 3"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    block["options"] = [{"label": label, "next": anywhere()} for label in labels]
    if save_as:
        block["save_as"] = save_as
    return block


def _reachable(blocks: dict[str, dict[str, Any]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        block = blocks[name]
        targets = [block.get(key) for key in ("next", "else", "on_invalid", "on_timeout")]
        targets += [item["next"] for item in block.get("branches", []) + block.get("options", [])]
        todo.extend(t for t in targets if t)
    return seen


EVENTS = st.lists(
    st.one_of(st.sampled_from(INPUTS), st.text(max_size=12), st.just(None)),
    min_size=1,
    max_size=12,
)
"""Customer messages; None is a question/menu timeout."""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=flows(), events=EVENTS)
def test_any_valid_flow_waits_or_ends_and_is_deterministic(
    data: dict[str, Any], events: list[str | None]
) -> None:
    bot = load_flow(yaml.safe_dump(data, allow_unicode=True))
    turns = play(bot, events)
    for turn in turns:
        assert isinstance(turn.wait, AwaitInput | Ended)
        if isinstance(turn.wait, Ended):
            assert turn.state.ended and turn.state.block is None
        else:
            block = bot.blocks[turn.state.block or ""]
            assert block.type in WAITING
            assert turn.wait.timeout_seconds == block.timeout_seconds
    assert [t.model_dump() for t in play(bot, events)] == [t.model_dump() for t in turns]
