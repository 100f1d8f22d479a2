"""One `transbordo up` per data folder: an exclusive lock on a file inside it.

A second `up` on the folder of a running one used to half-start: with the same API port its
port check reached the first one's API and took it for its own, it wrote the same `api_url`,
and a taken Temporal port failed it only after the migrations and the demo. Now `up` takes
`fcntl.flock` on `up.lock` as soon as the folder exists, and writes its process id into it; a
second `up` stops at once.

The lock belongs to the open file, not to a process: `up` passes its descriptor to every child
it starts (the Temporal dev server, the workers, the API processes: `pass_fds`), so the folder
stays busy until the last process of that `up` is gone, and the operating system drops the
lock then, however they ended (`kill -9` included): there is no stale lock to remove; the file
itself stays. So a `kill -9` of `up` alone cannot let a second `up` start a second dev server on
the same `temporal.db` while the first one's children still run. On Linux the children also
end with `up` (`die_with_parent`: each one is sent SIGTERM when `up` dies, and stops as on
Ctrl-C), so the folder frees itself a few seconds later. Until then a new `up` is refused, with
the words saying which case it is: `up`'s process still running, or only processes of an
earlier `up` whose own process is gone (`fuser -v <folder>/up.lock` lists them). A file system
without locks (some NFS mounts: ENOLCK) stops `up` with that reason rather than run unguarded.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

LOCK_FILE = "up.lock"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
"""Loaded here, in the parent, so the child between fork and exec only calls into it."""


class DataFolderBusy(Exception):
    """Another process holds the data folder's lock."""

    def __init__(self, data: Path, holder: int | None) -> None:
        lock = data / LOCK_FILE
        if holder is not None and process_alive(holder):
            why = f"is in use by process {holder} (another `transbordo up`); stop it first"
        elif holder is not None:
            why = (
                f"is still in use by processes of an earlier `transbordo up` (its process"
                f" {holder} is gone; `fuser -v {lock}` lists them); stop them first"
            )
        else:
            why = f"is in use by another process (`fuser -v {lock}` lists it); stop it first"
        super().__init__(f"the data folder {data} {why}, or give this one another --data-dir")
        self.holder = holder


class DataFolderUnlockable(Exception):
    """The lock could not be taken for a reason other than another holder (ENOLCK on some
    NFS mounts, a file that cannot be opened)."""

    def __init__(self, data: Path, error: OSError) -> None:
        super().__init__(
            f"cannot lock the data folder {data} ({data / LOCK_FILE}: {error.strerror or error});"
            " `up` needs a folder on a file system with file locks (flock), not shared with"
            " another machine: give it another --data-dir"
        )


def process_alive(pid: int) -> bool:
    """Whether a process numbered `pid` exists (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_data_folder(data: Path) -> IO[str]:
    """Take the lock of `data` (an existing folder) and write this process's id into it; keep
    the returned file open (here or in children given its descriptor) for as long as the lock
    is to be held. DataFolderBusy when it is held elsewhere, DataFolderUnlockable when it
    cannot be taken at all."""
    try:
        lock = (data / LOCK_FILE).open("a+", encoding="utf-8")
    except OSError as exc:
        raise DataFolderUnlockable(data, exc) from None
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        text = lock.read().strip()
        lock.close()
        raise DataFolderBusy(data, int(text) if text.isdigit() else None) from None
    except OSError as exc:
        lock.close()
        raise DataFolderUnlockable(data, exc) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def hold_data_folder(data: Path) -> IO[str]:
    """`lock_data_folder` for `transbordo up`: a busy or unlockable folder stops it (exit
    code 1) with the reason on stderr, in the words of `up`'s other refusals."""
    try:
        return lock_data_folder(data)
    except (DataFolderBusy, DataFolderUnlockable) as exc:
        raise SystemExit(f"transbordo up: {exc}") from None


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for `up`'s children: on Linux the child gets SIGTERM when `up` dies
    (PR_SET_PDEATHSIG), and ends at once if `up` died already between fork and exec. The
    setting survives the exec (the binary is not set-uid). None elsewhere.

    Linux sends the signal when the *thread* that started the child ends: `up` starts and
    restarts its children from its main thread only, which ends with the process. A
    `preexec_fn` is unsafe when the parent has other threads (one could hold a lock the
    child then waits for); `up` has none (it starts no thread, and its Temporal client, the
    workers' and the API's, all live in the children), and the function only calls into libc
    (loaded beforehand) and `os`."""
    if _LIBC is None:
        return None
    libc, parent = _LIBC, os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
