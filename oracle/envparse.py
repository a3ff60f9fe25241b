"""The runtime's parsing of GOGC, GOMEMLIMIT and GOMAXPROCS, as the Go source does it.

References (go1.21-go1.27): runtime/mgcpacer.go readGOGC and readGOMEMLIMIT,
runtime/string.go parseByteCount, runtime/proc.go schedinit.
"""

from __future__ import annotations

import re

MAX_INT64 = (1 << 63) - 1


class FatalStartup(Exception):
    """The runtime refuses to start (it prints the message and exits with status 2)."""


def read_gogc(value: str | None) -> int:
    """GOGC: "off" disables (-1); an integer sets the percent; anything else means 100."""
    if value == "off":
        return -1
    if value is not None and re.fullmatch(r"[+-]?\d+", value):
        n = int(value)
        if -(1 << 63) <= n <= MAX_INT64:
            return n
    return 100


_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}


def parse_byte_count(s: str) -> int | None:
    """runtime.parseByteCount: decimal integer with an optional IEC unit suffix; None if invalid."""
    if not s:
        return None
    unit = next((u for u in _UNITS if u != "B" and s.endswith(u)), "B" if s.endswith("B") else "")
    num = s[: len(s) - len(unit)]
    mult = _UNITS.get(unit, 1)
    if not num or not num.isdigit() or not num.isascii():
        return None
    n = int(num) * mult
    return n if n <= MAX_INT64 else None


def read_gomemlimit(value: str | None) -> int:
    """GOMEMLIMIT: unset or "off" is no limit; an invalid value is a fatal startup error."""
    if value is None or value == "" or value == "off":
        return MAX_INT64
    n = parse_byte_count(value)
    if n is None:
        raise FatalStartup(
            f"GOMEMLIMIT={value}\nfatal error: malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`"
        )
    return n


def read_gomaxprocs(value: str | None, default: int) -> int:
    """GOMAXPROCS: a positive integer overrides the default; anything else is ignored."""
    if value and re.fullmatch(r"\d+", value):
        n = int(value)
        if n > 0:
            return min(n, 1 << 20)
    return default
