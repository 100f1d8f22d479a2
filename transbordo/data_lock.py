"""One `transbordo up` per data folder: an exclusive lock on a file inside it.

A second `up` on the folder of a running one used to half-start: with the same API port its
port check reached the first one's API and took it for its own, it wrote the same `api_url`,
and a taken Temporal port failed it only after the migrations and the demo. Now `up` takes
`fcntl.flock` on `up.lock` first and holds it for the life of its process; a second one stops
at once, naming the holder's process id (written into the file by the holder). The operating
system releases the lock when the holder exits in any way, killed included, so there is no
stale lock to remove; the file itself stays. The descriptor is not inherited by the children
(Python opens files close-on-exec), so the lock is `up`'s own.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "up.lock"


class DataFolderBusy(Exception):
    """Another process holds the data folder's lock."""

    def __init__(self, data: Path, holder: int | None) -> None:
        who = f"by process {holder}" if holder is not None else "by another process"
        super().__init__(
            f"the data folder {data} is in use {who} (another `transbordo up`);"
            " stop it first, or give this one another --data-dir"
        )
        self.holder = holder


def lock_data_folder(data: Path) -> IO[str]:
    """Take the lock of `data` (an existing folder) and write this process's id into it; keep
    the returned file open for as long as the lock is to be held. DataFolderBusy when it is
    held elsewhere."""
    lock = (data / LOCK_FILE).open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        text = lock.read().strip()
        lock.close()
        raise DataFolderBusy(data, int(text) if text.isdigit() else None) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def hold_data_folder(data: Path) -> IO[str]:
    """`lock_data_folder` for `transbordo up`: a busy folder stops it (exit code 1) with the
    reason on stderr, in the words of `up`'s other refusals."""
    try:
        return lock_data_folder(data)
    except DataFolderBusy as exc:
        raise SystemExit(f"transbordo up: {exc}") from None
