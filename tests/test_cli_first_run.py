"""The first commands a newcomer types after the README, as they type them (QA's findings).

`transbordo chat loja` after `transbordo up --port 18300` looked at port 8000 and said only
"a API em http://127.0.0.1:8000 não respondeu": `up` now writes its API's address into the data
folder while it runs (`api_url`), `chat` goes there by default, and a chat that finds no API
says how to point it elsewhere (`--api`). `transbordo validate flows/` warned that
LOJA_OMNI_KEY is not set although the README's demo needs nothing exported: the data folder's
demo key counts as set, as `up` gives it to the API; before any demo the warning says `up`
makes one.

Review of that change: a second `up` on the same data folder that failed at its start removed
the running one's `api_url` (it now removes only the file it wrote, still as it wrote it), and
a stale `api_url` won over the port the environment set (TRANSBORDO_API_PORT now wins over
the file; `--api` over both).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.live import DEADLINE_SECONDS
from tests.ports import free_ports
from tests.test_up import ADMIN_TOKEN, FLOWS, GREETING, _clean_env, transbordo_up

REPO = Path(__file__).resolve().parents[1]


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "transbordo", *args],
        cwd=REPO,
        env=env or _clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )


def test_chat_goes_where_up_runs_and_validate_takes_the_demos_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with transbordo_up(data_dir, ADMIN_TOKEN) as up:
        up.wait_for_addresses()
        assert (data_dir / "api_url").read_text().strip() == up.api  # a free port, not 8000
        chat = run("chat", "loja", "--data-dir", str(data_dir), stdin="oi\n")
        assert chat.returncode == 0, chat.stderr
        assert f"bot> {GREETING}" in chat.stdout.splitlines()

        checked = run("validate", "flows/", "--data-dir", str(data_dir))
        assert (checked.returncode, checked.stdout) == (0, "ok\n"), checked.stderr

        # a second `up` on the folder fails at its start (its Temporal port is taken, by a
        # socket bound and not listening): the running one's address stays
        api_port, ui_port = free_ports(2)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            second = run(
                "up", "--data-dir", str(data_dir), "--port", str(api_port),
                "--temporal-port", str(taken.getsockname()[1]), "--ui-port", str(ui_port),
                "--admin-token", ADMIN_TOKEN, "--flows", str(FLOWS),
            )  # fmt: skip
        assert second.returncode == 1 and "temporal exited early" in second.stderr, second
        assert (data_dir / "api_url").read_text().strip() == up.api
        assert "stopped" in up.interrupt()
    assert not (data_dir / "api_url").exists()  # a stopped `up` is looked for no more


def test_a_chat_that_finds_no_api_says_where_it_looked_and_how_to_point_it(tmp_path: Path) -> None:
    (tmp_path / "api_url").write_text("http://127.0.0.1:9\n")  # an `up` that was killed
    done = run("chat", "loja", "--data-dir", str(tmp_path), stdin="oi\n")
    assert done.returncode == 1
    said = done.stderr
    assert "! a API em http://127.0.0.1:9 não respondeu" in said, said
    assert "transbordo chat loja --api http://127.0.0.1:PORTA" in said
    assert "--data-dir D" in said and "Traceback" not in said

    # no `up` on the data folder: the settings' address
    env = {**_clean_env(), "TRANSBORDO_API_PORT": "9", "TRANSBORDO_DATA_DIR": str(tmp_path / "x")}
    done = run("chat", "loja", stdin="oi\n", env=env)
    assert "! a API em http://127.0.0.1:9 não respondeu" in done.stderr, done.stderr

    # the port the environment sets wins over a stale file; `--api` over both
    env = {**_clean_env(), "TRANSBORDO_API_PORT": "10", "TRANSBORDO_DATA_DIR": str(tmp_path)}
    done = run("chat", "loja", stdin="oi\n", env=env)
    assert "! a API em http://127.0.0.1:10 não respondeu" in done.stderr, done.stderr
    done = run("chat", "loja", "--api", "http://127.0.0.1:11", stdin="oi\n", env=env)
    assert "! a API em http://127.0.0.1:11 não respondeu" in done.stderr, done.stderr


def test_validate_before_any_demo_says_that_up_makes_the_key(tmp_path: Path) -> None:
    done = run("validate", "flows/", "--data-dir", str(tmp_path / "new"))
    assert done.returncode == 0, done.stderr
    [warning, ok] = done.stdout.splitlines()
    assert ok == "ok"
    assert warning.startswith("flows/loja.yaml: warning: environment variable LOJA_OMNI_KEY is")
    assert warning.endswith("(`transbordo up` makes one for its demo on a new data folder)")

    # a file `up` does not publish gets no such promise
    outside = tmp_path / "outro.yaml"
    outside.write_text((REPO / "flows" / "loja.yaml").read_text(encoding="utf-8"), "utf-8")
    done = run("validate", str(outside), "--data-dir", str(tmp_path / "new"))
    assert done.returncode == 0, done.stderr
    assert "is not set: the Humano block will answer `unavailable`\n" in done.stdout
