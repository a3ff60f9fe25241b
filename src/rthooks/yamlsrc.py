"""YAML loading that remembers where every mapping and list came from.

Validation errors must name file:line (test262's linter and Bowtie both do),
so mappings load as :class:`Node` (a ``dict`` with ``line`` and per-key lines)
and sequences as :class:`Seq`. Duplicate keys, which PyYAML silently merges,
are an error here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from rthooks.errors import RthooksError


class Node(dict[str, Any]):
    """A YAML mapping with its source position."""

    file: str = "?"
    line: int = 0
    key_lines: dict[str, int]


class Seq(list[Any]):
    """A YAML sequence with its source position."""

    file: str = "?"
    line: int = 0
    item_lines: list[int]


# Keys whose values are Go versions: kept as strings even when written unquoted.
VERSION_KEYS = frozenset(
    {"since", "removed", "deprecated", "go", "goline", "until", "listed_since", "release", "go_bin"}
)


class _Loader(yaml.SafeLoader):
    source_name = "?"


# YAML 1.2 booleans only: in YAML 1.1 `off`, `on`, `yes` and `no` are booleans, which would turn
# `GOGC: off` or `bind: on` into True/False behind a contributor's back.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Node:
    out = Node()
    out.file = loader.source_name
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in VERSION_KEYS and isinstance(value_node, yaml.ScalarNode):
            # `since: 1.20` must mean Go 1.20, not the float 1.2.
            value_node = yaml.ScalarNode("tag:yaml.org,2002:str", value_node.value, value_node.start_mark)
        if key in out:
            raise RthooksError(f"duplicate key {key!r}", where=f"{loader.source_name}:{key_node.start_mark.line + 1}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> Seq:
    out = Seq(loader.construct_object(child, deep=True) for child in node.value)
    out.file = loader.source_name
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load(path: Path, display: str | None = None) -> Any:
    """Load one YAML file; any syntax error becomes a one-line RthooksError with file:line."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RthooksError(f"cannot read: {e.strerror}", where=name) from None
    return loads(text, name)


def loads(text: str, name: str = "<string>") -> Any:
    """Load YAML text; see :func:`load`."""
    loader = _Loader(text)
    loader.source_name = name
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 0
        problem = (e.problem or e.context or "malformed YAML").strip()
        raise RthooksError(f"malformed YAML: {problem}", where=f"{name}:{line}") from None
    except yaml.YAMLError as e:
        raise RthooksError(f"malformed YAML: {e}", where=name) from None
    finally:
        loader.dispose()


def line_of(data: Any, path: list[str | int]) -> int:
    """The line of the deepest node on ``path`` that has a known position."""
    line = getattr(data, "line", 0)
    cur = data
    for step in path:
        if isinstance(cur, Node) and isinstance(step, str) and step in cur:
            line = cur.key_lines.get(step, line)
            cur = cur[step]
        elif isinstance(cur, Seq) and isinstance(step, int) and step < len(cur):
            line = cur.item_lines[step]
            cur = cur[step]
        else:
            break
        line = getattr(cur, "line", line) if isinstance(cur, (Node, Seq)) else line
    return line
