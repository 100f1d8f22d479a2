"""Connecting to Temporal: one client factory (encrypting payloads) and the search attributes."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from encryption.codec import KeyRing, encrypted_converter
from transbordo.keyring import key_ring
from transbordo.settings import Settings
from transbordo.tracing import client_interceptors
from workflows.search_attributes import SEARCH_ATTRIBUTES

log = logging.getLogger(__name__)


class TemporalNotReady(Exception):
    """Temporal cannot serve this process: the message is one line an operator acts on (the
    worker's start says it and exits; the API's fails)."""


async def connect(
    settings: Settings,
    ring: KeyRing | None = None,
    *,
    runtime: Runtime | None = None,
    check: bool = True,
) -> Client:
    """A client with the pydantic converter, so models cross the workflow boundary as models,
    and the key ring's codec, so payloads reach Temporal encrypted (encryption/codec.py); with
    the tracing interceptor when tracing is on (transbordo/tracing.py). `runtime`: the worker's
    SDK metrics (transbordo/telemetry.py). With `check`, the namespace must have the search
    attributes (`check_search_attributes`). TemporalNotReady when it cannot connect (with a
    hint) or they are missing."""
    try:
        options = connect_options(settings)
    except OSError as exc:  # a certificate file named by TEMPORAL_TLS_* that cannot be read
        raise TemporalNotReady(f"cannot read a Temporal TLS file: {exc}") from exc
    try:
        client = await Client.connect(
            **options,
            data_converter=encrypted_converter(ring or key_ring(settings)),
            interceptors=client_interceptors(settings),
            runtime=runtime,
        )
    except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
        raise TemporalNotReady(connect_failure(options, exc)) from exc
    if check:
        await check_search_attributes(client)
    return client


def connect_failure(options: dict[str, Any], exc: BaseException) -> str:
    """One line on a failed connection: where, the SDK's words, and a hint when TLS met a
    plaintext server (rustls then reads the server's HTTP/2 bytes as a TLS record:
    `InvalidMessage(InvalidContentType)`)."""
    said = f"cannot connect to Temporal at {options.get('target_host')}: {exc}"
    tls = options.get("tls")
    if tls and ("InvalidContentType" in str(exc) or "InvalidMessage" in str(exc)):
        why = "TEMPORAL_API_KEY turns TLS on" if options.get("api_key") else "TLS is on"
        said += (
            f" ({why}, and the server does not speak TLS: unset TEMPORAL_TLS"
            " / TEMPORAL_API_KEY for a plaintext server, or check the address)"
        )
    return said


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


LIST_REFUSED = (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED)
"""A namespace's credentials may not list search attributes (an operator call): the check
then asks visibility itself (`_unknown_by_query`)."""


async def check_search_attributes(client: Client) -> None:
    """TemporalNotReady naming the fix when the client's namespace lacks one of Transbordo's
    Keyword search attributes (or has it with another type): every conversation's start sets
    them, and each would otherwise fail, request by request. One cheap call at start-up."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    namespace = client.namespace
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as exc:
        if exc.status not in LIST_REFUSED:
            message = f"cannot list the search attributes of {namespace}: {exc}"
            raise TemporalNotReady(message) from exc
        missing, mistyped = await _unknown_by_query(client), []
    else:
        known = listed.custom_attributes
        missing = [key.name for key in SEARCH_ATTRIBUTES if key.name not in known]
        mistyped = [name for name in known if _ours(name) and known[name] != keyword]
    if mistyped:
        raise TemporalNotReady(
            f"Temporal namespace {namespace} has the search attribute(s) {', '.join(mistyped)}"
            " with another type than Keyword: remove and create them as Keyword"
            " (docs/operations.md)"
        )
    if missing:
        names = " ".join(f"--name {name}" for name in missing)
        raise TemporalNotReady(
            f"Temporal namespace {namespace} lacks the search attribute(s) {', '.join(missing)}:"
            f" create them with `temporal operator search-attribute create --namespace"
            f" {namespace} {names} --type Keyword` (Temporal Cloud: `tcld namespace"
            " search-attributes add`; docs/operations.md)"
        )


def _ours(name: str) -> bool:
    return any(key.name == name for key in SEARCH_ATTRIBUTES)


async def _unknown_by_query(client: Client) -> list[str]:
    """The attributes a visibility query may not name (INVALID_ARGUMENT), one query each."""
    unknown = []
    for key in SEARCH_ATTRIBUTES:
        try:
            await client.count_workflows(f"{key.name} = 'transbordo-start-check'")
        except RPCError as exc:
            if exc.status == RPCStatusCode.UNIMPLEMENTED:  # no visibility queries (the SDK's
                log.warning("search attributes not checked: %s", exc)  # time-skipping server)
                return []
            if exc.status != RPCStatusCode.INVALID_ARGUMENT:
                raise TemporalNotReady(f"cannot check the search attributes: {exc}") from exc
            unknown.append(key.name)
    return unknown
