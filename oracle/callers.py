"""Stacks and call sites (Caller, Callers, Frames, FuncForPC, Stack), runtime errors' texts, Pinner,
profiling rates and the other small runtime calls.

The model has no machine code: program counters are placeholders, file names those of the
driver's dispatch, and only relations a case may check (counts, ok flags, zero values, message
texts) are meant to hold.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import driversrc, gc, goroutines, heap, metricsmodel, proc, sched
from rthooks.oracle.driversrc import Pos
from rthooks.oracle.registry import step
from rthooks.oracle.releases import spec_since
from rthooks.oracle.state import Exited, OracleRuntime, PanicError, StepError, Unsupported, resolve


@dataclass
class Misc:
    mutex_fraction: int = 0
    block_rate: int = 0
    cpu_hz: int = 0
    cpu_log: bool = False  # cpuprof.log: made by a rate > 0, closed by a rate <= 0, dropped only by a reader
    tracing: bool = False
    pinned: dict[str, list[Any]] = field(default_factory=dict)
    frames: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reads: int = 0


def misc(rt: OracleRuntime) -> Misc:
    m: Misc = rt.area("misc", Misc)
    return m


ZERO_FRAME = {"Entry": 0, "File": "", "Func": None, "Function": "", "Line": 0, "PC": 0}

# A small symbol table standing in for the driver's binary: (function, entry, size, where the call at
# the return address below is made). The innermost frame of any call step is the driver's dispatch
# function; runtime.Callers is inlined into it. The places are read from the driver's source.
CALLERS_CALL = driversrc.at('"runtime.Callers": {fn:', "runtime.Callers(skip, pc)")
CALLER_CALL = driversrc.at('"runtime.Caller": {fn:', "runtime.Caller(")
STACK_CALL = driversrc.at('"runtime.Stack": {fn:', "runtime.Stack(buf")
PERFORM_CALL = driversrc.func("main.(*runner).performCall", "impl.fn(args)")
FUNCS: list[tuple[str, int, int, Pos]] = [
    ("main.init.4.func8", 0x59C300, 0x100, CALLERS_CALL),
    ("main.(*runner).performCall", 0x594D00, 0x200, PERFORM_CALL),
    ("main.(*runner).perform", 0x594B60, 0x100, driversrc.func("main.(*runner).perform", "r.performCall(st)")),
    ("main.(*runner).attempt.func1", 0x598BA0, 0x80, driversrc.func("main.(*runner).attempt", "r.perform(st)")),
    ("main.(*runner).protect", 0x594A40, 0x100, driversrc.func("main.(*runner).protect", "out = fn()")),
    ("main.(*runner).attempt", 0x5948A0, 0x100, driversrc.func("main.(*runner).attempt", "r.protect(")),
    ("main.(*runner).runStep", 0x593E60, 0x200, driversrc.func("main.(*runner).runStep", "r.attempt(st)")),
    ("main.main", 0x58E4C0, 0x300, driversrc.func("main.main", "r.runStep(")),
]
# The runtime's own frames below main.main: (function, entry, size, file, line), not the driver's.
RUNTIME_FUNCS = [
    ("runtime.main", 0x452C60, 0x500, "runtime/proc.go", 302),
    ("runtime.goexit", 0x493860, 0x10, "runtime/asm_amd64.s", 1264),
]
ALL_FUNCS: list[tuple[str, int, int, str, int]] = [
    (name, entry, size, f"{driversrc.MODULE}/{pos.file}", pos.line) for name, entry, size, pos in FUNCS
] + RUNTIME_FUNCS
RET = [entry + size // 2 for _, entry, size, _, _ in ALL_FUNCS]  # each frame's return address
INLINED_PC = FUNCS[0][1] + 0x95  # the return address of the call inside inlined runtime.Callers
INLINED = ("runtime.Callers", "runtime/extern.go", 341)


def _func_at(pc: int) -> tuple[str, int, str, int] | None:
    """(name, entry, file, line) of the function containing pc (the innermost one for inlined code)."""
    if INLINED_PC - 1 <= pc <= INLINED_PC:
        return INLINED[0], FUNCS[0][1], INLINED[1], INLINED[2]
    for name, entry, size, file, line in ALL_FUNCS:
        if entry <= pc < entry + size:
            return name, entry, file, line
    return None


def _handle(name: str) -> dict[str, str]:
    return {"handle": "func:" + name, "type": "*runtime.Func"}


@step("runtime.Caller")
def caller(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    skip = int(args[0])
    if skip == 0:  # the Caller call in its dispatch function
        return [FUNCS[0][1] + 0x20, f"{driversrc.MODULE}/{CALLER_CALL.file}", CALLER_CALL.line, True]
    if skip < 0 or skip >= len(ALL_FUNCS):
        return [0, "", 0, False]
    _, _, _, file, line = ALL_FUNCS[skip]
    return [RET[skip] - 1, file, line, True]


@step("runtime.Callers")
def callers(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    skip, length = int(args[0]), (0 if args[1] is None else int(args[1]))
    pcs = [INLINED_PC + 1, *RET][skip:]
    return [min(len(pcs), length), pcs[:length]]


def _frames_for(pcs: list[int]) -> list[dict[str, Any]]:
    out = []
    for pc in pcs:
        if pc == INLINED_PC + 1:  # Callers already gives inlined calls their own (logical) PC
            name, file, line = INLINED
            out.append({"Entry": FUNCS[0][1], "File": file, "Func": None, "Function": name, "Line": line, "PC": pc - 1})
            continue
        f = _func_at(pc - 1)
        if f is None:
            continue
        name, entry, file, line = f
        out.append({"Entry": entry, "File": file, "Func": _handle(name), "Function": name, "Line": line, "PC": pc - 1})
    return out


@step("runtime.CallersFrames")
def callers_frames(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> dict[str, str]:
    m = misc(rt)
    handle = f"frames{len(m.frames)}"
    m.frames[handle] = _frames_for([int(p) for p in resolve(rt, args[0]) or []])
    return {"handle": handle, "type": "*runtime.Frames"}


@step("runtime.Frames.Next")
def frames_next(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    ref = args[0]
    frames = misc(rt).frames.get(str(ref.get("handle") if isinstance(ref, dict) else ref))
    if frames is None:
        raise Unsupported(f"bad arguments: unknown *runtime.Frames {ref!r}")
    if not frames:
        return [dict(ZERO_FRAME), False]
    f = frames.pop(0)
    return [f, bool(frames)]


@step("runtime.FuncForPC")
def func_for_pc(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> Any:
    f = _func_at(int(resolve(rt, args[0]) or 0))
    return None if f is None else _handle(f[0])


def _func(ref: Any) -> tuple[str, int, str, int] | None:
    if ref is None:
        return None
    name = str(ref.get("handle") if isinstance(ref, dict) else ref).removeprefix("func:")
    if name == INLINED[0]:
        return INLINED[0], FUNCS[0][1], INLINED[1], INLINED[2]
    for n, entry, _size, file, line in ALL_FUNCS:
        if n == name:
            return n, entry, file, line
    raise Unsupported(f"bad arguments: unknown *runtime.Func {ref!r}")


@step("runtime.Func.Name")
def func_name(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> str:
    f = _func(args[0])
    return "" if f is None else f[0]


@step("runtime.Func.Entry")
def func_entry(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> int:
    f = _func(args[0])
    if f is None:
        raise Unsupported("the oracle does not model a nil *Func's Entry (it faults)")
    return f[1]


@step("runtime.Func.FileLine")
def func_file_line(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    f = _func(args[0])
    if f is None:
        raise Unsupported("the oracle does not model a nil *Func's FileLine")
    at = _func_at(int(resolve(rt, args[1]) or 0))
    if at is None or at[0] != f[0]:
        return [f[2], f[3]]  # unspecified outside f; the model answers with f's own location
    return [at[2], at[3]]


STACK = (
    f"goroutine 1 [running]:\nmain.init.func23(0x0?)\n\t{STACK_CALL} +0x88\n"
    f"main.(*runner).performCall(0x0, 0x0)\n\t{PERFORM_CALL} +0x1d1\n"
    f"main.main()\n\t{FUNCS[-1][3]} +0x2a5\n"
)


@step("runtime.Stack")
def stack(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    if args[0] is None:
        return [0, None]
    size = int(args[0])
    text = STACK.encode()[:size].decode(errors="ignore")
    if args[1]:
        # Only what fits in buf is kept, and no more than the observation channel could carry.
        room = min(size, rt.obs_room + 1)
        for i in rt.loop(goroutines.gs(rt).parked):
            if len(text) >= room:
                break
            text += f"\ngoroutine {18 + i} [chan receive]:\nmain.opGoroutinesStart.func1()\n"
        text = text[:size]
    return [len(text.encode()), text]


@step("runtime.CPUProfile")
def cpu_profile(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    raise PanicError("CPUProfile no longer available", "string")


def assertion_message(kind: str) -> str:
    return {
        "type-assertion": "interface conversion: interface {} is int, not string",
        "type-assertion-nil": "interface conversion: interface {} is nil, not string",
        "type-assertion-method": "interface conversion: int is not fmt.Stringer: missing method String",
        "type-assertion-same-name": "interface conversion: interface {} is main.T, not main.T (types from different scopes)",
    }[kind]


@step("runtime.TypeAssertionError.Error")
def type_assertion_error(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> str:
    v = args[0]
    if isinstance(v, str):
        try:
            return assertion_message(v)
        except KeyError:
            raise Unsupported(f"bad arguments: unknown assertion {v!r}") from None
    raise Unsupported("bad arguments: the receiver must name a failing assertion")


@step("runtime.TypeAssertionError.RuntimeError")
@step("runtime.PanicNilError.RuntimeError")
def runtime_error_marker(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    """The marker method does nothing."""


def panic_nil_text(rt: OracleRuntime) -> str:
    text = "panic called with nil argument"
    return "runtime error: " + text if rt.release >= spec_since("runtime.PanicNilError.Error#message-127") else text


@step("runtime.PanicNilError.Error")
def panic_nil_error(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    return panic_nil_text(rt)


@step("runtime.Pinner.Pin")
def pin(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    v = args[1]
    if v is None:
        raise PanicError("runtime error: runtime.Pinner: argument is nil", "runtime.errorString")
    if isinstance(v, bool | int | float):
        typ = "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "float64"
        raise PanicError(f"runtime error: runtime.Pinner: argument is not a pointer: {typ}", "runtime.errorString")
    if isinstance(v, dict) and v.get("global"):
        misc(rt).pinned.setdefault(str(args[0]), [])
        return  # not a Go heap pointer: nothing to pin (Go 1.22+)
    misc(rt).pinned.setdefault(str(args[0]), []).append(v)


@step("runtime.Pinner.Unpin")
def unpin(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    if args[0] is not None:
        misc(rt).pinned[str(args[0])] = []


@step("runtime.SetMutexProfileFraction")
def set_mutex_fraction(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> int:
    m = misc(rt)
    prev = m.mutex_fraction
    if int(args[0]) >= 0:
        m.mutex_fraction = int(args[0])
    return prev


@step("runtime.SetBlockProfileRate")
def set_block_rate(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    misc(rt).block_rate = max(0, int(args[0]))


# The block and mutex profiles (runtime/mprof.go, the same rules in go1.21 and go1.27): events are kept
# per call stack, one bucket (record) per stack, the newest bucket first (stkbucket prepends to
# bbuckets/xbuckets). The model's clock ticks once a nanosecond, so a rate in ns is also one in ticks
# (its text profiles say cycles/second=1000000000).
# The driver's contention ops and the stacks their events are recorded at: (op site, profile, where).
CONTENTION_SITES: dict[str, tuple[str, str]] = {
    # opRuntimeBlock: each receive in rthBlockSite waits hold_us (chanrecv -> blockevent).
    "rthBlockSite": ("block", "main.rthBlockSite"),
    # opRuntimeMutex: the caller waits on <-locked until the new holder goroutine has run (chanrecv).
    "opRuntimeMutex": ("block", "main.opRuntimeMutex"),
    # rthMutexWaiter's Lock waits the holder's hold_us (semacquire1 with semaBlockProfile -> blockevent).
    "rthMutexWaiter": ("block", "main.rthMutexWaiter"),
    # rthMutexHolder's Unlock wakes the waiter (semrelease1 -> mutexevent, on the unlocker's stack:
    # runtime/sema.go go1.21.13:202, go1.27.3:255).
    "rthMutexHolder": ("mutex", "main.rthMutexHolder"),
}
# The sites op:runtime.contention.site sums: stacks through main.rthBlockSite or main.rthMutex*.
DRIVER_SITES = ("rthBlockSite", "rthMutexWaiter", "rthMutexHolder")
START_WAIT_NS = 1000  # a new goroutine's start-up, what <-locked waits (measured: about 0.5-0.7 µs)
SITE_PC = {site: 0x5A2000 + 0x80 * i for i, site in enumerate(CONTENTION_SITES)}


@dataclass
class Contention:
    # site -> [count, cycles], per profile, in the order the buckets were made (oldest first)
    block: dict[str, list[int]] = field(default_factory=dict)
    mutex: dict[str, list[int]] = field(default_factory=dict)
    mutex_seen: int = 0  # contention events so far, whatever the fraction (for the 1-in-rate sampling)


def contention(rt: OracleRuntime) -> Contention:
    c: Contention = rt.area("contention", Contention)
    return c


def _block_events(rt: OracleRuntime, site: str, n: int, wait_ns: int) -> None:
    """n blocking events of wait_ns each at site. blockevent/blocksampled keep every event at least
    as long as the rate and one shorter one with odds wait/rate (counted rate/wait times); the model
    takes those odds as none. A rate <= 0 keeps nothing."""
    rate = misc(rt).block_rate
    if n <= 0 or rate <= 0 or wait_ns < rate:
        return
    rec = contention(rt).block.setdefault(site, [0, 0])
    rec[0] += n
    rec[1] += n * wait_ns


def _mutex_events(rt: OracleRuntime, site: str, n: int, wait_ns: int) -> None:
    """n contention events at site. mutexevent keeps one in rate at random and saveblockevent counts a
    kept one rate times (cycles rate * wait); the model keeps every rate-th event seen (counted without
    a loop as long as n). A fraction of 0 keeps nothing."""
    c, f = contention(rt), misc(rt).mutex_fraction
    n = max(0, n)
    if f > 0:
        kept = (c.mutex_seen + n) // f - c.mutex_seen // f
        if kept:
            rec = c.mutex.setdefault(site, [0, 0])
            rec[0] += kept * f
            rec[1] += kept * f * wait_ns
    c.mutex_seen += n


@step("op:runtime.block")
def block_events(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """n channel waits of hold_us each at rthBlockSite (the sender waits until the receiver is parked)."""
    _block_events(rt, "rthBlockSite", int(w.get("n", 1)), int(w.get("hold_us", 200)) * 1000)


@step("op:runtime.mutex")
def mutex_events(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """n rounds of: start a holder and wait for it to lock (<-locked), then wait hold_us in Lock, which
    the holder's Unlock ends with a contention event. A waiter that got the lock by spinning would be
    neither a block nor a mutex event; the model takes every round as contended."""
    n, hold_ns = int(w.get("n", 1)), int(w.get("hold_us", 1000)) * 1000
    _block_events(rt, "opRuntimeMutex", n, START_WAIT_NS)
    _block_events(rt, "rthMutexWaiter", n, hold_ns)
    _mutex_events(rt, "rthMutexHolder", n, hold_ns)


def _contention_records(rt: OracleRuntime, profile: str) -> list[tuple[str, int, int]]:
    """The profile's records, newest bucket first: (site, Count, Cycles)."""
    c = contention(rt)
    buckets = c.mutex if profile == "mutex" else c.block
    return [(site, count, cycles) for site, (count, cycles) in reversed(buckets.items())]


