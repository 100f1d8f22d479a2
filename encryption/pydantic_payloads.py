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
from typing import Any

from pydantic import TypeAdapter
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

MAX_TYPE_ADAPTERS = 1024
"""Far more than the types crossing our workflows' boundaries (workflows/contracts.py & co)."""


@functools.lru_cache(maxsize=MAX_TYPE_ADAPTERS)
def shared_type_adapter(type_hint: Any) -> TypeAdapter[Any]:
    """The process's adapter for a (hashable) type hint."""
    return TypeAdapter(type_hint)


class SharedPydanticJSONConverter(PydanticJSONPlainPayloadConverter):
    """`json/plain` through pydantic, looking adapters up in the process-wide cache."""

    def __init__(self) -> None:
        super().__init__(max_cached_type_adapters=0)
        self._type_adapter = shared_type_adapter


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """The SDK's default encodings with pydantic's JSON in place of the standard library's,
    as `temporalio.contrib.pydantic.PydanticPayloadConverter`, sharing its adapters."""

    def __init__(self) -> None:
        json_converter = SharedPydanticJSONConverter()
        super().__init__(
            *(
                json_converter if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )
