"""`connect_options` on the environments a deployment ships (deploy/kubernetes.yaml): the real
function over the Temporal SDK's own environment loader, no server needed."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from temporalio.service import TLSConfig

from transbordo.settings import Settings
from transbordo.temporal import connect_options

IN_CLUSTER = "temporal-frontend.temporal.svc:7233"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No TEMPORAL_* or TRANSBORDO_* variable of the machine running the tests leaks in."""
    for name in list(os.environ):
        if name.upper().startswith(("TEMPORAL_", "TRANSBORDO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_ADDRESS", IN_CLUSTER)
    yield monkeypatch


def test_an_empty_api_key_is_no_key_and_turns_no_tls_on(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TEMPORAL_API_KEY", "")
    options = connect_options(Settings())
    assert options["target_host"] == IN_CLUSTER
    assert "api_key" not in options
    assert "tls" not in options  # plaintext, as the in-cluster frontend speaks


def test_a_blank_api_key_is_no_key_either(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TEMPORAL_API_KEY", "  ")
    options = connect_options(Settings())
    assert "api_key" not in options
    assert "tls" not in options


def test_an_empty_api_key_keeps_tls_asked_for_explicitly(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TEMPORAL_API_KEY", "")
    environment.setenv("TEMPORAL_TLS", "true")
    options = connect_options(Settings())
    assert "api_key" not in options
    assert isinstance(options["tls"], TLSConfig)


def test_an_empty_api_key_keeps_tls_of_a_certificate_variable(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("TEMPORAL_API_KEY", "")
    environment.setenv("TEMPORAL_TLS_SERVER_NAME", "temporal.example.internal")
    options = connect_options(Settings())
    assert "api_key" not in options
    assert isinstance(options["tls"], TLSConfig)
    assert options["tls"].domain == "temporal.example.internal"


def test_an_api_key_is_sent_over_tls(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TEMPORAL_API_KEY", "a-real-key")
    options = connect_options(Settings())
    assert options["api_key"] == "a-real-key"
    assert options["tls"] is True


def test_tls_switched_off_explicitly_stays_off(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TEMPORAL_API_KEY", "")
    environment.setenv("TEMPORAL_TLS", "false")
    options = connect_options(Settings())
    assert "api_key" not in options
    assert options["tls"] is False


def test_no_api_key_no_tls(environment: pytest.MonkeyPatch) -> None:
    options = connect_options(Settings())
    assert "api_key" not in options
    assert "tls" not in options
