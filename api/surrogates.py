"""Lone UTF-16 surrogates: characters Python decodes from JSON (`"\\ud800"`, or from bytes with
`surrogatepass`) that no UTF-8 can hold, so no response, log, SQL row or Temporal payload can
carry them. The API's one pattern for them (bots/yaml_nodes.py has the flow loader's own: the
domain does not import the API)."""

from __future__ import annotations

import re

SURROGATE = re.compile("[\ud800-\udfff]")
"""In a decoded string every surrogate is a lone one: a pair of escapes decodes to one character."""


def mended(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, as a decoder told to replace would."""
    return SURROGATE.sub("\ufffd", text)
