"""The harness's JSON Schemas: the protocol and the result record, loaded once."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_DIR = Path(__file__).parent / "schema"


@cache
def schema(name: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text())
    return out


@cache
def protocol_validator() -> jsonschema.Draft202012Validator:
    """Validates one observation line."""
    full = schema("protocol.schema.json")
    return jsonschema.Draft202012Validator({**full, "oneOf": [{"$ref": "#/$defs/observation"}]})


@cache
def result_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema("result.schema.json"))
