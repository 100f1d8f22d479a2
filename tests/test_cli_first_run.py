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

A second `up` on the data folder of a running one half-started (on the same API port it took
the first one's API for its own): `up` now locks the folder (transbordo/data_lock.py) and a
second one stops at once, naming the process that holds it. The lock dies with its holder,
however it ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.live import DEADLINE_SECONDS
from tests.ports import free_ports
from tests.test_up import ADMIN_TOKEN, FLOWS, GREETING, _clean_env, transbordo_up
from transbordo.data_lock import LOCK_FILE, DataFolderBusy, lock_data_folder

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

        # a second `up` on the folder, on the same API port (whose check used to reach the
        # first one's API and take it for its own): refused at once, naming the running one;
        # it starts nothing and the running one's address stays
        temporal_port, ui_port = free_ports(2)
        second = run(
            "up", "--data-dir", str(data_dir), "--port", str(up.api_port),
            "--temporal-port", str(temporal_port), "--ui-port", str(ui_port),
            "--admin-token", ADMIN_TOKEN, "--flows", str(FLOWS),
        )  # fmt: skip
        assert second.returncode == 1, second
        assert second.stderr == (
            f"transbordo up: the data folder {data_dir.resolve()} is in use by process"
            f" {up.process.pid} (another `transbordo up`); stop it first, or give this one"
            " another --data-dir\n"
        ), second
        assert second.stdout == ""  # no addresses, no token: nothing half-started
        assert (data_dir / "api_url").read_text().strip() == up.api
        with socket.socket() as probe:  # its Temporal dev server never started
            probe.bind(("127.0.0.1", temporal_port))
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


HOLDER = """\
import sys
from pathlib import Path
from transbordo.data_lock import lock_data_folder
held = lock_data_folder(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""
"""A process that takes a data folder's lock and holds it until killed."""


def test_the_data_folders_lock_names_its_holder_and_dies_with_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        try:
            lock_data_folder(tmp_path)
        except DataFolderBusy as busy:
            assert busy.holder == holder.pid
            assert f"is in use by process {holder.pid}" in str(busy)
        else:
            raise AssertionError("a second lock of the folder was granted")
    finally:
        holder.kill()  # as `kill -9`: no clean-up runs; the system drops the lock
        holder.wait(timeout=DEADLINE_SECONDS)
        assert holder.stdout is not None and holder.stdin is not None
        holder.stdout.close()
        holder.stdin.close()
    mine = lock_data_folder(tmp_path)
    try:
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    finally:
        mine.close()
