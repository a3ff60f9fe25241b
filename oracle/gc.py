"""The collector and memory settings: SetGCPercent, SetMemoryLimit, SetMaxStack, SetMaxThreads, GC,
ReadGCStats, FreeOSMemory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import driversrc, godebugops, heap, metricsmodel, proc, traceback
from rthooks.oracle.registry import step
from rthooks.oracle.releases import spec_since
from rthooks.oracle.state import OUTPUT_CAP, OracleRuntime, Unsupported

# The runtime's pause ring: memstats.pause_ns and pause_end, [256]uint64 each (runtime/mstats.go), which
# runtime.MemStats copies as PauseNs/PauseEnd and runtime/debug.ReadGCStats reads most recent first.
MAX_PAUSE = 256


@dataclass
class GCHistory:
    """The one pause ring behind both runtime.ReadMemStats and runtime/debug.ReadGCStats.

    gcMarkTermination (runtime/mgc.go) writes cycle k's stop-the-world pause and its Unix end time at
    index numgc%256, then counts the cycle, so the most recent pause is at (NumGC+255)%256 and older
    entries are overwritten; readGCStats_m (runtime/mstats.go) walks back from there. A case looping
    on collections (metrics.lock.contend gcs: N) must not grow the model with N: the ring is fixed.
    """

    pause_ns: list[int] = field(default_factory=lambda: [0] * MAX_PAUSE)
    pause_end: list[int] = field(default_factory=lambda: [0] * MAX_PAUSE)  # Unix ns
    numgc: int = 0
    total_ns: int = 0
    last_gc_unix: int = 0


def pause_of(cycle: int) -> int:
    """The model's pause for the cycle with 0-based index ``cycle``: some tens of microseconds, and
    never the same for two neighbouring cycles, so that an order of the history is observable."""
    return 20_000 + 1_000 * (cycle % 64)


def _record(h: GCHistory, now: int) -> None:
    i = h.numgc % MAX_PAUSE
    pause = pause_of(h.numgc)
    # Wall-clock end times; the model's own clock never runs backwards or repeats itself.
    end = max(now, h.last_gc_unix + 1)
    h.pause_ns[i], h.pause_end[i] = pause, end
    h.last_gc_unix = end
    h.total_ns += pause
    h.numgc += 1


def history(rt: OracleRuntime) -> GCHistory:
    """The ring, brought up to the cycles counted so far: cycles the heap and metrics models start
    (rt.gc_automatic) enter it the first time it is read after them, at that moment."""
    h: GCHistory = rt.area("gc", GCHistory)
    n = rt.gc_forced + rt.gc_automatic
    missing = n - h.numgc
    if missing > MAX_PAUSE:  # overwritten before anyone could read them: only their count and total stay
        skip = missing - MAX_PAUSE
        full, rest = divmod(skip, 64)
        h.total_ns += full * sum(pause_of(k) for k in range(64))
        h.total_ns += sum(pause_of(h.numgc + full * 64 + k) for k in range(rest))
        h.numgc += skip
        missing = MAX_PAUSE
    now = time.time_ns()
    for _ in range(max(0, missing)):
        _record(h, now)
    return h


def recent(rt: OracleRuntime) -> list[tuple[int, int]]:
    """readGCStats_m: (pause ns, end Unix ns) of the last min(NumGC, 256) cycles, most recent first."""
    h = history(rt)
    n = min(h.numgc, MAX_PAUSE)
    return [(h.pause_ns[j], h.pause_end[j]) for j in ((h.numgc - 1 - i) % MAX_PAUSE for i in range(n))]


def _rfc3339(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}".rstrip("0").rstrip(".") + "Z"


@step("runtime/debug.SetGCPercent")
def set_gc_percent(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> int:
    prev = rt.gcpercent
    # debug.SetGCPercent passes int32(percent) to the runtime (runtime/debug/garbage.go), so a value
    # past the int32 range wraps first; any negative result is stored as -1 (mgcpacer.go).
    pct = _int32(int(args[0]))
    rt.gcpercent = -1 if pct < 0 else pct
    return prev


def _int32(v: int) -> int:
    """Go's int32(v) of an int: the low 32 bits, signed."""
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


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
    # runtime.setMaxThreads (proc.go): above MaxInt32 the limit is MaxInt32, else int32(in).
    n = int(args[0])
    prev, rt.maxthreads = rt.maxthreads, 0x7FFFFFFF if n > 0x7FFFFFFF else _int32(n)
    return prev


def collect(rt: OracleRuntime) -> None:
    """One forced, complete cycle: counted, with a pause and an end time in the history."""
    rt.gc_forced += 1
    history(rt)  # the cycle's pause and end time enter the ring now
    if len(rt.stderr) <= OUTPUT_CAP and (rt.env_godebug("gctrace") or "0") not in ("", "0"):
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


