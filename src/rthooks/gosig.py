"""Go function signatures as the spec writes them (``func (p *Profile) WriteTo(w io.Writer, debug int) error``).

Two layers read them: the driver's dispatch generator (harness/gen_dispatch.py), which needs the name,
receiver and exact parameter and result types, and the lint rules (spec/lint/contract_rules.py), which
check a case's arguments and matchers against them. One parser here, in the core, so the two cannot
read a signature differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PAIRS = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class FuncSig:
    """A parsed signature: types only, variadic parameters spelled ``...T``."""

    name: str
    receiver: str | None  # the receiver as written, "p *Profile"
    generic: bool
    params: tuple[str, ...]
    results: tuple[str, ...]

    @property
    def receiver_type(self) -> str | None:
        """The receiver's type ("*Profile"), or None for a function."""
        return field_types(self.receiver)[0] if self.receiver else None


def closing(text: str, start: int) -> int:
    """Index of the bracket closing the one at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] in _PAIRS:
            depth += 1
        elif text[i] in _PAIRS.values():
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced brackets in {text!r}")


def split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def field_types(fields: str) -> tuple[str, ...]:
    """The types of a Go parameter or result list ("a, b int, c string" -> int, int, string)."""
    parts = split_top(fields)
    if not parts:
        return ()
    named = any(re.match(r"^[A-Za-z_]\w*\s+\S", p) for p in parts)
    if not named:
        return tuple(parts)
    out: list[str] = []
    pending = 0
    for p in parts:
        m = re.match(r"^([A-Za-z_]\w*)\s+(.+)$", p)
        if m is None:
            pending += 1  # a name whose type follows
            continue
        out.extend([m.group(2).strip()] * (pending + 1))
        pending = 0
    if pending:
        raise ValueError(f"parameter names without a type in ({fields})")
    return tuple(out)


def parse(sig: str) -> FuncSig:
    """Parse a func signature; ValueError naming what is wrong if it is not one."""
    rest = " ".join(sig.split())
    if not rest.startswith("func"):
        raise ValueError(f"not a func signature: {sig!r}")
    rest = rest[4:].strip()
    receiver = None
    if rest.startswith("("):
        end = closing(rest, 0)
        receiver = rest[1:end].strip()
        rest = rest[end + 1 :].strip()
    m = re.match(r"^(\w+)", rest)
    if m is None:
        raise ValueError(f"no function name in {sig!r}")
    name = m.group(1)
    rest = rest[len(name) :]
    generic = rest.startswith("[")
    if generic:
        rest = rest[closing(rest, 0) + 1 :]
    if not rest.startswith("("):
        raise ValueError(f"no parameter list in {sig!r}")
    end = closing(rest, 0)
    params = field_types(rest[1:end])
    res = rest[end + 1 :].strip()
    if res.startswith("("):
        results = field_types(res[1 : closing(res, 0)])
    elif res:
        results = (res,)
    else:
        results = ()
    return FuncSig(name, receiver, generic, params, results)
