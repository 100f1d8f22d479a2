"""Lone UTF-16 surrogates: characters Python decodes from JSON (`"\\ud800"`, or from bytes with
`surrogatepass`) that no UTF-8 can hold, so no response, log, SQL row or Temporal payload can
carry them. The API's one pattern for them (bots/yaml_nodes.py has the flow loader's own: the
domain does not import the API)."""

from __future__ import annotations

import json
import re
from typing import Any

SURROGATE = re.compile("[\ud800-\udfff]")
"""In a decoded string every surrogate is a lone one: a pair of escapes decodes to one character."""


def mended(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, as a decoder told to replace would."""
    return SURROGATE.sub("\ufffd", text)


def has_lone_surrogate(value: Any) -> bool:
    """Whether any key or string in the JSON `value` holds a lone surrogate, at C speed (the
    encoder writes one as it is; may raise RecursionError as `json.loads` does)."""
    return SURROGATE.search(json.dumps(value, ensure_ascii=False)) is not None


def writable(value: Any) -> Any:
    """The JSON `value` with each lone surrogate in its keys and strings as U+FFFD (a channel's
    webhook, once its signature passed: a platform's batch is taken, never refused for one
    customer's text). At C speed: the encoder writes a lone surrogate as it is."""
    text = json.dumps(value, ensure_ascii=False)
    return json.loads(mended(text)) if SURROGATE.search(text) else value