def _quantiles(rt: OracleRuntime, pauses: list[int], q: int) -> list[int]:
    """runtime/debug.ReadGCStats (garbage.go): with nq = q-1, element i < nq is sorted[n*i/nq] and the
    last is the longest pause; all zeros without any pause."""
    if not pauses:
        return [0] * q
    s = sorted(pauses)
    nq = q - 1
    return [s[len(s) * i // nq] for i in rt.loop(nq)] + [s[-1]]


@step("runtime/debug.ReadGCStats")
def read_gc_stats(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    shape = (args[0] if args else None) or {}
    last = recent(rt)
    h = history(rt)
    pauses = [p for p, _ in last]
    # A list pre-fills that many quantiles (the driver's GCStats shape); ReadGCStats overwrites them all.
    given = shape.get("PauseQuantiles", 0) or 0
    q = len(given) if isinstance(given, list) else int(given)
    rt.reserve(2 * q)  # q numbers of JSON
    return {
        # time.Unix(0, last_gc_unix): the Unix epoch before the first cycle.
        "LastGC": _rfc3339(h.last_gc_unix),
        "NumGC": h.numgc,
        "PauseTotal": h.total_ns,
        "Pause": pauses,
        "PauseEnd": [_rfc3339(e) for _, e in last],
        "PauseQuantiles": _quantiles(rt, pauses, q) if q > 0 else None,
    }


# --- stacks, heap dumps, GC statistics buffers, JSON shapes, crash output, external memory ---------

FRAME_BYTES = {True: 1040, False: 48}  # the driver's recursion frames (1000-byte pad, or none)
INITIAL_STACK = 8192

# Where op runtime.deepstack's frames stand in the driver (ops_runtime_misc.go), by big or small frames.
DEEP_RECURSE = {
    True: driversrc.at("func rthDeepBig(", "return rthDeepBig("),
    False: driversrc.at("func rthDeepSmall(", "return rthDeepSmall("),
}
DEEP_OP_CALL = {
    True: driversrc.at("func opDeepStack(", "rthDeepBig("),
    False: driversrc.at("func opDeepStack(", "rthDeepSmall("),
}
DEEP_BOTTOM_STACK = driversrc.at("func rthDeepBottom(", "debug.Stack()")
MAIN_STEP = driversrc.func("main.main", "r.runStep(")


@dataclass
class Stacks:
    main: int = INITIAL_STACK  # the main goroutine's stack size; stacks only shrink at collections


@step("op:runtime.deepstack")
def deepstack(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """Recursion: each growth doubles the stack, and a doubling past SetMaxStack's limit is fatal."""
    st: Stacks = rt.area("stacks", Stacks)
    frames, big = int(w.get("frames", 1)), bool(w.get("big", True))
    need = 4096 + frames * FRAME_BYTES[big]
    ceiling = 2 * 1_000_000_000  # maxstackceiling: twice the initial 64-bit maximum, whatever SetMaxStack says
    while st.main < need:
        if st.main * 2 > rt.maxstack or st.main * 2 > ceiling:
            limit = rt.maxstack if rt.maxstack < ceiling else ceiling
            proc.throw(rt, f"runtime: goroutine stack exceeds {limit}-byte limit\nfatal error: stack overflow\n")
        st.main *= 2
    prev = 0
    if int(w.get("set_max_stack", 0) or 0) > 0:
        prev, rt.maxstack = rt.maxstack, int(w["set_max_stack"])
    text = None
    if w.get("stack"):
        name = "main.rthDeepBig" if big else "main.rthDeepSmall"
        frame = f"{name}(0x0?, 0x0?)\n\t{DEEP_RECURSE[big]} +0x2c\n"
        text = (
            "goroutine 1 [running]:\nruntime/debug.Stack()\n\truntime/debug/stack.go:26 +0x5e\n"
            f"main.rthDeepBottom(0x0?)\n\t{DEEP_BOTTOM_STACK} +0x3c\n"
        )
        shown = frames + 2 + 8  # the recursion, the op and the driver's frames below it
        if shown > 100:  # the traceback prints the first 50 and the last 50 frames
            text += frame * 48 + f"...{shown - 100} frames elided...\n" + frame * (frames - 48 - (shown - 100))
        else:
            text += frame * frames
        text += f"main.opDeepStack(0x0?, 0x0?)\n\t{DEEP_OP_CALL[big]} +0x9a\n"
        text += f"main.main()\n\t{MAIN_STEP} +0x2a5\n"
    return {"prev_max_stack": prev, "stack": text}


@step("op:runtime.heapdump.gap")
def heapdump_gap(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, float]:
    """WriteHeapDump stops the world: the clock-reading goroutine's longest gap is the dump itself."""
    dump_ms = 10.0 + 12.0 * int(w.get("live_mb", 16))
    rt.write_file(str(w.get("file", "heap.dump")), b"go1.7 heap dump\n" + b"\0" * 64)
    return {"dump_ms": dump_ms, "gap_ms": dump_ms - 0.2}


@step("op:runtime.gcstats.reuse")
def gcstats_reuse(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """ReadGCStats keeps a Pause slice whose capacity holds 2*256+3 entries, else allocates that many."""
    c = int(w.get("cap", 0))
    n = min(history(rt).numgc, MAX_PAUSE)
    keep = c >= 2 * MAX_PAUSE + 3
    return {"same_array": keep, "len": n, "cap": c if keep else 2 * MAX_PAUSE + 3}


_JSON_ZERO_OLD = {
    "BuildInfo": '{"GoVersion":"","Path":"","Main":{"Path":"","Version":"","Sum":"","Replace":null},'
    '"Deps":null,"Settings":null}',
    "Module": '{"Path":"","Version":"","Sum":"","Replace":null}',
    "BuildSetting": '{"Key":"","Value":""}',
}
_JSON_ZERO_125 = {"BuildInfo": '{"Main":{}}', "Module": "{}", "BuildSetting": '{"Key":"","Value":""}'}


@step("op:runtime.debug.json.zero")
def json_zero(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> str:
    new = rt.release >= spec_since("runtime/debug.BuildInfo#json-omitempty")
    table = _JSON_ZERO_125 if new else _JSON_ZERO_OLD
    t = str(w.get("type"))
    if t not in table:
        raise Unsupported(f"bad arguments: op runtime.debug.json.zero: unknown type {t!r}")
    return table[t]


@step("op:runtime.crashoutput")
def crash_output_closed(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """SetCrashOutput(f) then f.Close(): the runtime keeps its own duplicate of the descriptor."""
    if rt.release < spec_since("runtime/debug.SetCrashOutput"):
        raise Unsupported("op runtime.crashoutput needs Go 1.23")
    traceback.set_crash_output(rt, [str(w["file"]), {}], {})


@step("op:runtime.mmap")
def mmap(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    """Memory mapped outside the Go heap: not in any memory class, not counted against the limit."""
    return int(w.get("bytes", 1 << 20))


@step("op:runtime.memlimit.accounted")
def memlimit_accounted(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, int]:
    """What the memory limit is compared with: total mapped memory less what was returned to the OS."""
    names = ["/memory/classes/total:bytes", "/memory/classes/heap/released:bytes", "/gc/gomemlimit:bytes"]
    m = metricsmodel.read(rt, names)
    return {"accounted": int(m[names[0]]) - int(m[names[1]]), "limit": int(m[names[2]])}


CYCLE_PROBE_METRICS = (
    "/gc/cycles/total:gc-cycles",
    "/gc/heap/frees:objects",
    "/cpu/classes/gc/mark/assist:cpu-seconds",
    "/cpu/classes/gc/mark/dedicated:cpu-seconds",
    "/memory/classes/metadata/other:bytes",
)
_PROBE_KEYS = ("cycles", "freed", "assist_s", "dedicated_s", "metadata_other")  # the value's names for them
LAZY_SWEEP_FREED = 4608  # objects the sweeper frees before the probe looks: a few 8 KiB spans of 16-byte objects


@step("op:gc.cycle.probe")
def cycle_probe(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """One automatic cycle on a single P, read the moment it ends (GODEBUG gcstoptheworld, gccheckmark).

    gcstoptheworld=1 and 2 run the mark with user goroutines disabled, so the allocating goroutine
    never assists; 2 also sweeps every span before the world restarts (all the garbage is freed when
    the cycle ends), while 0 and 1 leave sweeping to run lazily afterwards. The model follows the
    documentation for every release: go1.21's throw on the first gcstoptheworld=2 cycle ("failed to set
    sweep barrier", golang/go#53885) is the clause's deviation, expected of go1.21 only.
    """
    if rt.release < spec_since(f"metric:{CYCLE_PROBE_METRICS[2]}"):
        raise Unsupported("op gc.cycle.probe reads the /cpu/classes metrics (Go 1.20+)")
    n = int(w.get("garbage", 1_000_000))
    if n < 0:
        raise Unsupported("bad arguments: op gc.cycle.probe: garbage must not be negative")
    mode = godebugops.startup_int(rt, "gcstoptheworld")
    heap.metrics_garbage(rt, n, 16)
    before = metricsmodel.read(rt, list(CYCLE_PROBE_METRICS))
    gogc = int(w["gogc"]) if w.get("gogc") is not None else rt.gcpercent
    if gogc < 0:
        raise Unsupported("op gc.cycle.probe: GOGC is off and with.gogc is not given")
    st = metricsmodel._state(rt)
    if mode == 0:
        st.pending_assist += 0.002  # the step's allocations during the concurrent mark pay for marking
    rt.gc_automatic += 1
    after = metricsmodel.read(rt, list(CYCLE_PROBE_METRICS))
    heap.simulate(rt)
    out = {k: after[name] - before[name] for k, name in zip(_PROBE_KEYS, CYCLE_PROBE_METRICS, strict=True)}
    # The model frees a cycle's garbage at once; the runtime's sweeper does that inside the cycle only
    # with gcstoptheworld=2, and otherwise has freed a few spans' worth when the probe looks.
    out["freed"] = n if mode == 2 else min(n, LAZY_SWEEP_FREED)
    return {"garbage": n, **out}
