"""A step's arguments, rejected by the model exactly where the Go driver rejects them.

A case whose arguments do not decode is wrong on every implementation, so the driver reports the
step ``unsupported`` with a reason starting ``bad arguments: `` and the judge makes that ``error``
(PROTOCOL.md, "Observations"). The model must do the same, or a wrong case passes on the oracle and
errors on Go. So its rules are not written down here but read from the driver:

- a call's arguments: the driver's generated dispatch (harness/driver/zz_dispatch_*.go, written by
  harness/gen_dispatch.py from the spec's signatures) says, per call, how many arguments it takes
  and which argList getter reads each (``a.int(0)``); :func:`call_problem` applies the getter's
  rules (harness/driver/args_list.go, ``toInt64`` and friends in args.go). Calls dispatched by hand
  decode in their own way, and their step functions check what they read.
- an op's ``with`` object: the op catalogue's schemas (rthooks.opcatalogue.check_with), which the
  tests hold the driver's decoding to.

Values resolved at run time (``"$name"`` references, ``{"handle": ...}``, ``{"float": "NaN"}``) are
not judged here: the driver converts what they resolve to.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from rthooks import opcatalogue
from rthooks.oracle.driversrc import driver_dir
from rthooks.protocol.statuses import BAD_ARGUMENTS

_ENTRY = re.compile(r'^\t\t"(?P<id>[^"]+)": \{(?:errLast: true, )?fn: func\(a \*argList\)')
_EXPECT = re.compile(r"\ba\.expect\((\d+)\)")
_GETTER = re.compile(r"\ba\.(\w+)\((\d+)\)")
_INT_RANGE = {"int": 63, "int64": 63, "int32": 31}


@cache
def generated_calls() -> dict[str, tuple[int, tuple[str, ...]]]:
    """Call id -> (argument count, getter per argument) for every call the driver dispatches by generated code."""
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    for path in sorted(driver_dir().glob("zz_dispatch_*.go")):
        current: str | None = None
        count = 0
        for line in path.read_text().splitlines():
            m = _ENTRY.match(line)
            if m:
                current, count = m.group("id"), 0
                continue
            if current is None:
                continue
            if e := _EXPECT.search(line):
                count = int(e.group(1))
                continue
            getters = _GETTER.findall(line)
            if getters or line.strip().startswith("return"):
                by_index = {int(i): g for g, i in getters if g != "expect"}
                out[current] = (count, tuple(by_index.get(i, "any") for i in range(count)))
                current = None
    return out


def _whole(v: float) -> bool:
    return math.isfinite(v) and v == math.trunc(v) and abs(v) < 2**63


def _getter_problem(getter: str, v: Any) -> str | None:
    """Why the driver's ``a.<getter>`` refuses the JSON value ``v``, or None if it decodes."""
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    if getter in _INT_RANGE:
        if not number or (isinstance(v, float) and not _whole(v)):
            return "must be an integer"
        bits = _INT_RANGE[getter]
        return None if -(2**bits) <= int(v) < 2**bits else f"overflows {getter}"
    if getter in ("uint64", "uintptr"):
        # A JSON number reaches toUint64 as json.Number, read with strconv.ParseUint: digits only.
        ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64
        return None if ok else "must be a non-negative integer"
    if getter == "float64":
        return None if number else "must be a number"
    if getter == "bool":
        return None if isinstance(v, bool) else "must be a boolean"
    if getter == "string":
        return None if isinstance(v, str) else "must be a string"
    return None


def call_problem(call: str, args: list[Any]) -> str | None:
    """The driver's ``bad arguments`` reason for a generated call's arguments, or None if they decode."""
    entry = generated_calls().get(call)
    if entry is None:
        return None
    count, getters = entry
    if len(args) != count:
        return f"{BAD_ARGUMENTS} {call} takes {count} arguments, got {len(args)}"
    for i, (getter, v) in enumerate(zip(getters, args, strict=True)):
        if opcatalogue.is_special(v):
            continue
        why = _getter_problem(getter, v)
        if why is not None:
            return f"{BAD_ARGUMENTS} {call}: argument {i} {why}, got {v!r}"
    return None


def with_problem(op_name: str, with_: Any) -> str | None:
    """The ``bad arguments`` reason for an op's ``with`` object, or None if it decodes.

    Keys the op does not take are not judged: the driver ignores them (``rthooks validate``
    refuses them, RTH071); missing and wrongly typed values are, as the driver's withArgs does.
    """
    op = opcatalogue.load().op(op_name)
    if op is None:
        return None
    for where, message in opcatalogue.with_problems(op, with_):
        if where and where[0] not in op.properties:
            continue
        return f"{BAD_ARGUMENTS} {message}"
    return None
