"""The op catalogue: the protocol's op vocabulary as checked data (harness/ops.yaml).

Each op carries its named arguments (`with`) and its result as JSON Schema, the releases it
exists for, the capabilities and build tags it needs and the implementation kinds that provide
it. The linter checks cases against it, the tests hold the Go driver and the oracle to it, and
PROTOCOL.md's op table is generated from it (tools/gen_protocol_ops.py).

This module is core: it imports only the standard library, jsonschema and core modules, and
reads the catalogue by path, because the harness package (where the file lives) sits above core.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from rthooks import yamlsrc
from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.locations import data_dir
from rthooks.protocol import schemas
from rthooks.protocol.refs import is_reference
from rthooks.yamlsrc import line_of

IMPL_KINDS = ("driver", "oracle")


def harness_dir() -> Path:
    """The folder holding ops.yaml and schema/ops.schema.json (installed or source layout)."""
    return data_dir("harness", "ops.yaml")


# One-key objects that an implementation resolves to a value of another type (PROTOCOL.md, "Values").
_SPECIAL = frozenset({"handle", "float", "global", "stringer"})


def is_special(value: object) -> bool:
    """A value an implementation resolves at run time: a reference or a `{handle|float|...}` object."""
    return is_reference(value) or (isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _SPECIAL)


@dataclass(frozen=True)
class Op:
    """One op of the catalogue."""

    name: str
    description: str
    impls: tuple[str, ...]
    properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    result: Mapping[str, Any] | None = None
    since: GoVersion | None = None
    until: GoVersion | None = None
    capabilities: tuple[str, ...] = ()
    build_tags: tuple[str, ...] = ()
    line: int = 0

    @property
    def with_schema(self) -> dict[str, Any]:
        """The JSON Schema a step's `with` object must satisfy."""
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": dict(self.properties),
            "required": list(self.required),
        }

    def exists_in(self, release: GoVersion) -> bool:
        """Whether the op exists for this release (its `releases` range)."""
        return (self.since is None or release >= self.since) and (self.until is None or release < self.until)

    def key_type(self, key: str) -> str | list[str] | None:
        """The JSON type(s) of a named argument, where the catalogue states one."""
        prop = self.properties.get(key) or {}
        t = prop.get("type")
        if t is None and "enum" in prop:
            kinds = sorted({_json_type(v) for v in prop["enum"]})
            return kinds[0] if len(kinds) == 1 else kinds
        return t if isinstance(t, (str, list)) else None


def _json_type(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


@dataclass(frozen=True)
class Catalogue:
    """Every op by name, in catalogue order."""

    ops: Mapping[str, Op]
    path: Path

    def op(self, name: str) -> Op | None:
        """The op of that name, or None."""
        return self.ops.get(name)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops.values())

    def __len__(self) -> int:
        return len(self.ops)

    def names(self, impl: str | None = None) -> set[str]:
        """Every op name, or those that an implementation kind (`driver`, `oracle`) provides."""
        return {o.name for o in self if impl is None or impl in o.impls}

    def suggest(self, name: str) -> str | None:
        """The closest op name, for a "did you mean" hint."""
        return suggest(name, list(self.ops))


def suggest(name: str, candidates: list[str] | set[str] | None = None) -> str | None:
    """The closest candidate (default: the shipped catalogue's op names) to a misspelt name, or None."""
    pool = sorted(candidates) if candidates is not None else sorted(load().ops)
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return close[0] if close else None


