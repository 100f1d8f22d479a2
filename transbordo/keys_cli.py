"""`transbordo keys`: the encryption key ring, changed in steps no process can trip over.

Every process reads the ring once, at its start (transbordo/keyring.py), and encrypts with the
ring's active key; a payload under a key a process does not have cannot be read by it (the
message answers 500). So a new key is first only *added* (`add`: last, not active), every
process restarts and learns it, and only then is it made *active* (`activate`); the old key is
dropped only on request (`retire`), never as a side effect, since whatever it encrypted
(Temporal histories, attachments, the channel and webhook secrets in SQL) is lost with it.

`keys.json` is `up`'s (shapes (a) and (b), docs/operations.md): `activate` and `retire` look at
the `up` holding the data folder (transbordo/data_lock.py) and refuse while its processes may
not have read the file's last change; `rotate` (add and activate at once) only while no `up`
runs, holding the folder's lock meanwhile. Each change keeps the file it replaces as
`keys.json.bak`. With the ring in the environment, `new` prints one key to append there.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from encryption.codec import (
    BACKUP_FILE,
    KEY_FILE,
    SEALED_FILE,
    KeyRing,
    KeyRingError,
    key_text,
    new_key,
    read_key_file,
    with_key_active,
    with_key_added,
    without_key,
    write_key_file,
)
from transbordo.data_lock import (
    LOCK_FILE,
    DataFolderBusy,
    DataFolderUnlockable,
    lock_data_folder,
    process_alive,
)
from transbordo.settings import Settings

DOCS = 'docs/operations.md, "Key rotation"'


def add_keys_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="encryption keys (keys.json, or a key to append)")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", type=Path, help="data folder (default .data)")
    sub.add_parser("list", parents=[data_dir], help="key ids, and which one is active")
    sub.add_parser("add", parents=[data_dir], help="step 1: add a new key, not active yet")
    activate = sub.add_parser(
        "activate", parents=[data_dir], help="step 2: encrypt with a key every process has"
    )
    activate.add_argument("key_id")
    activate.add_argument(
        "--yes", action="store_true", help="when it cannot be checked that `up` has restarted"
    )
    retire = sub.add_parser(
        "retire", parents=[data_dir], help="drop an old key: what it encrypted is lost"
    )
    retire.add_argument("key_id")
    retire.add_argument("--yes", action="store_true", help="drop it, having read the warning")
    rotate = sub.add_parser(
        "rotate", parents=[data_dir], help="add and activate at once, only while `up` is stopped"
    )
    rotate.add_argument("--keep", type=int, help=argparse.SUPPRESS)  # gone: refused
    sub.add_parser("new", help="print one new `id:base64` key for TRANSBORDO_ENCRYPTION_KEYS")


def run_keys(args: argparse.Namespace, settings: Settings) -> int:
    command: str = args.keys_command
    if command == "new":
        print(key_text(new_key()))
        print(
            "append it last to TRANSBORDO_ENCRYPTION_KEYS and roll every process; then move it"
            f" first and roll again ({DOCS})",
            file=sys.stderr,
        )
        return 0
    os.umask(0o077)
    try:
        if settings.encryption_keys is not None:
            return _environment_ring(command, settings)
        data = settings.data_dir.resolve()
        with _one_at_a_time(data):  # two commands at once: one would write over the other's
            ring = read_key_file(data)
            match command:
                case "list":
                    return _list(ring, str(data / KEY_FILE))
                case "add":
                    return _add(data, ring)
                case "activate":
                    return _activate(data, ring, args.key_id, args.yes)
                case "retire":
                    return _retire(data, ring, args.key_id, args.yes, settings)
                case "rotate":
                    return _rotate(data, ring, args.keep)
    except KeyRingError as exc:
        return _fail(str(exc))
    return 2


@contextmanager
def _one_at_a_time(data: Path) -> Iterator[None]:
    """An exclusive lock on `<data>/keys.lock` while a command reads and writes the ring (no
    folder: nothing to lock, and reading the ring says so)."""
    if not data.is_dir():
        yield
        return
    fd = os.open(data / "keys.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _environment_ring(command: str, settings: Settings) -> int:
    if command == "list":
        from transbordo.keyring import key_ring

        return _list(key_ring(settings), "TRANSBORDO_ENCRYPTION_KEYS")
    return _fail(
        "TRANSBORDO_ENCRYPTION_KEYS is set, so keys.json is not used: `transbordo keys new`"
        f" prints a key to append there ({DOCS})"
    )


def _list(ring: KeyRing, where: str) -> int:
    print(f"key ring: {where}")
    for key_id, _ in ring.keys:
        print(f"{key_id}  active" if key_id == ring.active_id else key_id)
    return 0


def _add(data: Path, ring: KeyRing) -> int:
    new, key_id = with_key_added(ring)
    write_key_file(data, new)
    print(f"key {key_id} added, not active: {ring.active_id} still encrypts")
    print(
        f"next: restart `transbordo up` so every process reads it, then"
        f" `transbordo keys activate {key_id}`"
    )
    return 0


def _activate(data: Path, ring: KeyRing, key_id: str, yes: bool) -> int:
    new = with_key_active(ring, key_id)
    if key_id == ring.active_id:
        print(f"key {key_id} is already active")
        return 0
    with _up_on(data) as up:
        if refusal := _stale_up(data, up, f"every process knows {key_id}", yes):
            return _fail(refusal)
        write_key_file(data, new)
    print(f"key {key_id} is active for every process that starts from now; {ring.active_id} kept")
    print(
        f"next: restart `transbordo up`; later, once nothing needs {ring.active_id}:"
        f" `transbordo keys retire {ring.active_id}`"
    )
    return 0


def _retire(data: Path, ring: KeyRing, key_id: str, yes: bool, settings: Settings) -> int:
    if key_id == ring.active_id:
        return _fail(f"key {key_id} is active: `transbordo keys add` and activate another first")
    new = without_key(ring, key_id)
    needed = f"no process still encrypts with {key_id}"
    with _up_on(data) as up:
        if refusal := _stale_up(data, up, needed, yes):
            return _fail(refusal)
        if yes:
            write_key_file(data, new)
    if not yes:
        print(
            f"retiring {key_id} makes what it encrypted unreadable for good:"
            f" {_still_sealed(settings, key_id)}",
            file=sys.stderr,
        )
        return _fail(
            f"if none of it is needed any more: `transbordo keys retire {key_id} --yes`"
            " (keys.json.bak keeps it only until the next change)"
        )
    print(f"key {key_id} retired; a copy stays in {data / BACKUP_FILE} until the next change")
    print("next: nothing; running processes drop it at their next start")
    return 0


def _rotate(data: Path, ring: KeyRing, keep: int | None) -> int:
    if keep is not None:
        return _fail(
            "`--keep` is gone: rotating drops no key; `transbordo keys retire <id>` drops one,"
            " explicitly"
        )
    added, key_id = with_key_added(ring)
    with _up_on(data) as up:
        if up is not None:
            return _fail(
                f"{_who(data, up)}: with `up` running, rotate in two steps: `transbordo keys"
                " add`, restart `up`, then `transbordo keys activate <id>`"
            )
        write_key_file(data, with_key_active(added, key_id))
    print(f"key {key_id} added and active; {ring.active_id} kept to read older data")
    print("next: start `transbordo up`")
    return 0


@contextmanager
def _up_on(data: Path) -> Iterator[DataFolderBusy | None]:
    """The `up` holding the data folder, else None, the folder then held locked meanwhile (no
    `up` starts until the change is written)."""
    try:
        lock = lock_data_folder(data)
    except DataFolderBusy as busy:
        yield busy
        return
    except DataFolderUnlockable:  # no flock here: `up` refuses such a folder, so none runs
        yield None
        return
    try:
        yield None
    finally:
        lock.close()


def _who(data: Path, up: DataFolderBusy) -> str:
    if up.holder is not None and process_alive(up.holder):
        return f"the data folder {data} is in use by `transbordo up` (process {up.holder})"
    return (
        f"the data folder {data} is in use by processes of an earlier `transbordo up`"
        f" (`fuser -v {data / LOCK_FILE}` lists them)"
    )


def _stale_up(data: Path, up: DataFolderBusy | None, needed: str, yes: bool) -> str | None:
    """None when no `up` runs on `data` or all its processes started after keys.json's last
    change (they all read it, so `needed` holds); else the refusal, in one line."""
    if up is None:
        return None
    alive = up.holder is not None and process_alive(up.holder)
    started = started_at(up.holder) if up.holder is not None and alive else None
    if started is not None and started > (data / KEY_FILE).stat().st_mtime:
        return None
    if started is not None:
        return (
            f"{_who(data, up)}, started before keys.json last changed, so not yet {needed}:"
            " restart `up`, then run this again"
        )
    if not alive:
        return f"{_who(data, up)}: let them end, then run this again"
    if yes:
        return None
    return (
        f"{_who(data, up)} and its start time cannot be read here: if it restarted after"
        f" keys.json last changed ({needed}), run this again with --yes"
    )


def started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds, at most one clock tick early), on Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime: ticks since boot
    boot = time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_BOOTTIME)
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _still_sealed(settings: Settings, key_id: str) -> str:
    """What can be counted here of what `key_id` encrypted, and what cannot."""
    secrets = sealed_secrets(settings.effective_database_url, key_id)
    files = (
        None
        if settings.attachment_s3_bucket
        else sealed_files(settings.data_dir.resolve() / "attachments", key_id)
    )
    return (
        f"{'?' if secrets is None else secrets} channel/webhook secret(s) in SQL,"
        f" {'? (in the bucket)' if files is None else files} attachment file(s), and the"
        " conversation histories in Temporal written while it was active (open ones stop;"
        " replays fail)"
    )


def sealed_secrets(database_url: str, key_id: str) -> int | None:
    """Channel and webhook secrets in SQL encrypted with `key_id`; None: not readable."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from store.channel_tables import channel_connectors
    from store.db import make_engine
    from store.tables import services

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return 0  # no database yet: nothing stored in it
    engine = make_engine(database_url)
    prefix = f"enc:{key_id}:"
    try:
        with engine.connect() as conn:
            return sum(
                conn.execute(
                    sa.select(sa.func.count()).where(column.startswith(prefix, autoescape=True))
                ).scalar_one()
                for column in (services.c.webhook_secret, channel_connectors.c.secrets)
            )
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def sealed_files(root: Path, key_id: str) -> int:
    """Attachment files under `root` (the disk store) sealed with `key_id`."""
    header = SEALED_FILE + bytes([len(key_id.encode())]) + key_id.encode()
    count = 0
    for path in root.glob("*/att_*"):
        with path.open("rb") as file:
            count += file.read(len(header)) == header
    return count


def _fail(message: str) -> int:
    print(f"transbordo keys: {message}", file=sys.stderr)
    return 1
