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

Review of the lock: a `kill -9` of `up` left its children (the dev server, the worker, the API)
running on the folder, and a new `up` then started a second dev server on the same
temporal.db. The children now hold the lock too (its descriptor is theirs as well) and end with
`up` (Linux: PR_SET_PDEATHSIG); while they run a new `up` is refused in words that do not blame
the dead process, and once they are gone it starts. A folder that cannot be locked at all stops
`up` with the reason.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live import DEADLINE_SECONDS, POLL_SECONDS
from tests.ports import free_ports
from tests.test_up import ADMIN_TOKEN, FLOWS, GREETING, _clean_env, transbordo_up
from transbordo.data_lock import (
    LOCK_FILE,
    DataFolderBusy,
    DataFolderUnlockable,
    hold_data_folder,
    lock_data_folder,
)

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
    assert warning.startswith("flows/loja.yaml:7:13: warning: environment variable LOJA_OMNI_KEY")
    promise = "(`transbordo up` makes one for its demo on its first start with the bot)"
    assert warning.endswith(promise)

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


def _children_of(pid: int) -> set[int]:
    """The live processes whose parent is `pid` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """`pid` runs (a zombie left unreaped by whoever adopted it has ended: its files are
    closed)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_until_gone(pids: set[int]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while any(_running(pid) for pid in pids):
        if time.monotonic() > deadline:
            left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pids if _running(pid)}
            pytest.fail(f"still running after their parent was killed: {left}")
        time.sleep(POLL_SECONDS)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_ups_children_end_with_it_and_a_new_up_then_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with transbordo_up(data_dir, ADMIN_TOKEN) as first:
        first.wait_for_addresses()
        children = _children_of(first.process.pid)
        assert len(children) == 3, children  # the dev server, the worker, the API
        os.kill(first.process.pid, signal.SIGKILL)  # `kill -9`: no clean-up runs in `up`
        first.process.wait(timeout=DEADLINE_SECONDS)
        _wait_until_gone(children)
    with transbordo_up(data_dir, ADMIN_TOKEN) as second:
        second.wait_for_addresses()  # the folder is free: it starts fully
        assert (data_dir / LOCK_FILE).read_text() == f"{second.process.pid}\n"


GONE_HOLDER = """\
import os, subprocess, sys
from pathlib import Path
from transbordo.data_lock import lock_data_folder
held = lock_data_folder(Path(sys.argv[1]))
child = "import os, sys; print(os.getpid(), flush=True); sys.stdin.read()"
subprocess.Popen([sys.executable, "-c", child], pass_fds=(held.fileno(),))
os._exit(0)
"""
"""A process that takes the lock, gives its descriptor to a child (as `up` does) and dies; the
child holds the folder until its stdin closes."""


def test_a_folder_held_only_by_an_earlier_ups_children_does_not_blame_the_dead(
    tmp_path: Path,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", GONE_HOLDER, str(tmp_path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        child = int(holder.stdout.readline())
        assert holder.wait(timeout=DEADLINE_SECONDS) == 0
        with pytest.raises(DataFolderBusy) as busy:
            lock_data_folder(tmp_path)
        said = str(busy.value)
        assert busy.value.holder == holder.pid
        assert "is still in use by processes of an earlier `transbordo up` (its process" in said
        assert f" {holder.pid} is gone; `fuser -v {tmp_path / LOCK_FILE}` lists them)" in said
        assert f"in use by process {holder.pid}" not in said
    finally:
        holder.stdin.close()  # the child reads EOF and ends
        holder.stdout.close()
    _wait_until_gone({child})
    lock_data_folder(tmp_path).close()


def test_a_folder_that_cannot_be_locked_stops_up_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).mkdir()  # opening it fails, as flock fails with ENOLCK on some NFS
    with pytest.raises(DataFolderUnlockable):
        lock_data_folder(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        hold_data_folder(tmp_path)
    assert str(stopped.value).startswith(
        f"transbordo up: cannot lock the data folder {tmp_path} ({tmp_path / LOCK_FILE}: "
    )
    assert "needs a folder on a file system with file locks (flock)" in str(stopped.value)
