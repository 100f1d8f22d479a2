"""Connecting to Temporal: one client factory (encrypting payloads) and the search attributes."""

from __future__ import annotations

from temporalio.client import Client
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
        settings.effective_temporal_address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key,
        tls=bool(settings.temporal_api_key),
        data_converter=encrypted_converter(ring or key_ring(settings)),
        interceptors=client_interceptors(settings),
        runtime=runtime,
    )


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
