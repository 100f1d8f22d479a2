"""The pydantic payload converter, with one cache of type adapters per process.

The SDK builds a new payload converter for every workflow instance and for every activation
(serialization contexts: `DataConverter.with_context` and the worker's command-aware converter
call the converter class again), and `temporalio.contrib.pydantic` keeps its `TypeAdapter` cache
in the converter instance. So every conversation replayed into the worker's cache rebuilt
`TypeAdapter(ConversationInput)` (~0.7 ms: the flow's whole schema) and kept its own validators
and serializers alive (~3 adapters per cached conversation, ~1,200 in a worker caching 400).
A type hint is a class or a typing construct, the same for the life of the process, and a
`TypeAdapter` is safe to share between threads: one cache for all converters is enough.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import SchemaSerializer, core_schema
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
)

MAX_TYPE_ADAPTERS = 1024
"""Far more than the types crossing our workflows' boundaries (workflows/contracts.py & co)."""


@functools.lru_cache(maxsize=MAX_TYPE_ADAPTERS)
def shared_type_adapter(type_hint: Any) -> TypeAdapter[Any]:
    """The process's adapter for a (hashable) type hint."""
    return TypeAdapter(type_hint)


class SharedPydanticJSONConverter(PydanticJSONPlainPayloadConverter):
    """`json/plain` through pydantic, looking adapters up in the process-wide cache.

    Stateless, so one instance serves every converter of the process. The base class's
    constructor is not called: it compiles a serializer (used only with `to_json_options`,
    which are not set here) and wraps an adapter cache that this class replaces."""

    def __init__(self) -> None:
        self._to_json_options = None
        self._schema_serializer = _ANY_SERIALIZER
        self._type_adapter = shared_type_adapter

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (type(self), ())  # a copy shares the process's adapters too


_ANY_SERIALIZER = SchemaSerializer(core_schema.any_schema())

_BY_ENCODING: Mapping[bytes, EncodingPayloadConverter] = MappingProxyType(
    {
        c.encoding.encode(): SharedPydanticJSONConverter()
        if isinstance(c, JSONPlainPayloadConverter)
        else c
        for c in DefaultPayloadConverter.default_encoding_payload_converters
    }
)
"""The SDK's default encodings (as at import), with the one shared pydantic JSON converter."""


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """The SDK's default encodings with pydantic's JSON in place of the standard library's,
    as `temporalio.contrib.pydantic.PydanticPayloadConverter`, sharing its adapters.

    The SDK builds one of these per workflow activation (`_CommandAwareDataConverter.create`)
    and per serialization context: building the encodings each time took ~23 µs on the bench
    machine (the SDK's whole data converter now ~7; bench/README.md, eighth pass); built once
    and shared read-only, they cost ~0.3 µs."""

    def __init__(self) -> None:
        self.converters = _BY_ENCODING  # all that CompositePayloadConverter.__init__ sets

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (type(self), ())  # the shared mapping is not picklable; a new one shares it
