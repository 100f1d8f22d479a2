"""JSON Schema of a bot file, for editor completion (``python -m bots.schema > flow.schema.json``).

VS Code with the YAML extension: add ``# yaml-language-server: $schema=flow.schema.json`` as the
first line of a bot file, or map ``flows/*.yaml`` to the schema in ``yaml.schemas``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bots.models import BotFlow

SCHEMA_ID = "urn:transbordo:bot-flow:v1"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def flow_json_schema() -> dict[str, Any]:
    """The JSON Schema of a bot file (YAML names: ``if``/``else`` in condition blocks)."""
    schema = BotFlow.model_json_schema(by_alias=True)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        **schema,
        "title": "Transbordo bot flow",
        "description": "A bot file of Transbordo: settings and blocks. Reference: docs/flows.md.",
    }


def main() -> None:
    """Write the schema to standard output."""
    sys.stdout.write(json.dumps(flow_json_schema(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