@step("op:runtime.contention.site")
def contention_site(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    mine = [r for r in _contention_records(rt, str(w.get("profile", "block"))) if r[0] in DRIVER_SITES]
    return {"records": len(mine), "Count": sum(r[1] for r in mine), "Cycles": sum(r[2] for r in mine)}


# The memory profile (runtime/mprof.go): allocations are sampled at MemProfileRate, aggregated per
# call stack, and published when a collection completes.
DRIVER_RECORDS = 3  # the driver's own sampled allocation sites before any step


@dataclass
class MemProf:
    started: bool = False
    rate: int = 512 * 1024
    # site -> batches: [gc count at allocation, sampled objects, object size, kept]
    sites: dict[str, list[list[int]]] = field(default_factory=dict)


def memprof(rt: OracleRuntime) -> MemProf:
    m: MemProf = rt.area("memprof", MemProf)
    if not m.started:
        m.started = True
        v = rt.env_godebug("memprofilerate")
        if v is not None and v.strip().lstrip("-").isdigit():
            m.rate = int(v)
    return m


@step("op:runtime.memprofilerate")
def memprofilerate(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    m = memprof(rt)
    prev = m.rate
    if w.get("set") is not None:
        m.rate = int(w["set"])
    return prev


def _sampled(n: int, size: int, rate: int) -> int:
    if rate <= 0:
        return 0
    if rate == 1:
        return n
    return round(n * (1 - math.exp(-size / rate)))


@step("op:runtime.memprofile.alloc")
def memprofile_alloc(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    m = memprof(rt)
    n, size = int(w.get("n", 1)), int(w.get("bytes", 1024))
    batch = [rt.gc_forced + rt.gc_automatic, _sampled(n, size, m.rate), size, 1 if w.get("keep") else 0]
    m.sites.setdefault(str(w.get("site", "a")), []).append(batch)
    heap.metrics_garbage(rt, n, size)


def _site_record(rt: OracleRuntime, site: str) -> dict[str, int]:
    """The site's published record: allocations made before the last completed cycle; unkept ones freed."""
    now = rt.gc_forced + rt.gc_automatic
    r = {"AllocObjects": 0, "AllocBytes": 0, "FreeObjects": 0, "FreeBytes": 0}
    for at, sampled, size, kept in memprof(rt).sites.get(site, []):
        if now > at:
            r["AllocObjects"] += sampled
            r["AllocBytes"] += sampled * size
            if not kept:
                r["FreeObjects"] += sampled
                r["FreeBytes"] += sampled * size
    return r


def _profile(rt: OracleRuntime, inuse_zero: bool) -> list[dict[str, Any]]:
    recs = []
    for i in range(DRIVER_RECORDS):
        recs.append({"AllocBytes": 65536, "FreeBytes": 0, "AllocObjects": 1, "FreeObjects": 0, "site": f"driver{i}"})
    for site in sorted(memprof(rt).sites):
        r = _site_record(rt, site)
        if r["AllocBytes"] > 0 and (inuse_zero or r["AllocBytes"] != r["FreeBytes"]):
            recs.append({**r, "site": site})
    return recs


@step("op:runtime.memprofile.site")
def memprofile_site(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    site = str(w.get("site", "a"))
    recs = _profile(rt, bool(w.get("inuse_zero", False)))
    mine = [r for r in recs if r["site"] == site]
    out = {"total": len(recs), "records": len(mine)}
    for k in ("AllocObjects", "AllocBytes", "FreeObjects", "FreeBytes"):
        out[k] = sum(int(r[k]) for r in mine)
    return out


ZERO_MEM_RECORD = {"AllocBytes": 0, "FreeBytes": 0, "AllocObjects": 0, "FreeObjects": 0, "Stack0": [0] * 32}


@step("runtime.MemProfile")
def mem_profile(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    recs = _profile(rt, bool(args[1]))
    n = len(recs)
    if args[0] is None:
        return [n, n == 0, None]
    length = int(args[0])
    rt.reserve(length * len(json.dumps(ZERO_MEM_RECORD, separators=(",", ":"))))
    p = [dict(ZERO_MEM_RECORD) for _ in range(length)]
    if length < n:
        return [n, False, p]
    for i, r in enumerate(recs):
        p[i] = {k: r[k] for k in ("AllocBytes", "FreeBytes", "AllocObjects", "FreeObjects")}
        p[i]["Stack0"] = [FUNCS[0][1] + 0x40 + i, *RET[1:4]] + [0] * 28
    return [n, True, p]


@step("op:runtime.metrics.all.alias")
def metrics_all_alias(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, bool]:
    return {"same_array": True, "mutation_visible": True}  # metrics.All returns its package-level slice


@step("op:runtime.metrics.buckets.alias")
def metrics_buckets_alias(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> bool:
    v = metricsmodel.read(rt, [str(w["name"])])[str(w["name"])]
    if not (isinstance(v, dict) and "buckets" in v):
        raise Unsupported("bad arguments: op runtime.metrics.buckets.alias needs a histogram metric")
    return True  # each histogram's bucket boundaries are one shared array in the runtime


@step("op:runtime.metrics.concurrent")
def metrics_concurrent(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    g, n = int(w.get("goroutines", 4)), int(w.get("reads", 20))
    bad = sum(1 for v in metricsmodel.read(rt, None).values() if v == {"kind": "bad"})
    return {"reads": g * n, "bad": bad * g * n}


@step("op:runtime.metrics.hist.total")
def metrics_hist_total(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    h, t = str(w["histogram"]), str(w["total"])
    m = metricsmodel.read(rt, [h, t])
    if not isinstance(m[h], dict) or "counts" not in m[h] or not isinstance(m[t], int):
        raise Unsupported("bad arguments: op runtime.metrics.hist.total needs a histogram and a uint64 metric")
    return {"counts_sum": sum(int(c) for c in m[h]["counts"]), "total": m[t]}


@step("runtime.SetCPUProfileRate")
def set_cpu_rate(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    """runtime/cpuprof.go (the same in go1.21 through go1.27): a rate > 0 is refused, with a message, while
    a profile is on or its buffer still exists (``if cpuprof.on || cpuprof.log != nil``). A rate <= 0 turns
    the profile off and closes the buffer, but only a reader that drains it (runtime/pprof's profileWriter,
    through runtime_pprof_readProfile) sets ``cpuprof.log = nil``; a program that calls SetCPUProfileRate
    directly has no reader, so once it has profiled it cannot start again (#restart-needs-reader)."""
    m = misc(rt)
    hz = max(0, min(int(args[0]), 1_000_000))
    if hz > 0:
        if m.cpu_hz > 0 or m.cpu_log:
            rt.stderr += "runtime: cannot set cpu profile rate until previous profile has finished.\n"
            return
        m.cpu_hz, m.cpu_log = hz, True
    elif m.cpu_hz > 0:
        m.cpu_hz = 0


ZERO_BLOCK_RECORD = {"Count": 0, "Cycles": 0, "Stack0": [0] * 32}


def _copy_profile(rt: OracleRuntime, profile: str, arg: Any) -> list[Any]:
    """(n, ok, p) of BlockProfile/MutexProfile(p): n records; when len(p) >= n they are copied into p's
    first n elements and ok is true, else p is left as it was (zero records here) and ok is false."""
    recs = _contention_records(rt, profile)
    n = len(recs)
    if arg is None:
        return [n, n == 0, None]
    length = int(arg)
    rt.reserve(length * len(json.dumps(ZERO_BLOCK_RECORD, separators=(",", ":"))))
    p = [{"Count": 0, "Cycles": 0, "Stack0": [0] * 32} for _ in range(length)]
    if length < n:
        return [n, False, p]
    for i, (site, count, cycles) in enumerate(recs):
        p[i] = {"Count": count, "Cycles": cycles, "Stack0": [SITE_PC[site], *RET[1:4]] + [0] * 28}
    return [n, True, p]


@step("runtime.BlockProfile")
def block_profile(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    return _copy_profile(rt, "block", args[0])


@step("runtime.MutexProfile")
def mutex_profile(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    return _copy_profile(rt, "mutex", args[0])


@step("runtime.StartTrace")
def start_trace(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    m = misc(rt)
    if m.tracing:
        raise StepError("tracing is already enabled")
    m.tracing = True


@step("runtime.NumCgoCall")
def num_cgo_call(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> int:
    """The calls counted so far: none in the driver built with CGO_ENABLED=0, whose runtime never calls
    C; in the cgo build, those the cgo ops made through sched.count_cgo_calls."""
    return sched.cgo_calls(rt)


@step("runtime.NumCPU")
def num_cpu(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> int:
    return sched.sched(rt).ncpu_startup  # computed once at start-up, from the affinity mask


MODELLED_GOROOT = "/usr/local/go"  # the model's stand-in for the building toolchain's root


def _build_root(rt: OracleRuntime) -> str:
    """The GOROOT recorded at build time: none with -trimpath (the harness's default), unless -trimpath=false."""
    flags = [str(f) for f in rt.setup.get("build_flags") or []]
    return MODELLED_GOROOT if "-trimpath=false" in flags else ""


@step("runtime.GOROOT")
def goroot(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    env = sched.startup_env(rt)  # read at process start: os.Setenv does not change it
    if env.get("GOROOT"):
        return env["GOROOT"]
    return _build_root(rt)


@step("op:runtime.toolchain.goroot")
def toolchain_goroot(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    """The building toolchain's root; the model answers with what an untrimmed build records."""
    return _build_root(rt)


@step("runtime.Breakpoint")
def breakpoint_(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    text = "SIGTRAP: trace trap\nPC=0x46de61 m=0 sigcode=128\n"
    text += proc.goroutine_dump(rt, "system", current="runtime.breakpoint()", all_goroutines=True)
    raise Exited(2, text)


@step("runtime.MemProfileRecord.InUseBytes")
def inuse_bytes(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> int:
    r = args[0] or {}
    return int(r.get("AllocBytes", 0)) - int(r.get("FreeBytes", 0))


@step("runtime.MemProfileRecord.InUseObjects")
def inuse_objects(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> int:
    r = args[0] or {}
    return int(r.get("AllocObjects", 0)) - int(r.get("FreeObjects", 0))


@step("runtime.MemProfileRecord.Stack")
@step("runtime.StackRecord.Stack")
def record_stack(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[int]:
    stack0 = [int(x) for x in (args[0] or {}).get("Stack0", [])][:32]
    return stack0[: stack0.index(0)] if 0 in stack0 else stack0


# MemStats: one consistent snapshot built from the model's GC counts and named objects.
SIZE_CLASSES = [
    0,
    8,
    16,
    24,
    32,
    48,
    64,
    80,
    96,
    112,
    128,
    144,
    160,
    176,
    192,
    208,
    224,
    240,
    256,
    288,
    320,
    352,
    384,
    416,
    448,
    480,
    512,
    576,
    640,
    704,
    768,
    896,
    1024,
    1152,
    1280,
    1408,
    1536,
    1792,
    2048,
    2304,
    2688,
    3072,
    3200,
    3456,
    4096,
    4864,
    5376,
    6144,
    6528,
    6784,
    6912,
    8192,
    9472,
    9728,
    10240,
    10880,
    12288,
    13568,
    14336,
    16384,
    18432,
]


@step("runtime.ReadMemStats")
def read_mem_stats(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    h = heap.heap(rt)
    m = misc(rt)
    m.reads += 1
    # runtime/mstats.go: ReadMemStats calls stopTheWorld(stwReadMemStats), one /sched/pauses/total/other
    # sample (as op:memstats in metricsmodel already records).
    rt.area("metrics", metricsmodel.MetricsState).pauses_other += 1
    objects = 400 + sum(1 for o in h.objects.values() if o.dropped_at is None)
    mallocs = 1000 + 10 * m.reads + len(h.objects)
    heap_alloc = 200_000 + 64 * objects
    sysparts = {
        "HeapSys": 3_833_856,
        "StackSys": 393_216,
        "MSpanSys": 81_600,
        "MCacheSys": 15_600,
        "BuckHashSys": 1_442_872,
        "GCSys": 1_800_000,
        "OtherSys": 900_000,
    }
    ring = gc.history(rt)  # the same ring runtime/debug.ReadGCStats reads (runtime/mstats.go)
    return {
        "Alloc": heap_alloc,
        "TotalAlloc": heap_alloc + 5_000 * m.reads,
        "Sys": sum(sysparts.values()),
        "Lookups": 0,
        "Mallocs": mallocs,
        "Frees": mallocs - objects,
        "HeapAlloc": heap_alloc,
        "HeapIdle": 2_000_000,
        "HeapInuse": 1_833_856,
        "HeapReleased": 1_900_000,
        "HeapObjects": objects,
        "StackInuse": sysparts["StackSys"],
        "MSpanInuse": 60_000,
        "MCacheInuse": 14_400,
        "NextGC": 4_194_304,
        "LastGC": ring.last_gc_unix,
        "PauseTotalNs": ring.total_ns,
        "PauseNs": list(ring.pause_ns),
        "PauseEnd": list(ring.pause_end),
        "NumGC": ring.numgc,
        "NumForcedGC": rt.gc_forced,
        "GCCPUFraction": 0.0,
        "EnableGC": True,
        "DebugGC": False,
        "BySize": [{"Size": s, "Mallocs": 0, "Frees": 0} for s in SIZE_CLASSES],
        **sysparts,
    }


@step("runtime.SetCgoTraceback")
def set_cgo_traceback(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    if int(args[0]) != 0:
        raise PanicError("unsupported version", "string")
    if any(a is not None for a in args[1:]):
        raise Unsupported("C function pointers cannot be passed from a JSON step; only null")
    # runtime/traceback.go: once a function is set, a call with a different pointer (here nil) panics;
    # op cgo.traceback (cgomodel) records which of the three it set.
    if any(rt.area("cgo.traceback", dict).get("set") or ()):
        raise PanicError("call SetCgoTraceback only once", "string")
    # Repeating the same (nil) pointers is allowed.
