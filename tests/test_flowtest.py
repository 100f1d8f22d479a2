"""`transbordo test`: conversation tests on the time-skipping server, real worker and API."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bots.errors import FlowError
from transbordo.flowtest import (
    Outcome,
    parse_at,
    parse_duration,
    parse_test_source,
    resolve_at,
    run_paths,
)

REPO = Path(__file__).resolve().parents[1]
SAO_PAULO = ZoneInfo("America/Sao_Paulo")

PRESSA = """\
bot: pressa
start: nome
blocks:
  nome:
    type: question
    text: Qual o seu nome?
    save_as: nome
    timeout_seconds: 120
    on_timeout: sumiu
    next: fim
  sumiu: {type: end, text: Encerrando por falta de resposta.}
  fim: {type: end, text: "Até logo, {{ nome }}."}
"""

BALCAO = """\
bot: balcao
human_service: {platform: omni_v2, omni_key: "${BALCAO_OMNI_KEY}"}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    text: Um momento.
    check_hours: false
    on: {finished: fim}
    next: fim
  fim: {type: end, text: Tchau!}
"""


async def run(tmp_path: Path, flow: str, tests: str) -> tuple[list[Outcome], list[str]]:
    bot = flow.split("bot:", 1)[1].split()[0]
    (tmp_path / f"{bot}.yaml").write_text(flow, encoding="utf-8")
    folder = tmp_path / "tests"
    folder.mkdir(exist_ok=True)
    (folder / f"{bot}.test.yaml").write_text(tests, encoding="utf-8")
    lines: list[str] = []
    outcomes = await run_paths([folder], echo=lines.append)
    return outcomes, lines


async def test_the_shipped_example_tests_pass() -> None:
    lines: list[str] = []
    outcomes = await run_paths([REPO / "flows"], echo=lines.append)
    report = "\n".join(lines)
    assert outcomes and all(o.passed for o in outcomes), report
    names = {(o.file.name, o.name) for o in outcomes}
    assert ("loja.test.yaml", "segunda via de boleto com atendimento humano") in names
    assert ("loja.test.yaml", "segunda via fora do horário no domingo") in names
    assert ("loja.test.yaml", "plantão de especialistas no domingo à noite") in names
    assert {name for name, _ in names} == {"loja.test.yaml", "faq.test.yaml"}
    assert lines[-1] == f"{len(outcomes)} passed, 0 failed"


async def test_a_failing_expectation_names_its_line_with_expected_and_got(tmp_path: Path) -> None:
    outcomes, lines = await run(
        tmp_path,
        PRESSA,
        """\
bot: pressa
tests:
  - name: nome certo
    steps:
      - say: oi
      - expect: Qual o seu nome?
      - say: Ana
      - expect: Até logo, Ana.
  - name: nome errado
    steps:
      - say: oi
      - expect: Qual o seu nome?
      - say: Ana
      - expect: Até mais, Ana!
      - expect_status: ended
""",
    )
    assert [o.passed for o in outcomes] == [True, False]
    test_file = tmp_path / "tests" / "pressa.test.yaml"
    assert f'{test_file}:14: expected "Até mais, Ana!", got "Até logo, Ana."' in "\n".join(
        line.strip() for line in lines
    )
    assert outcomes[1].line == 14
    transcript = lines[lines.index("    conversation so far:") :]
    assert "      customer: Ana" in transcript and "      bot: Até logo, Ana." in transcript
    assert lines[-1] == "1 passed, 1 failed"


async def test_an_unexpected_message_fails_at_the_next_step(tmp_path: Path) -> None:
    outcomes, _ = await run(
        tmp_path,
        PRESSA,
        """\
bot: pressa
tests:
  - name: esqueceu a pergunta
    steps:
      - say: oi
      - say: Ana
""",
    )
    assert outcomes[0].line == 6
    assert outcomes[0].failure == (
        'unexpected bot message "Qual o seu nome?" before this message (add an expect step for it)'
    )


async def test_a_pattern_and_a_multi_line_diff(tmp_path: Path) -> None:
    outcomes, lines = await run(
        tmp_path,
        PRESSA.replace("text: Qual o seu nome?", 'text: "Qual o seu nome?\\nCompleto, por favor."'),
        """\
bot: pressa
tests:
  - name: padrão
    steps:
      - say: oi
      - expect: {pattern: "^Qual o seu nome\\\\?"}
      - say: Ana
      - expect: {pattern: "^Tchau"}
  - name: diff
    steps:
      - say: oi
      - expect: "Qual o seu nome?\\nInteiro, por favor."