def _validator() -> jsonschema.protocols.Validator:
    schema = schemas.load(schemas.harness_schema("ops.schema.json"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(data: Any, display: str) -> list[str]:
    """Schema and consistency problems of a loaded catalogue, one line each (file:line: message)."""
    problems: list[str] = []
    for err in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        line = line_of(data, list(err.absolute_path))
        path = "/".join(map(str, err.absolute_path)) or "(top)"
        problems.append(f"{display}:{line}: {path}: {err.message}")
    if problems:
        return problems
    names = [str(o["name"]) for o in data["ops"]]
    for n, o in enumerate(data["ops"]):
        where = f"{display}:{line_of(data, ['ops', n])}"
        if n and names[n] <= names[n - 1]:
            problems.append(f"{where}: op {names[n]!r} is not in sorted order (after {names[n - 1]!r})")
        w = o.get("with") or {}
        for key in w.get("required") or []:
            if key not in w.get("properties", {}):
                problems.append(f"{where}: op {names[n]!r} requires {key!r}, which it does not declare")
        for key, prop in (w.get("properties") or {}).items():
            if "default" in prop:
                errs = list(jsonschema.Draft202012Validator(dict(prop)).iter_errors(prop["default"]))
                if errs:
                    problems.append(f"{where}: op {names[n]!r}: the default of {key!r} fails its schema")
        for name in ("result",):
            if name in o:
                try:
                    jsonschema.Draft202012Validator.check_schema(dict(o[name]))
                except jsonschema.SchemaError as e:
                    problems.append(f"{where}: op {names[n]!r}: {name} is not a JSON Schema: {e.message}")
    return problems


def _version(text: object) -> GoVersion | None:
    return GoVersion.parse(str(text)) if text is not None else None


@cache
def load(path: Path | None = None) -> Catalogue:
    """Load and validate the catalogue (default: the shipped harness/ops.yaml); cached per path.

    A catalogue that fails its schema is an RthooksError naming each problem's file:line, never
    a traceback: every check that reads the catalogue would otherwise fail in a confusing way.
    """
    path = path or harness_dir() / "ops.yaml"
    display = str(path)
    # The project's libyaml loader: size, depth and alias limits, a content-keyed cache, line numbers.
    data = yamlsrc.load(path, display)
    problems = validate(data, display)
    if problems:
        shown = "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
        raise RthooksError(f"invalid op catalogue: {shown}")
    ops: dict[str, Op] = {}
    for n, o in enumerate(data["ops"]):
        w = o.get("with") or {}
        rel = o.get("releases") or {}
        ops[str(o["name"])] = Op(
            name=str(o["name"]),
            description=str(o["description"]),
            impls=tuple(o["impls"]),
            properties={str(k): dict(v) for k, v in (w.get("properties") or {}).items()},
            required=tuple(w.get("required") or ()),
            result=dict(o["result"]) if "result" in o else None,
            since=_version(rel.get("since")),
            until=_version(rel.get("until")),
            capabilities=tuple(o.get("capabilities") or ()),
            build_tags=tuple(o.get("build_tags") or ()),
            line=line_of(data, ["ops", n]),
        )
    return Catalogue(ops=ops, path=path)


def check_with(op: Op, with_obj: object) -> list[str]:
    """Problems of a step's `with` object against the op, one message each (see with_problems)."""
    return [message for _, message in with_problems(op, with_obj)]


def with_problems(op: Op, with_obj: object) -> list[tuple[list[str | int], str]]:
    """Problems of a step's `with` object against the op: (path inside `with`, message) pairs.

    Unknown keys come with a "did you mean" hint; values that are references (`"$name"`) or
    `{handle|float|...}` objects are resolved only at run time, so their type is not judged here.
    """
    if with_obj is None:
        with_obj = {}
    if not isinstance(with_obj, Mapping):
        return [([], f"op {op.name}: `with` must be a mapping")]
    out: list[tuple[list[str | int], str]] = []
    for key in with_obj:
        if key not in op.properties:
            hint = suggest(str(key), list(op.properties))
            known = ", ".join(sorted(op.properties)) or "none"
            more = f"; did you mean {hint!r}?" if hint else f" (it takes: {known})"
            out.append(([str(key)], f"op {op.name} takes no `with` key {key!r}{more}"))
    for key in op.required:
        if key not in with_obj or with_obj[key] is None:
            out.append(([], f"op {op.name} needs `with.{key}`"))
    for key, prop in op.properties.items():
        if with_obj.get(key) is None:  # absent or null: the implementation uses the default
            continue
        for err in jsonschema.Draft202012Validator(dict(prop)).iter_errors(with_obj[key]):
            if is_special(err.instance):
                continue
            where: list[str | int] = [key, *err.absolute_path]
            shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)
            out.append((where, f"op {op.name}: with{shown}: {_short(err)}"))
    return out


def _short(err: jsonschema.ValidationError) -> str:
    """A jsonschema message without the repetition of huge instances."""
    if err.validator == "type":
        return f"{json.dumps(err.instance)[:60]} is not of type {_types(err.validator_value)}"
    if err.validator == "enum":
        allowed: list[Any] = list(err.validator_value)  # type: ignore[arg-type]
        return f"{json.dumps(err.instance)[:60]} is not one of {', '.join(map(json.dumps, allowed))}"
    return err.message[:200]


def _types(t: object) -> str:
    return " or ".join(map(str, t)) if isinstance(t, list) else str(t)
