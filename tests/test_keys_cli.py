"""`transbordo keys` as an operator types it: keys are added, activated and retired in steps, a
key is never dropped by default, and a change a running `up` could trip over is refused.

`up` is stood in for by a process that holds the data folder's lock exactly as `up` and its
children do (transbordo/data_lock.py): what the commands look at is that lock and its holder."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from encryption.codec import KeyRing, encrypt_bytes, ensure_key_file, read_key_file
from store.channel_connectors import ConnectorSettings, save
from store.db import open_database
from tests.live import DEADLINE_SECONDS

REPO = Path(__file__).resolve().parents[1]
RING_VARIABLES = ("TRANSBORDO_ENCRYPTION_KEYS", "TRANSBORDO_CONTACT_HASH_KEY")
CLEARED = (
    *RING_VARIABLES,
    "TRANSBORDO_DATA_DIR",
    "DATABASE_URL",
    "TRANSBORDO_ATTACHMENT_S3_BUCKET",
)


def keys(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return subprocess.run(
        [sys.executable, "-m", "transbordo", "keys", *args],
        cwd=REPO,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )


def ids(data: Path) -> list[str]:
    """The ring's key ids, the active one first."""
    return [key_id for key_id, _ in read_key_file(data).keys]


@contextmanager
def up_holding(data: Path) -> Iterator[int]:
    """A process holding `data` as `transbordo up` does, from now until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from transbordo.data_lock import"
            " lock_data_folder; lock = lock_data_folder(Path(sys.argv[1]));"
            " print('held', flush=True); sys.stdin.read()",
            str(data),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder.pid
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # it leaves, and the lock with it
        holder.wait(timeout=DEADLINE_SECONDS)


def test_add_activate_retire_in_steps_with_a_backup_each_time(tmp_path: Path) -> None:
    old = ensure_key_file(tmp_path).active_id
    added = keys("add", "--data-dir", str(tmp_path))
    assert added.returncode == 0, added.stderr
    [new] = [key_id for key_id in ids(tmp_path) if key_id != old]
    assert ids(tmp_path) == [old, new]  # appended, not active
    assert added.stdout.splitlines() == [
        f"key {new} added, not active: {old} still encrypts",
        f"next: restart `transbordo up` so every process reads it, then"
        f" `transbordo keys activate {new}`",
    ]
    assert [
        key_id for key_id, _ in KeyRing.from_json((tmp_path / "keys.json.bak").read_text()).keys
    ] == [old]

    listed = keys("list", "--data-dir", str(tmp_path))
    assert listed.stdout.splitlines() == [
        f"key ring: {tmp_path / 'keys.json'}",
        f"{old}  active",
        new,
    ]
    secret = json.loads((tmp_path / "keys.json").read_text())["encryption_keys"][0]["key"]
    assert secret not in listed.stdout + listed.stderr

    activated = keys("activate", new, "--data-dir", str(tmp_path))
    assert activated.returncode == 0, activated.stderr
    assert ids(tmp_path) == [new, old]
    assert activated.stdout.splitlines()[-1].startswith(
        f"next: restart `transbordo up`; later, once nothing needs {old}:"
    )

    asked = keys("retire", old, "--data-dir", str(tmp_path))
    assert asked.returncode == 1 and ids(tmp_path) == [new, old]
    assert f"retiring {old} makes what it encrypted unreadable for good" in asked.stderr
    assert f"`transbordo keys retire {old} --yes`" in asked.stderr

    retired = keys("retire", old, "--yes", "--data-dir", str(tmp_path))
    assert retired.returncode == 0, retired.stderr
    assert ids(tmp_path) == [new]
    backup = KeyRing.from_json((tmp_path / "keys.json.bak").read_text())
    assert [key_id for key_id, _ in backup.keys] == [new, old]  # the retired key, recoverable
    for name in ("keys.json", "keys.json.bak"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_the_active_key_and_unknown_keys_are_never_retired(tmp_path: Path) -> None:
    active = ensure_key_file(tmp_path).active_id
    refused = keys("retire", active, "--yes", "--data-dir", str(tmp_path))
    assert refused.returncode == 1 and f"key {active} is active" in refused.stderr
    unknown = keys("activate", "k00000000", "--data-dir", str(tmp_path))
    assert unknown.returncode == 1 and f"its keys: {active}" in unknown.stderr
    assert ids(tmp_path) == [active] and not (tmp_path / "keys.json.bak").exists()


def test_no_ring_is_made_by_a_keys_command(tmp_path: Path) -> None:
    missing = keys("add", "--data-dir", str(tmp_path / "typo"))
    assert missing.returncode == 1 and "`transbordo up` makes it" in missing.stderr
    assert not (tmp_path / "typo").exists()


def test_activate_waits_for_every_process_of_up_to_have_read_the_key(tmp_path: Path) -> None:
    old = ensure_key_file(tmp_path).active_id
    with up_holding(tmp_path) as pid:
        assert keys("add", "--data-dir", str(tmp_path)).returncode == 0  # safe while up runs
        [new] = ids(tmp_path)[1:]
        early = keys("activate", new, "--data-dir", str(tmp_path))
        assert early.returncode == 1, early.stdout
        assert f"in use by `transbordo up` (process {pid}), started before keys.json last" in (
            early.stderr
        )
        assert "restart `up`, then run this again" in early.stderr
        assert ids(tmp_path) == [old, new]
    with up_holding(tmp_path):  # `up` restarted: all its processes read the added key
        activated = keys("activate", new, "--data-dir", str(tmp_path))
        assert activated.returncode == 0, activated.stderr
        assert ids(tmp_path) == [new, old]
        # Retiring the old key now would leave processes that still encrypt with it.
        early = keys("retire", old, "--yes", "--data-dir", str(tmp_path))
        assert early.returncode == 1 and f"no process still encrypts with {old}" in early.stderr
    with up_holding(tmp_path):
        assert keys("retire", old, "--yes", "--data-dir", str(tmp_path)).returncode == 0
    assert ids(tmp_path) == [new]


def test_rotate_is_add_and_activate_only_while_up_is_stopped(tmp_path: Path) -> None:
    old = ensure_key_file(tmp_path).active_id
    with up_holding(tmp_path) as pid:
        refused = keys("rotate", "--data-dir", str(tmp_path))
        assert refused.returncode == 1 and f"(process {pid})" in refused.stderr
        assert "rotate in two steps: `transbordo keys add`" in refused.stderr
        assert ids(tmp_path) == [old]
    for _ in range(3):  # the QA's case: twice with the old default dropped the first key
        assert keys("rotate", "--data-dir", str(tmp_path)).returncode == 0
    assert len(ids(tmp_path)) == 4 and ids(tmp_path)[-1] == old
    gone = keys("rotate", "--keep", "2", "--data-dir", str(tmp_path))
    assert gone.returncode == 1 and "`--keep` is gone" in gone.stderr
    assert len(ids(tmp_path)) == 4


def test_retire_counts_the_secrets_and_files_its_key_still_seals(tmp_path: Path) -> None:
    ring = ensure_key_file(tmp_path)
    engine = open_database(f"sqlite:///{tmp_path / 'transbordo.db'}")
    save(engine, ring, ConnectorSettings("loja", "telegram", None, {"bot_token": "t"}, None, None))
    engine.dispose()
    sealed = tmp_path / "attachments" / "00" / "att_00112233445566778899"
    sealed.parent.mkdir(parents=True)
    sealed.write_bytes(encrypt_bytes(ring, b"foto", sealed.name))
    assert keys("rotate", "--data-dir", str(tmp_path)).returncode == 0
    asked = keys("retire", ring.active_id, "--data-dir", str(tmp_path))
    assert asked.returncode == 1
    assert "1 channel/webhook secret(s) in SQL, 1 attachment file(s)" in asked.stderr
    assert "conversation histories in Temporal" in asked.stderr


def test_keys_in_the_environment_get_a_key_to_append(tmp_path: Path) -> None:
    made = keys("new")
    assert made.returncode == 0 and len(made.stdout.splitlines()) == 1
    key_id, _, encoded = made.stdout.strip().partition(":")
    assert len(base64.b64decode(encoded, validate=True)) == 32
    assert "append it last to TRANSBORDO_ENCRYPTION_KEYS" in made.stderr
    ring = KeyRing.generate()
    env = ring.as_environment()
    env["TRANSBORDO_ENCRYPTION_KEYS"] += "," + made.stdout.strip()
    listed = keys("list", env=env)
    assert listed.stdout.splitlines() == [
        "key ring: TRANSBORDO_ENCRYPTION_KEYS",
        f"{ring.active_id}  active",
        key_id,
    ]
    for command in ("add", "rotate"):
        refused = keys(command, "--data-dir", str(tmp_path), env=env)
        assert refused.returncode == 1 and "`transbordo keys new`" in refused.stderr
    assert list(tmp_path.iterdir()) == []
