"""The one loader of rthooks's JSON Schemas (draft 2020-12), each read and compiled once.

The contracts' schemas live beside the data they describe: ``spec/schema/`` (spec, seed, case and
releases files) and ``harness/schema/`` (the protocol's observations, the run record, the op
catalogue). Every layer reads them through here, so a schema is parsed once per process and a
validator built once per schema, whoever asks first. This module is core: it finds the folders
by path (installed, they sit beside the ``rthooks`` package's modules; in a checkout, two levels
up), because the packages holding them sit above core.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from rthooks.locations import data_dir


def harness_schema(name: str) -> Path:
    """A schema of harness/schema/ (protocol.schema.json, result.schema.json, ops.schema.json)."""
    return data_dir("harness", "schema") / "schema" / name


def spec_schema(name: str) -> Path:
    """A schema of spec/schema/ (spec.schema.json, seed.schema.json, case.schema.json, releases.schema.json)."""
    return data_dir("spec", "schema") / "schema" / name


@cache
def load(path: Path) -> dict[str, Any]:
    """The schema at ``path``, parsed once."""
    out: dict[str, Any] = json.loads(path.read_text())
    return out


@cache
def validator(path: Path) -> jsonschema.Draft202012Validator:
    """A validator for the schema at ``path``, built once (validators keep no state between documents)."""
    return jsonschema.Draft202012Validator(load(path))


@cache
def protocol_validator() -> jsonschema.Draft202012Validator:
    """Validates one observation line (harness/schema/protocol.schema.json, ``$defs/observation``)."""
    full = load(harness_schema("protocol.schema.json"))
    return jsonschema.Draft202012Validator({**full, "oneOf": [{"$ref": "#/$defs/observation"}]})


def result_validator() -> jsonschema.Draft202012Validator:
    """Validates a run record (harness/schema/result.schema.json)."""
    return validator(harness_schema("result.schema.json"))
