"""Goroutines: parked helpers, NumGoroutine, Goexit, LockOSThread nesting, Gosched, profiles of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rthooks.oracle import traceback
from rthooks.oracle.registry import step
from rthooks.oracle.state import Exited, OracleRuntime, Unsupported


@dataclass
class Goroutines:
    parked: int = 0
    # The main goroutine's LockOSThread nesting count: 1 to start with when an init function locked it (the
    # driver's RTHOOKS_INIT_LOCKOSTHREAD=1), a lock main's own UnlockOSThread undoes like any other (init and
    # main.main run on the same goroutine, runtime.main in src/runtime/proc.go).
    locked: int = 0
    # Whether main is wired to the startup thread: locked there by init and not unlocked since (once the count
    # reaches zero it may run anywhere, and a later LockOSThread wires it to wherever it then runs).
    on_startup: bool = False
    threads: int = 4  # Ms the runtime started (sysmon, GC workers, the main thread)
    # The main thread (m0) after a goroutine exited locked to it: parked for good, it runs no goroutine again.
    main_wedged: bool = False


def gs(rt: OracleRuntime) -> Goroutines:
    def new() -> Goroutines:
        init = _init_locked(rt)
        return Goroutines(locked=1 if init else 0, on_startup=init)

    g: Goroutines = rt.area("goroutines", new)
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


@step("op:goroutines.spin.panic")
def spin_panic(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """Child copies of the driver that each start a spinning goroutine and panic (the spinner's listing
    is traceback.py's): every run ends the same way in the model."""
    runs = int(w.get("runs", 3))
    if runs < 1:
        raise Unsupported("bad arguments: op goroutines.spin.panic: runs must be positive")
    report = traceback.spinner_crash(rt)
    code = report.status if report.signal is None else -1
    rt.reserve(runs * (len(report.stderr) + 16))  # each run's report in text, and its exit status
    text = "".join(f"--- run {i} ---\n{report.stderr}" for i in rt.loop(runs + 1) if i)
    return {"runs": runs, "exits": [code] * runs, "text": text}


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
    helpers = w.get("helpers", 0)
    if not isinstance(helpers, int) or isinstance(helpers, bool) or not 0 <= helpers <= 8:
        raise Unsupported(f"bad arguments: op goexit: helpers must be 0-8, got {helpers!r}")
    if helpers and not gs(rt).parked:
        # Main's Goexit leaves the program running (process:goexit-main#main-continues): the helpers go on
        # once main is gone, each writes its line and ends, and then none is left (#deadlock-when-none-left).
        rt.stdout += "".join(f"goexit-helper {k}: main gone\n" for k in range(1, helpers + 1))
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
    if g.locked == 0:  # unwired: main may run anywhere from now on
        g.on_startup = False


def _records(rt: OracleRuntime, n: int, length: Any) -> list[Any]:
    """[n, ok, p]: p is copied into only when it is long enough (placeholder stacks), else left zero."""
    if length is None:
        return [n, n == 0, None]
    ln = int(length)
    ok = ln >= n
    stack = [0x4A0000 + 0x100 * i for i in range(12)] + [0] * 20
    rt.reserve(ln * len('{"Stack0":[]},') + ln * 32 * 2)  # a record of 32 numbers per element of p
    return [n, ok, [{"Stack0": list(stack) if ok and i < n else [0] * 32} for i in rt.loop(ln)]]


@step("runtime.GoroutineProfile")
def goroutine_profile(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    return _records(rt, num_goroutine(rt, [], {}), args[0])


@step("runtime.ThreadCreateProfile")
def thread_create_profile(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    return _records(rt, gs(rt).threads, args[0])


# --- thread identity (driver ops process.threads.*, process.gosched-probe) ------------------------------

PID = 4242  # the model's process id; thread ids of other threads are PID + n


def _init_locked(rt: OracleRuntime) -> bool:
    """The driver's convention: RTHOOKS_INIT_LOCKOSTHREAD=1 makes an init function call LockOSThread."""
    return rt.env.get("RTHOOKS_INIT_LOCKOSTHREAD") == "1"


@step("op:process.threads.ids")
def thread_ids(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    # Init functions run on the startup thread (tid == pid). A locked main goroutine resumes on its thread
    # after every yield (on the startup thread if init locked it there and it was not unlocked since);
    # an unlocked one may resume anywhere (the model says: it starts elsewhere and moves once more).
    g = gs(rt)
    moved = not g.locked and int(w.get("yields", 0)) > 0
    tid = PID if g.on_startup else PID + 1
    return {
        "pid": PID,
        "tid": tid,
        "init_tid": PID,
        "init_locked": _init_locked(rt),
        "threads_seen": 2 if moved else 1,
        "on_startup_every": tid == PID and not moved,
    }


@step("op:process.threads.lock-probe")
def lock_probe(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    nest, tries = int(w.get("nest", 2)), int(w.get("tries", 5))
    if nest < 1 or tries < 1:
        raise Unsupported("bad arguments: op process.threads.lock-probe: nest and tries must be at least 1")
    rt.reserve(2 * nest)
    # The probe goroutine and its thread T, with one P. While its lock count is above zero T is wired to it
    # and runs no other goroutine (runtime.LockOSThread: "no other goroutine will execute in it"), and the
    # goroutine itself always resumes on T; at zero, T keeps the only P and runs the goroutine the probe
    # just started itself (the probe blocks receiving from it).
    locks = 0
    for _ in rt.loop(nest):
        locks += 1
    others = [0] * (nest + 1)
    for i in rt.loop(nest + 1):  # k = nest - i locks left: count, then undo one
        others[nest - i] = 0 if locks else tries
        locks = max(0, locks - 1)
    return {"same_thread": True, "others_on_thread": others}


@step("op:process.threads.exit-locked")
def exit_locked(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    if w.get("how", "return") not in ("return", "goexit"):
        raise Unsupported("bad arguments: op process.threads.exit-locked: how must be return or goexit")
    g = gs(rt)
    g.threads += 1
    # A goroutine that exits while locked takes its thread with it; an idle thread is kept for reuse.
    return {"tid": PID + g.threads, "gone": bool(w.get("locked", True))}


@step("op:process.threads.wedge-main")
def wedge_main(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """The step's goroutine waits (up to within_s) to run on the main thread, then starts a goroutine that
    locks the thread it runs on and, on the main thread, exits locked. A goroutine that exits locked takes
    its thread with it, except the main thread: mexit (runtime/proc.go) "Just wedge[s] it" (handoffp,
    then mPark for good), so it sleeps (S) and the process runs on, and no goroutine runs there again.

    The model's thread graph: main unlocked runs anywhere, and the goroutine it starts right before
    blocking runs next on the same thread (runnext), so it lands on the first try. Main wired to the
    startup thread by an init lock keeps the new goroutine off it (main locked elsewhere never gets there
    itself), and a wait of nothing never tries: how many tries those make, and what a free main thread
    is doing, the model does not say.
    """
    g = gs(rt)
    within = float(w.get("within_s", 5))
    if g.main_wedged:  # the step's goroutine never runs on the main thread again: the wait times out
        return {"landed": False, "tries": 0, "main_state": "S"}
    if within <= 0:
        raise Unsupported("the model does not say what a main thread it did not wedge is doing")
    if g.locked:  # wired to its thread: on the main thread it keeps the new goroutine off it, elsewhere itself
        raise Unsupported("the model does not say how a locked main goroutine's wait for the main thread ends")
    g.main_wedged = True
    return {"landed": True, "tries": 1, "main_state": "S"}


@step("op:process.gosched-probe")
def gosched_probe(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    # With one P the new goroutine cannot run before the caller yields; one Gosched lets it run.
    return {"ran_before": False, "ran": True, "yields": 1}
