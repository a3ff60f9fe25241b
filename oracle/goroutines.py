"""Goroutines: parked helpers, NumGoroutine, Goexit, LockOSThread nesting, Gosched, profiles of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rthooks.oracle.registry import step
from rthooks.oracle.state import Exited, OracleRuntime, Unsupported


@dataclass
class Goroutines:
    parked: int = 0
    locked: int = 0  # the main goroutine's LockOSThread nesting count
    threads: int = 4  # Ms the runtime started (sysmon, GC workers, the main thread)


def gs(rt: OracleRuntime) -> Goroutines:
    g: Goroutines = rt.area("goroutines", Goroutines)
    return g


@step("op:goroutines.start")
def start(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    n = int(w.get("n", 1))
    if n < 0:
        raise Unsupported("bad arguments: op goroutines.start: n must not be negative")
    g = gs(rt)
    g.parked += n
    if w.get("locked"):
        g.threads += n


@step("op:goroutines.stop")
def stop(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    gs(rt).parked = 0


@step("runtime.NumGoroutine")
def num_goroutine(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> int:
    return 1 + gs(rt).parked  # system goroutines are not counted


MAIN_GOEXIT = "fatal error: no goroutines (main called runtime.Goexit) - deadlock!\n"


@step("op:goexit")
def goexit(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    if not w.get("main"):
        return None  # a helper goroutine calls Goexit; only it ends
    main_goexit(rt, [], {})
    return None


@step("runtime.Goexit")
def main_goexit(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    if gs(rt).parked:
        raise Unsupported("the oracle does not model main's Goexit while other goroutines are parked")
    raise Exited(2, MAIN_GOEXIT)


@step("runtime.Gosched")
def gosched(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    """Yielding returns by itself."""


@step("runtime.LockOSThread")
def lock(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    gs(rt).locked += 1


@step("runtime.UnlockOSThread")
def unlock(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    g = gs(rt)
    g.locked = max(0, g.locked - 1)  # without a lock it does nothing


def _records(n: int, length: Any) -> list[Any]:
    """[n, ok, p]: p is copied into only when it is long enough (placeholder stacks), else left zero."""
    if length is None:
        return [n, n == 0, None]
    ln = int(length)
    ok = ln >= n
    stack = [0x4A0000 + 0x100 * i for i in range(12)] + [0] * 20
    return [n, ok, [{"Stack0": list(stack) if ok and i < n else [0] * 32} for i in range(ln)]]


@step("runtime.GoroutineProfile")
def goroutine_profile(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    return _records(num_goroutine(rt, [], {}), args[0])


@step("runtime.ThreadCreateProfile")
def thread_create_profile(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    return _records(gs(rt).threads, args[0])
