"""Each test is a deployment of its own on the shared Temporal server: its own key ring (as its
own data folder would have its own keys.json), so ids built from keyed hashes never meet an
earlier test's workflows. With one ring per process a WhatsApp media fetch
(`media:att_<hash of the platform's message id>`, REJECT_DUPLICATE) was refused by the closed
fetch of an earlier test that sent the same `wamid` (tests/conftest.py `fresh_key_ring`)."""

from __future__ import annotations

import pytest

from encryption.codec import keyed_hash
from transbordo.stack import stack_ring

_earlier: list[str] = []
"""The hash each earlier case of this process gave the same platform message id."""


@pytest.mark.parametrize("case", ["first", "second"])
def test_the_same_platform_id_hashes_apart_in_each_test(case: str) -> None:
    ring = stack_ring()
    assert stack_ring() is ring  # one ring within a test: its API, worker and helpers agree
    hashed = keyed_hash(ring, "wamid.in3")
    assert hashed not in _earlier, case
    _earlier.append(hashed)
