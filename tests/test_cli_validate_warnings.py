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
