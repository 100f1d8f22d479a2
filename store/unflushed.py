"""Whose asynchronous commits are not yet known to be on disk (store/loop_statements.py).

A commit made with `synchronous_commit` off is answered before its WAL is flushed; a crash of
the server before the flush takes it back. A later commit made with `synchronous_commit` on
(a "barrier") returns only once the WAL is flushed up to it, so every commit answered before
the barrier was sent is then safe. Plain Python: the connection code marks, the barrier
confirms, a failure takes what is left.
"""

from __future__ import annotations


class Unflushed:
    """Keys (workflow ids) of commits answered since the last barrier that confirmed them."""

    def __init__(self) -> None:
        self._keys: dict[str, int] = {}
        self._count = 0

    def __bool__(self) -> bool:
        return bool(self._keys)

    def committed(self, key: str) -> None:
        """A commit of `key` was answered (not yet flushed)."""
        self._count += 1
        self._keys[key] = self._count

    def mark(self) -> int:
        """Taken when a barrier is sent: what `flushed` confirms once it returns."""
        return self._count

    def flushed(self, mark: int) -> None:
        """The barrier sent at `mark` returned: the commits answered before it are on disk (a
        key committed again after it stays)."""
        self._keys = {key: n for key, n in self._keys.items() if n > mark}

    def take(self) -> set[str]:
        """Everything not confirmed, forgotten here: the caller has them recorded again."""
        keys, self._keys = set(self._keys), {}
        return keys
