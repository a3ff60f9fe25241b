"""The ``until`` clause of a protocol step, judged on an encoded value (PROTOCOL.md, "until").

An implementation repeats a step with ``until`` (running a GC between tries when ``gc`` is true)
until its value, or the part of it at ``path``, satisfies every target given: ``equals``,
``contains``, ``at_least``. The Go driver judges this in ``harness/driver/until.go``; the oracle
judges it here, with the same rules, so a case that polls means the same thing on both.
"""

from __future__ import annotations

import math
from typing import Any

_MISSING = object()


def _number(v: Any) -> float | int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float) and not (isinstance(v, float) and math.isnan(v)):
        return v
    return None


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality, numbers by value (80 equals 80.0; big integers compare exactly)."""
    x, y = _number(a), _number(b)
    if x is not None or y is not None:
        return x is not None and y is not None and x == y
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(json_equal(p, q) for p, q in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def json_contains(v: Any, want: Any) -> bool:
    """A substring of a string; a key (string target) or sub-object of an object; a list element
    equal to the target or, for an object target, containing it."""
    if isinstance(v, str):
        return isinstance(want, str) and want in v
    if isinstance(v, list):
        return any(
            json_equal(e, want) or (isinstance(e, dict) and isinstance(want, dict) and json_contains(e, want))
            for e in v
        )
    if isinstance(v, dict):
        if isinstance(want, str):
            return want in v
        if isinstance(want, dict):
            return all(k in v and json_equal(v[k], w) for k, w in want.items())
    return False


def json_at_least(v: Any, want: Any) -> bool:
    """Numbers compared; a list, string or object by its length."""
    w = _number(want)
    if w is None:
        return False
    n = len(v) if isinstance(v, list | str | dict) else _number(v)
    return n is not None and n >= w


def _segments(path: str) -> list[str]:
    segs: list[str] = []
    while path:
        if path[0] == ".":
            path = path[1:]
        elif path[0] == "[":
            end = path.find("]")
            if end < 0:
                segs.append(path[1:])
                break
            segs.append(path[1:end])
            path = path[end + 1 :]
        else:
            ends = [i for i in (path.find("."), path.find("[")) if i >= 0]
            end = min(ends) if ends else len(path)
            segs.append(path[:end])
            path = path[end:]
    return segs


def lookup_path(v: Any, path: str) -> Any:
    """The part of ``v`` at ``path`` ("" is the whole; a whole top-level key first; else a dotted
    path of keys and list indices), or ``_MISSING``."""
    if not path:
        return v
    if isinstance(v, dict) and path in v:
        return v[path]
    for seg in _segments(path):
        if isinstance(v, dict):
            if seg not in v:
                return _MISSING
            v = v[seg]
        elif isinstance(v, list):
            if not seg.isdigit() or int(seg) >= len(v):
                return _MISSING
            v = v[int(seg)]
        else:
            return _MISSING
    return v


def has_target(until: dict[str, Any]) -> bool:
    """Whether the clause names a target at all (with none, the step runs once)."""
    return any(k in until for k in ("equals", "contains", "at_least"))


def met(value: Any, until: dict[str, Any]) -> bool:
    """Whether an encoded step value satisfies every target of ``until``."""
    part = lookup_path(value, str(until.get("path") or ""))
    if part is _MISSING:
        return False
    tests = (("equals", json_equal), ("contains", json_contains), ("at_least", json_at_least))
    return all(test(part, until[key]) for key, test in tests if key in until)
