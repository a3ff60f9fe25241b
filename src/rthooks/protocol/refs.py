"""The ``$name.path`` reference syntax (PROTOCOL.md, "Values"): one parser for every layer.

A reference names a value an earlier step bound (``bind: name``) and optionally a part of it::

    $name            the bound value
    $name.Field      a field of an object, a key of a mapping ("$m./gc/gogc:percent" too)
    $name[2]         an element of a list
    $name[/gc/x:y]   a key of a mapping, written in brackets (any text but "]")
    $$text           not a reference: the literal string "$text"

Segments chain (``$c[1][0].PC``). The Go driver reads the same grammar (harness/driver/args.go,
``lookupRef`` and ``splitPath``); the linter, the matchers, the program compiler, the oracle and
the reports all parse through :func:`parse_ref`, so they cannot disagree on what a reference says.
Each layer still decides what a segment selects in its own values (a list's element, an object's
field), because those values differ: Go values in the driver, JSON in the matchers, the model's
Python objects in the oracle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_NAME = r"[a-z_][a-z0-9_]*"
_SEGMENT = r"\.([^.\[\]]+)|\[([^\]]+)\]"
#: A bound name: what a step's ``bind`` may be (spec/schema/case.schema.json).
NAME = re.compile(_NAME)
_PATH_SEGMENT = re.compile(_SEGMENT)
#: What an expectation may observe besides a reference (``of: stdout``).
SPECIAL = ("stdout", "stderr", "exit", "signal", "build")


def schema_pattern() -> str:
    """The case schema's ``$defs/ref`` pattern, built from the grammar above: the schema must say
    exactly this (tests/test_protocol_module.py), so the two cannot drift apart."""
    segment = _SEGMENT.replace("(", "(?:")
    return f"^({'|'.join(SPECIAL)})$|^\\${_NAME}({segment})*$"


@dataclass(frozen=True)
class Segment:
    """One step into a value: ``.text`` (``bracket`` False) or ``[text]`` (``bracket`` True)."""

    text: str
    bracket: bool

    @property
    def index(self) -> int | None:
        """The list index a ``[N]`` segment names (ASCII digits only); None for any other segment."""
        if self.bracket and self.text.isascii() and self.text.isdigit():
            return int(self.text)
        return None

    def __str__(self) -> str:
        return f"[{self.text}]" if self.bracket else f".{self.text}"


@dataclass(frozen=True)
class Ref:
    """A parsed reference: the bound name and the path into its value."""

    name: str
    path: tuple[Segment, ...] = ()

    def __str__(self) -> str:
        return "$" + self.name + "".join(str(s) for s in self.path)

    @property
    def dotted(self) -> str:
        """The path as the driver's ``until.path`` takes it: segments joined by dots (``a.0.b``)."""
        return ".".join(s.text for s in self.path)

    @property
    def single_key(self) -> str | None:
        """The key of a reference that is ``$name[key]`` exactly (a metrics.Value selected by name)."""
        if len(self.path) == 1 and self.path[0].bracket:
            return self.path[0].text
        return None

    @property
    def single_index(self) -> int | None:
        """The index of a reference that is ``$name[N]`` exactly."""
        return self.path[0].index if len(self.path) == 1 else None


def is_reference(value: object) -> bool:
    """A string an implementation resolves as a reference: starts with ``$`` but not ``$$``.

    Well-formed or not: a malformed reference is still meant as one (and fails to resolve),
    never a literal string.
    """
    return isinstance(value, str) and value.startswith("$") and not value.startswith("$$")


def parse_ref(value: object) -> Ref | None:
    """The reference ``value`` spells, or None if it is not a well-formed reference.

    ``"$$x"`` (a literal), a name that is not a bind name, and a path with anything between or
    after its segments (``"$x-y"``, ``"$x[1"``, ``"$x."``) are not references.
    """
    if not is_reference(value):
        return None
    assert isinstance(value, str)
    return _parse(value)


@lru_cache(maxsize=4096)
def _parse(value: str) -> Ref | None:
    """parse_ref for a string starting with one ``$`` (cached: validation asks about the same references often)."""
    m = NAME.match(value, 1)
    if m is None:
        return None
    segments: list[Segment] = []
    pos = m.end()
    while pos < len(value):
        s = _PATH_SEGMENT.match(value, pos)
        if s is None:
            return None
        segments.append(Segment(s.group(1), False) if s.group(1) is not None else Segment(s.group(2), True))
        pos = s.end()
    return Ref(m.group(0), tuple(segments))


def literal(value: str) -> str:
    """The string an implementation receives for ``value``: ``"$$x"`` is ``"$x"``; other strings as they are."""
    return value[1:] if value.startswith("$$") else value
