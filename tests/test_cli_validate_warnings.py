"""`transbordo validate` says what publishing would warn of, without failing the file.

Before, a Humano block that checks hours with no `closed` route passed `validate` with a bare
"ok", while publishing the same file (and the /bots editor) warned that the customer would be
ended in silence out of hours.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.test_cli import transbordo

NO_CLOSED_ROUTE = """\
bot: sem-rota
human_service: {platform: omni_v2, omni_key: tbk_literal}
start: humano
blocks:
  humano:
    type: human
    on: {finished: fim, unavailable: fim}
  fim: {type: end, text: Até logo.}
"""


def test_validate_prints_the_publish_warning_and_still_passes(tmp_path: Path) -> None:
    flow = tmp_path / "sem-rota.yaml"
    flow.write_text(NO_CLOSED_ROUTE, encoding="utf-8")
    done = transbordo("validate", str(flow), env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "ok"
    [warning] = lines[:-1]
    assert warning.startswith(f"{flow}:5:3: warning: block 'humano': checks hours")
    assert "no `closed` route" in warning
    assert "problem(s)" not in done.stderr


def test_validate_of_a_broken_file_with_the_same_block_reports_only_its_errors(
    tmp_path: Path,
) -> None:
    flow = tmp_path / "sem-rota.yaml"
    flow.write_text(NO_CLOSED_ROUTE.replace("fim: {type: end", "fin: {type: end"), "utf-8")
    done = transbordo("validate", str(flow), env=dict(os.environ))
    assert done.returncode == 1
    assert "warning" not in done.stdout  # warnings are of a valid flow; its errors come first
    assert "unknown block 'fim'" in done.stdout


UNSET_KEY = """\
bot: sem-chave
human_service:
  platform: omni_v2
  omni_key: ${SEM_CHAVE_OMNI_KEY}
start: humano
blocks:
  humano: {type: human, check_hours: false, on: {unavailable: fim}}
  fim: {type: end, text: Até logo.}
"""
FLOW_STYLE = 'human_service: {platform: omni_v2, omni_key: "${SEM_CHAVE_OMNI_KEY}"}\n'


def test_the_unset_key_warning_is_at_the_omni_key_line_and_column(tmp_path: Path) -> None:
    """It said `file: warning: …` with no place, where every other warning has one."""
    env = {k: v for k, v in os.environ.items() if k != "SEM_CHAVE_OMNI_KEY"}
    lines = UNSET_KEY.splitlines(keepends=True)
    flow_style = "".join([lines[0], FLOW_STYLE, *lines[4:]])
    for source, where in ((UNSET_KEY, "4:13"), (flow_style, "2:46")):
        flow = tmp_path / "sem-chave.yaml"
        flow.write_text(source, encoding="utf-8")
        done = transbordo("validate", str(flow), "--data-dir", str(tmp_path / "dados"), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        [warning, ok] = done.stdout.splitlines()
        assert ok == "ok"
        expected = f"{flow}:{where}: warning: environment variable SEM_CHAVE_OMNI_KEY is not set"
        assert warning.startswith(expected), warning
