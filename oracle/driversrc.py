"""Where things are in the Go driver's source (harness/driver/*.go), read from that source.

The model prints stacks and call sites as the driver's would look: a frame names a driver function
and the line of the call it is making. Those lines are found in the driver's source when the
oracle loads, never written down here, so an edit to the driver cannot leave the model pointing at
a line that has moved: a position is an anchor (a piece of text found on exactly one line of the
driver, such as ``func opDeepStack(``) and, optionally, further pieces of text each searched for
on the lines after the previous one (the call inside that function). A piece of text that is
missing, or an anchor found on several lines, is an error at load time
(:class:`DriverSourceError`), which tests/test_oracle_registry.py runs.

The driver's source is package data of the harness; it is located with importlib's finder, which
does not import (run) the harness package.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MODULE = "rthooks.dev/driver"  # the driver's module path, as stacks print it


class DriverSourceError(RuntimeError):
    """A position the oracle needs is not (or not unambiguously) in the driver's source."""


@dataclass(frozen=True)
class Pos:
    """A line of a driver source file."""

    file: str  # the file's name in harness/driver, e.g. "runner.go"
    line: int

    def __str__(self) -> str:
        """As a Go traceback prints it: the module path, the file and the line."""
        return f"{MODULE}/{self.file}:{self.line}"


def driver_dir() -> Path:
    """harness/driver, wherever rthooks is installed (a checkout, a wheel, an editable install)."""
    spec = importlib.util.find_spec("rthooks.harness")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        d = Path(loc) / "driver"
        if d.is_dir():
            return d
    raise DriverSourceError("the Go driver's source (harness/driver) is not installed")


@cache
def sources() -> dict[str, tuple[str, ...]]:
    """Every driver source file's lines, by file name."""
    return {p.name: tuple(p.read_text().splitlines()) for p in sorted(driver_dir().glob("*.go"))}


@cache
def at(anchor: str, *then: str, file: str | None = None) -> Pos:
    """The line of the last of ``then``, each searched from the line after the previous match,
    starting at the one line of the driver (or of ``file``) that contains ``anchor``; with no
    ``then``, the anchor's own line. Every piece is literal text, not a pattern."""
    srcs = sources()
    if file is not None and file not in srcs:
        raise DriverSourceError(f"no driver source file {file}")
    hits = [
        (name, i)
        for name, lines in srcs.items()
        if file is None or name == file
        for i, text in enumerate(lines)
        if anchor in text
    ]
    if len(hits) != 1:
        where = ", ".join(f"{n}:{i + 1}" for n, i in hits) or "nowhere"
        raise DriverSourceError(f"the driver's source has {anchor!r} {len(hits)} times ({where}), not once")
    name, i = hits[0]
    lines = srcs[name]
    for piece in then:
        j = next((k for k in range(i + 1, len(lines)) if piece in lines[k]), None)
        if j is None:
            raise DriverSourceError(f"{name}: no {piece!r} after line {i + 1} ({anchor!r})")
        i = j
    return Pos(name, i + 1)


def func(symbol: str, *then: str) -> Pos:
    """The declaration of the driver function with Go symbol ``symbol`` (``main.opDeepStack``, or
    ``main.(*runner).performCall`` for a method of a pointer receiver), or with ``then`` the line
    inside it that :func:`at` finds from there (the call the function's frame is making)."""
    pkg, _, rest = symbol.partition(".")
    if pkg != "main" or not rest:
        raise DriverSourceError(f"not a driver function: {symbol!r}")
    if rest.startswith("(*"):
        recv, _, name = rest[2:].partition(").")
        return at(f" *{recv}) {name}(", *then)
    if rest == "main":  # other files hold the main of the c-archive variant and of generated programs
        return at("func main() {", *then, file="main.go")
    return at(f"func {rest}(", *then)


def placeholder(file: str) -> Pos:
    """Line 1 of a driver file: what the model prints for a frame whose line it does not model
    (oracle/traceback.py's and oracle/profiles.py's frames are shapes, not places)."""
    if file not in sources():
        raise DriverSourceError(f"no driver source file {file}")
    return Pos(file, 1)