""",
    )
    assert outcomes[0].line == 8
    assert outcomes[0].failure == 'expected a match of /^Tchau/, got "Até logo, Ana."'
    assert outcomes[1].line == 12
    assert "-Inteiro, por favor." in outcomes[1].failure
    assert "+Completo, por favor." in outcomes[1].failure


async def test_wait_makes_a_question_time_out(tmp_path: Path) -> None:
    outcomes, lines = await run(
        tmp_path,
        PRESSA,
        """\
bot: pressa
tests:
  - name: ainda no prazo
    steps:
      - say: oi
      - expect: Qual o seu nome?
      - wait: 1m50s  # the server's clock also runs while the steps run: a loaded CI's seconds
      - expect_status: bot
      - say: Ana
      - expect: Até logo, Ana.
  - name: tempo esgotado
    steps:
      - say: oi
      - expect: Qual o seu nome?
      - wait: 2m
      - expect: Encerrando por falta de resposta.
      - expect_status: ended
  - name: tempo esgotado sem esperar a mensagem
    steps:
      - say: oi
      - expect: Qual o seu nome?
      - wait: 10m
""",
    )
    assert [o.passed for o in outcomes] == [True, True, False], lines
    assert outcomes[2].line == 22
    assert outcomes[2].failure.startswith(
        'unexpected bot message "Encerrando por falta de resposta." after the last step'
    )


async def test_agents_pick_up_transfer_and_finish(tmp_path: Path) -> None:
    outcomes, lines = await run(
        tmp_path,
        BALCAO,
        """\
bot: balcao
services:
  - {name: Suporte, abandon_seconds: 600}
  - {name: Financeiro, extension: "200"}
agents:
  - {name: Ana, services: [Suporte]}
  - {name: Caio, services: [Financeiro]}
tests:
  - name: transferência por ramal
    steps:
      - say: oi
      - expect: Um momento.
      - expect_status: waiting
      - agent: {pickup: , as: Ana}
      - expect: {from: system, pattern: Ana}
      - agent: {transfer: {extension: "200"}, as: Ana}
      - expect: Transferindo para Financeiro.
      - expect_status: waiting
      - agent: {pickup: , as: Ana}
""",
    )
    assert outcomes[0].line == 19, lines
    assert outcomes[0].failure.startswith("agent Ana pickup: HTTP 403"), lines

    outcomes, lines = await run(
        tmp_path,
        BALCAO,
        """\
bot: balcao
services:
  - {name: Suporte}
  - {name: Financeiro, extension: "200"}
agents:
  - {name: Ana, services: [Suporte]}
  - {name: Caio, services: [Financeiro]}
tests:
  - name: transferência e fim
    steps:
      - say: oi
      - expect: Um momento.
      - agent: pickup                    # the first agent: Ana
      - expect: {from: system}
      - agent: {transfer: {service: Financeiro}}
      - expect: Transferindo para Financeiro.
      - agent: {pickup: , as: Caio}
      - expect: {from: system, pattern: Caio}
      - agent: {say: Resolvido!, as: Caio}
      - expect: {from: agent, text: Resolvido!}
      - agent: {finish: {return_to_bot: false}, as: Caio}
      - expect: Atendimento humano encerrado.
      - expect_status: ended
""",
    )
    assert all(o.passed for o in outcomes), "\n".join(lines)


async def test_at_sets_the_clock_and_refuses_the_past(tmp_path: Path) -> None:
    flow = """\
bot: balcao
human_service: {platform: omni_v2, omni_key: "${BALCAO_OMNI_KEY}"}
schedule: {timezone: America/Sao_Paulo, hours: {mon-fri: ["08:00-18:00"]}}
start: humano
blocks:
  humano: {type: human, text: Um momento., on: {closed: fechado}, next: fim}
  fechado: {type: end, text: Fechado.}
  fim: {type: end, text: Tchau!}
"""
    outcomes, lines = await run(
        tmp_path,
        flow,
        """\
bot: balcao
tests:
  - name: sábado
    at: sat 10:00
    steps:
      - say: oi
      - expect: Fechado.
  - name: segunda
    at: mon 10:00
    steps:
      - say: oi
      - expect: Um momento.
  - name: passado
    at: 2020-01-06T10:00-03:00
    steps:
      - say: oi
""",
    )
    assert [o.passed for o in outcomes] == [True, True, False], "\n".join(lines)
    assert outcomes[2].line == 13
    assert "at: 2020-01-06T10:00-03:00 is in the past" in outcomes[2].failure


async def test_a_broken_test_file_is_reported_with_line_and_column(tmp_path: Path) -> None:
    outcomes, lines = await run(
        tmp_path,
        PRESSA,
        """\
bot: pressa
tests:
  - name: quebrado
    steps:
      - say: oi
      - expcet: Qual o seu nome?
      - wait: logo
