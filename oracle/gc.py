"""The collector and memory settings: SetGCPercent, SetMemoryLimit, SetMaxStack, SetMaxThreads, GC,
ReadGCStats, FreeOSMemory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import buildinfo, traceback  # noqa: F401  (registers their steps)
from rthooks.oracle.registry import step
from rthooks.oracle.state import OracleRuntime

EPOCH = "1970-01-01T00:00:00Z"


@dataclass
class GCHistory:
    """Completed cycles: (stop-the-world pause in ns, end time as RFC 3339), oldest first."""

    pauses: list[tuple[int, str]] = field(default_factory=list)


def history(rt: OracleRuntime) -> GCHistory:
    h: GCHistory = rt.area("gc", GCHistory)
    return h


def _rfc3339(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + (f".{frac:09d}".rstrip("0") or "") + "Z"


@step("runtime/debug.SetGCPercent")
def set_gc_percent(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> int:
    prev = rt.gcpercent
    rt.gcpercent = -1 if int(args[0]) < 0 else int(args[0])
    return prev


@step("runtime/debug.SetMemoryLimit")
def set_memory_limit(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> int:
    prev = rt.memlimit
    if int(args[0]) >= 0:
        rt.memlimit = int(args[0])
    return prev


@step("runtime/debug.SetMaxStack")
def set_max_stack(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> int:
    prev, rt.maxstack = rt.maxstack, int(args[0])
    return prev


@step("runtime/debug.SetMaxThreads")
def set_max_threads(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> int:
    prev, rt.maxthreads = rt.maxthreads, int(args[0])
    return prev


def collect(rt: OracleRuntime) -> None:
    """One forced, complete cycle: counted, with a pause and an end time in the history."""
    rt.gc_forced += 1
    h = history(rt)
    # A pause of some tens of microseconds; distinct per cycle so that orderings are observable.
    h.pauses.append((20_000 + 1_000 * len(h.pauses), _rfc3339(time.time_ns())))
    if (rt.env_godebug("gctrace") or "0") not in ("", "0"):
        # The summary line's shape (runtime/extern.go); the model's numbers are placeholders.
        n = rt.gc_forced + rt.gc_automatic
        rt.stderr += (
            f"gc {n} @0.{n:03d}s 0%: 0.010+0.10+0.001 ms clock, 0.020+0/0.050/0+0.002 ms cpu, "
            f"0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, {rt.gomaxprocs} P (forced)\n"
        )


@step("runtime.GC")
@step("op:gc")
def gc(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    collect(rt)


@step("runtime/debug.FreeOSMemory")
def free_os_memory(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    collect(rt)


def _quantiles(pauses: list[int], q: int) -> list[int]:
    """runtime/debug.ReadGCStats: sorted pauses, element i*(n-1)/(q-1); zeros without any pause."""
    if not pauses:
        return [0] * q
    s = sorted(pauses)
    return [s[i * (len(s) - 1) // (q - 1)] if q > 1 else s[0] for i in range(q)]


@step("runtime/debug.ReadGCStats")
def read_gc_stats(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    shape = (args[0] if args else None) or {}
    h = history(rt)
    recent = list(reversed(h.pauses))[:256]
    pauses = [p for p, _ in recent]
    q = int(shape.get("PauseQuantiles", 0) or 0)
    return {
        "LastGC": recent[0][1] if recent else EPOCH,
        "NumGC": rt.gc_forced + rt.gc_automatic,
        "PauseTotal": sum(p for p, _ in h.pauses),
        "Pause": pauses,
        "PauseEnd": [e for _, e in recent],
        "PauseQuantiles": _quantiles(pauses, q) if q > 0 else None,
    }
