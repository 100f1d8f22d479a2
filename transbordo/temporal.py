"""Connecting to Temporal: one client factory (encrypting payloads) and the search attributes."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import Runtime

from encryption.codec import KeyRing, encrypted_converter
from transbordo.keyring import key_ring
from transbordo.settings import Settings
from transbordo.tracing import client_interceptors
from workflows.search_attributes import SEARCH_ATTRIBUTES


async def connect(
    settings: Settings, ring: KeyRing | None = None, *, runtime: Runtime | None = None
) -> Client:
    """A client with the pydantic converter, so models cross the workflow boundary as models,
    and the key ring's codec, so payloads reach Temporal encrypted (encryption/codec.py); with
    the tracing interceptor when tracing is on (transbordo/tracing.py). `runtime`: the worker's
    SDK metrics (transbordo/telemetry.py)."""
    return await Client.connect(
        **connect_options(settings),
        data_converter=encrypted_converter(ring or key_ring(settings)),
        interceptors=client_interceptors(settings),
        runtime=runtime,
    )


def connect_options(settings: Settings) -> dict[str, Any]:
    """Where and how to connect: the settings' address, namespace and API key, over the
    Temporal SDK's own environment configuration for everything else (TLS and mTLS:
    `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`, `TEMPORAL_TLS_CLIENT_KEY_PATH`,
    `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`; `TEMPORAL_GRPC_META_*`
    headers), so any cluster or Temporal Cloud is reached with the variables Temporal documents
    (docs/operations.md). A TOML profile is read only when `TEMPORAL_CONFIG_FILE` names one: a
    developer's default profile must not send `transbordo up` to another cluster.

    An empty (or blank) API key is no key: the SDK's loader would send it and turn TLS on for it,
    so `TEMPORAL_API_KEY: ""` beside a plaintext in-cluster address would fail every handshake.
    TLS asked for on its own (`TEMPORAL_TLS`, a certificate variable, a profile's `[tls]`) stays."""
    profile = ClientConfigProfile.load(disable_file="TEMPORAL_CONFIG_FILE" not in os.environ)
    if profile.api_key is not None and not profile.api_key.strip():
        profile = dataclasses.replace(profile, api_key=None)  # and the TLS it alone implied
    options: dict[str, Any] = dict(profile.to_client_connect_config())
    options["target_host"] = settings.effective_temporal_address
    options["namespace"] = settings.temporal_namespace
    api_key = settings.temporal_api_key
    if api_key and api_key.strip():
        options["api_key"] = api_key
        options.setdefault("tls", True)  # an API key travels over TLS only
    return options


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Register Transbordo's Keyword search attributes (the time-skipping server needs this)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace, search_attributes={key.name: keyword for key in SEARCH_ATTRIBUTES}
        )
    )