""",
    )
    assert len(outcomes) == 1 and not outcomes[0].passed
    test_file = tmp_path / "tests" / "pressa.test.yaml"
    assert f"  {test_file}:6:9: test 'quebrado', step: unknown key 'expcet'" in "\n".join(lines)
    assert f"  {test_file}:7:15: test 'quebrado', wait: 'logo' is not a duration" in "\n".join(
        lines
    )


def test_the_command_exits_1_on_failure_with_the_summary(tmp_path: Path) -> None:
    (tmp_path / "pressa.yaml").write_text(PRESSA, encoding="utf-8")
    (tmp_path / "pressa.test.yaml").write_text(
        "bot: pressa\ntests:\n  - name: errado\n    steps:\n      - say: oi\n      - expect: Oi?\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "transbordo", "test", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f'{tmp_path / "pressa.test.yaml"}:6: expected "Oi?", got "Qual o seu nome?"' in (
        done.stdout
    )
    assert done.stdout.splitlines()[-1] == "0 passed, 1 failed"


async def test_the_documented_examples_run(tmp_path: Path) -> None:
    docs = (REPO / "docs" / "flows.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Conversation tests") :]
    examples = re.findall(r"```yml\n(.*?)```", section, flags=re.S)
    assert len(examples) == 2
    (tmp_path / "loja.yaml").write_text((REPO / "flows" / "loja.yaml").read_text("utf-8"), "utf-8")
    for number, example in enumerate(examples):
        path = tmp_path / f"doc{number}.test.yaml"
        path.write_text(example, encoding="utf-8")
        lines: list[str] = []
        outcomes = await run_paths([path], echo=lines.append)
        assert outcomes and all(o.passed for o in outcomes), "\n".join(lines)


def test_durations_and_moments() -> None:
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration(90).total_seconds() == 90
    with pytest.raises(ValueError):
        parse_duration("logo")
    wednesday = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert resolve_at(parse_at("mon 10:00"), wednesday, SAO_PAULO) == datetime(
        2026, 11, 30, 10, 0, tzinfo=SAO_PAULO
    )
    assert resolve_at(parse_at("12-25 10:00"), wednesday, SAO_PAULO) == datetime(
        2026, 12, 25, 10, 0, tzinfo=SAO_PAULO
    )
    assert resolve_at(parse_at("2026-12-01T10:00"), wednesday, SAO_PAULO) == datetime(
        2026, 12, 1, 10, 0, tzinfo=SAO_PAULO
    )
    with pytest.raises(ValueError):
        parse_at("13-01 10:00")


def test_parse_errors_are_flow_errors() -> None:
    with pytest.raises(FlowError) as caught:
        parse_test_source("bot: x\ntests: []\n", Path("x.test.yaml"))
    assert str(caught.value) == "x.test.yaml:2:8: tests: expected a list of tests"


def test_customer_texts_are_taken_as_written() -> None:
    parsed = parse_test_source(
        "bot: x\ntests:\n  - name: t\n    steps:\n      - say: 0123\n      - expect: 1.50\n",
        Path("x.test.yaml"),
    )
    steps = parsed.tests[0].steps
    assert steps[0].value == "0123" and steps[1].value.text == "1.50"


async def test_offers_ring_lapse_are_declined_and_accepted(tmp_path: Path) -> None:
    outcomes, lines = await run(
        tmp_path,
        BALCAO,
        """\
bot: balcao
services:
  - {name: Suporte, assignment: auto, offer_seconds: 30, abandon_seconds: 900}
agents:
  - {name: Ana, services: [Suporte]}
  - {name: Beto, services: [Suporte]}
tests:
  - name: oferta, expira, recusa, aceite
    steps:
      - say: oi
      - expect: Um momento.
      - expect_offer: Ana                # the agent idle longest (then by id): Ana was first
      - wait: 31s                        # nobody accepts: the offer lapses to the next agent
      - expect_offer: Beto
      - agent: {decline: , as: Beto}
      - expect_offer: Ana
      - agent: {accept: , as: Ana}
      - expect: {from: system, pattern: Ana}
      - expect_status: in_service
      - expect_offer: none
""",
    )
    assert all(o.passed for o in outcomes), "\n".join(lines)
    outcomes, lines = await run(
        tmp_path,
        BALCAO,
        """\
bot: balcao
services:
  - {name: Suporte, assignment: auto}
agents:
  - {name: Ana, services: [Suporte], status: paused}
tests:
  - name: ninguém disponível
    steps:
      - say: oi
      - expect: Um momento.
      - expect_offer: Ana
""",
    )
    assert outcomes[0].failure == "expected an offer to Ana, it rings for nobody", lines
