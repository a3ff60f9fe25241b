"""runtime/metrics: the metrics the model keeps, consistent with its state and with each other.

Names, kinds, cumulative flags and which release has which metric come from the spec
(``metric:`` items); nothing here copies that table. The values are the model's own
bookkeeping, kept in ``rt.area("metrics", ...)``:

- settings mirror the runtime state (``/gc/gogc:percent``, ``/gc/gomemlimit:bytes``,
  ``/sched/gomaxprocs:threads``, the GC cycle counters);
- every metric read allocates a little (as a real Read of many samples does), so the
  allocation counters grow; a GC cycle frees all but the live heap;
- the CPU classes are an accounting snapshot that only moves when a GC cycle completes;
- the memory classes are leaves whose sum is ``/memory/classes/total:bytes``; the heap
  objects class is allocated minus freed bytes, and the scan totals add up;
- histograms keep fixed buckets and counts that never decrease.

Values the model cannot know (CPU seconds, metadata sizes) are plausible numbers for which
every documented relation holds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle.registry import step
from rthooks.oracle.state import OracleRuntime, PanicError, Unsupported

MAX_UINT64 = (1 << 64) - 1
INF = {"float": "+Inf"}
NEG_INF = {"float": "-Inf"}

# Kind numbers of metrics.ValueKind (KindBad = iota, then Uint64, Float64, Float64Histogram).
KIND_NUMBER = {"bad": 0, "uint64": 1, "float64": 2, "float64-histogram": 3}
KIND_ACCESSOR = {"uint64": "Uint64", "float64": "Float64", "float64-histogram": "Float64Histogram"}

# Size-class upper bounds (bytes) of the model's allocator; the allocs/frees-by-size histograms
# have one bucket per class, bounded like the runtime's ([class_i + 1, class_{i+1} + 1)).
SIZE_CLASSES = [8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512]
SIZE_CLASSES += [640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144]
SIZE_CLASSES += [7168, 8192, 10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768]
SIZE_BUCKETS: list[Any] = [1.0] + [float(c + 1) for c in SIZE_CLASSES] + [INF]
# Time histograms: -Inf, 0, then powers of two of nanoseconds, then +Inf.
TIME_BUCKETS: list[Any] = [NEG_INF, 0.0] + [float(2**k) * 1e-9 for k in range(6, 48)] + [INF]

# What one metrics read allocates in the model: (size class index, objects) pairs.
READ_ALLOCS = [(3, 2), (5, 1), (29, 1)]  # 2x32 B, 1x64 B, 1x4096 B
READ_TINY = 1
LIVE_AFTER_GC = 96 * 1024  # bytes the model's program keeps live across a cycle
LIVE_OBJECTS_AFTER_GC = 64
PAUSE_BUCKET = TIME_BUCKETS.index(float(2**13) * 1e-9)  # pauses of ~8-16 µs
LATENCY_BUCKET = TIME_BUCKETS.index(float(2**10) * 1e-9)  # scheduling latencies of ~1-2 µs


@dataclass
class MetricsState:
    seen_cycles: int = 0
    alloc_by_class: list[int] = field(default_factory=lambda: [0] * len(SIZE_CLASSES))
    free_by_class: list[int] = field(default_factory=lambda: [0] * len(SIZE_CLASSES))
    tiny: int = 0
    # Small allocations still in the per-P caches: counted only when the cache is flushed
    # (a GC cycle or ReadMemStats), as the runtime does (small-allocs-lag).
    cached_by_class: list[int] = field(default_factory=lambda: [0] * len(SIZE_CLASSES))
    cached_tiny: int = 0
    live_bytes: int = 0
    heap_scanned: int = 0
    pauses_gc: int = 0
    pauses_other: int = 0
    latencies: int = 0
    goroutines_created: int = 0
    seen_parked: int = 0
    cpu: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(
            ("assist", "dedicated", "idle_gc", "pause", "scav_assist", "scav_bg", "idle", "user"), 0.0
        )
    )

    @property
    def alloc_objects(self) -> int:
        return sum(self.alloc_by_class)

    @property
    def free_objects(self) -> int:
        return sum(self.free_by_class)

    @property
    def alloc_bytes(self) -> int:
        return sum(n * SIZE_CLASSES[i] for i, n in enumerate(self.alloc_by_class))

    @property
    def free_bytes(self) -> int:
        return sum(n * SIZE_CLASSES[i] for i, n in enumerate(self.free_by_class))


def _state(rt: OracleRuntime) -> MetricsState:
    st: MetricsState = rt.area("metrics", MetricsState)
    return st


def _spec_metric(rt: OracleRuntime, name: str) -> dict[str, Any] | None:
    """The metric's facts as of the modelled release, or None if that release has no such metric."""
    from rthooks.spec.load import default_spec

    item = default_spec().items.get(f"metric:{name}")
    if item is None or item.kind != "metric" or not item.exists_in(rt.release):
        return None
    facts: dict[str, Any] = item.at(rt.release)
    return facts


def _all_metrics(rt: OracleRuntime) -> list[dict[str, Any]]:
    """The release's metrics, as metrics.All() lists them: sorted by name."""
    from rthooks.spec.load import default_spec

    items = [i.at(rt.release) for i in default_spec().in_release(rt.release, ["metric"])]
    return sorted(items, key=lambda d: str(d["name"]))


def _advance(rt: OracleRuntime, st: MetricsState) -> None:
    """Bring the bookkeeping up to date: the read's own allocation, then any completed GC cycles."""
    st.latencies += 1
    cycles = rt.gc_forced + rt.gc_automatic
    for _ in range(st.seen_cycles, cycles):
        _flush(st)
        # A cycle frees every object but the live set (the model's live set is a fixed shape).
        st.heap_scanned = st.alloc_bytes - st.free_bytes
        keep = {0: LIVE_OBJECTS_AFTER_GC // 2, 3: LIVE_OBJECTS_AFTER_GC // 2, 29: LIVE_AFTER_GC // 4096}
        for i in range(len(SIZE_CLASSES)):
            alive = st.alloc_by_class[i] - st.free_by_class[i]
            st.free_by_class[i] += max(0, alive - keep.get(i, 0))
        st.live_bytes = st.alloc_bytes - st.free_bytes
        st.pauses_gc += 2  # sweep termination and mark termination stop the world
        procs = rt.gomaxprocs
        c = st.cpu
        c["dedicated"] += 0.0004
        c["idle_gc"] += 0.0001
        c["pause"] += 0.00002 * procs
        c["scav_bg"] += 0.00001
        c["user"] += 0.001
        c["idle"] += 0.002 * procs
    st.seen_cycles = max(st.seen_cycles, cycles)
    for cls, n in READ_ALLOCS:  # the read's own allocations go to the caches after it
        st.cached_by_class[cls] += n
    st.cached_tiny += READ_TINY
    parked = _parked(rt)
    st.goroutines_created += max(0, parked - st.seen_parked)
    st.seen_parked = parked


def _ran_counts(rt: OracleRuntime) -> tuple[int, int]:
    """Finalizers and cleanups that have run so far, as the heap area's event list has them."""
    if "heap" not in rt.areas:
        return 0, 0
    from rthooks.oracle import heap

    events = heap._events(rt)  # (cycle, 0 for a finalizer / 1 for a cleanup, tag)
    return sum(1 for e in events if e[1] == 0), sum(1 for e in events if e[1] == 1)


def _flush(st: MetricsState) -> None:
    """Hand the cached spans back: their allocations become visible in the counters."""
    for i, n in enumerate(st.cached_by_class):
        st.alloc_by_class[i] += n
        st.cached_by_class[i] = 0
    st.tiny += st.cached_tiny
    st.cached_tiny = 0


def _parked(rt: OracleRuntime) -> int:
    """Goroutines the program parked (op goroutines.start), as the goroutines area keeps them."""
    return int(getattr(rt.areas.get("goroutines"), "parked", 0))


def _clause_live(rt: OracleRuntime, item_id: str, clause: str) -> bool:
    from rthooks.spec.load import default_spec

    item = default_spec().items.get(item_id)
    if item is None:
        return False
    for c in item.data.get("clauses") or []:
        if c["id"] == clause:
            since = GoVersion.parse(c.get("since") or str(item.since))
            removed = c.get("removed")
            return since <= rt.release and (removed is None or rt.release < GoVersion.parse(removed))
    return False


def _histogram(buckets: list[Any], counts: list[int]) -> dict[str, Any]:
    return {"counts": list(counts), "buckets": list(buckets)}


def _one_bucket(n: int, at: int) -> list[int]:
    counts = [0] * (len(TIME_BUCKETS) - 1)
    counts[at] = n
    return counts


def _values(rt: OracleRuntime, st: MetricsState) -> dict[str, Any]:
    """Every metric the model knows, by name (the caller keeps only the release's)."""
    c = st.cpu
    gc_total = c["assist"] + c["dedicated"] + c["idle_gc"] + c["pause"]
    scav_total = c["scav_assist"] + c["scav_bg"]
    cycles = rt.gc_forced + rt.gc_automatic
    in_objects = st.alloc_bytes - st.free_bytes
    # NumGoroutine counts the main goroutine and the parked ones; from the release whose spec says
    # /sched/goroutines includes the runtime's own goroutines, the metric adds a few system ones.
    user = 1 + _parked(rt)
    system = 5 if _clause_live(rt, "metric:/sched/goroutines:goroutines", "includes-system-goroutines") else 0
    goroutines = user + system
    threads = max(2, int(getattr(rt.areas.get("goroutines"), "threads", 4)))
    gogc = rt.gcpercent
    # The pacer's goal: the 4 MiB heap minimum scaled by GOGC/100, or the live heap grown by GOGC%.
    goal_gc = MAX_UINT64 if gogc < 0 else max((4 << 20) * gogc // 100, st.live_bytes * (100 + gogc) // 100)
    memory = {
        "/memory/classes/heap/free:bytes": 256 * 1024,
        "/memory/classes/heap/objects:bytes": in_objects,
        "/memory/classes/heap/released:bytes": 3 << 20,
        "/memory/classes/heap/stacks:bytes": 320 * 1024,
        "/memory/classes/heap/unused:bytes": (1 << 20) - in_objects % (1 << 20),
        "/memory/classes/metadata/mcache/free:bytes": 11_680,
        "/memory/classes/metadata/mcache/inuse:bytes": 4_672,
        "/memory/classes/metadata/mspan/free:bytes": 9_600,
        "/memory/classes/metadata/mspan/inuse:bytes": 23_040,
        "/memory/classes/metadata/other:bytes": 1_352_976,
        "/memory/classes/os-stacks:bytes": 0,
        "/memory/classes/other:bytes": 782_674,
        "/memory/classes/profiling/buckets:bytes": 4_096,
    }
    total_mem = sum(memory.values())
    goal_limit = max(0, rt.memlimit - (total_mem - in_objects))
    scan_globals, scan_stack = 176_330, 8_192
    # The model runs a queued finalizer or cleanup at once, so queued equals executed (no backlog).
    ran_finalizers, ran_cleanups = _ran_counts(rt)
    pause_counts = _one_bucket(st.pauses_gc, PAUSE_BUCKET)
    # One bucket per size class, then [largest class + 1, +Inf) for large objects (the model makes none).
    alloc_counts, free_counts = [*st.alloc_by_class, 0], [*st.free_by_class, 0]
    out: dict[str, Any] = {
        "/cgo/go-to-c-calls:calls": 0,
        "/cpu/classes/gc/mark/assist:cpu-seconds": c["assist"],
        "/cpu/classes/gc/mark/dedicated:cpu-seconds": c["dedicated"],
        "/cpu/classes/gc/mark/idle:cpu-seconds": c["idle_gc"],
        "/cpu/classes/gc/pause:cpu-seconds": c["pause"],
        "/cpu/classes/gc/total:cpu-seconds": gc_total,
        "/cpu/classes/idle:cpu-seconds": c["idle"],
        "/cpu/classes/scavenge/assist:cpu-seconds": c["scav_assist"],
        "/cpu/classes/scavenge/background:cpu-seconds": c["scav_bg"],
        "/cpu/classes/scavenge/total:cpu-seconds": scav_total,
        "/cpu/classes/total:cpu-seconds": gc_total + scav_total + c["user"] + c["idle"],
        "/cpu/classes/user:cpu-seconds": c["user"],
        "/gc/cleanups/executed:cleanups": ran_cleanups,
        "/gc/cleanups/queued:cleanups": ran_cleanups,
        "/gc/cycles/automatic:gc-cycles": rt.gc_automatic,
        "/gc/cycles/forced:gc-cycles": rt.gc_forced,
        "/gc/cycles/total:gc-cycles": cycles,
        "/gc/finalizers/executed:finalizers": ran_finalizers,
        "/gc/finalizers/queued:finalizers": ran_finalizers,
        "/gc/gogc:percent": gogc if gogc >= 0 else MAX_UINT64,
        "/gc/gomemlimit:bytes": rt.memlimit,
        "/gc/heap/allocs-by-size:bytes": _histogram(SIZE_BUCKETS, alloc_counts),
        "/gc/heap/allocs:bytes": st.alloc_bytes,
        "/gc/heap/allocs:objects": st.alloc_objects,
        "/gc/heap/frees-by-size:bytes": _histogram(SIZE_BUCKETS, free_counts),
        "/gc/heap/frees:bytes": st.free_bytes,
        "/gc/heap/frees:objects": st.free_objects,
        "/gc/heap/goal:bytes": min(goal_gc, goal_limit) if goal_limit > 0 else goal_gc,
        "/gc/heap/live:bytes": st.live_bytes,
        "/gc/heap/objects:objects": st.alloc_objects - st.free_objects,
        "/gc/heap/tiny/allocs:objects": st.tiny,
        "/gc/limiter/last-enabled:gc-cycle": 0,
        "/gc/pauses:seconds": _histogram(TIME_BUCKETS, pause_counts),
        "/gc/scan/globals:bytes": scan_globals,
        "/gc/scan/heap:bytes": st.heap_scanned,
        "/gc/scan/stack:bytes": scan_stack if cycles else 0,
        "/gc/scan/total:bytes": scan_globals + st.heap_scanned + (scan_stack if cycles else 0),
        "/gc/stack/starting-size:bytes": 2048,
        "/memory/classes/total:bytes": total_mem,
        "/sched/gomaxprocs:threads": rt.gomaxprocs,
        "/sched/goroutines-created:goroutines": 1 + system + st.goroutines_created,
        "/sched/goroutines/not-in-go:goroutines": 0,
        "/sched/goroutines/runnable:goroutines": 0,
        "/sched/goroutines/running:goroutines": 1,
        "/sched/goroutines/waiting:goroutines": goroutines - 1,
        "/sched/goroutines:goroutines": goroutines,
        "/sched/latencies:seconds": _histogram(TIME_BUCKETS, _one_bucket(st.latencies, LATENCY_BUCKET)),
        "/sched/pauses/stopping/gc:seconds": _histogram(TIME_BUCKETS, _one_bucket(st.pauses_gc, 1)),
        "/sched/pauses/stopping/other:seconds": _histogram(TIME_BUCKETS, _one_bucket(st.pauses_other, 1)),
        "/sched/pauses/total/gc:seconds": _histogram(TIME_BUCKETS, pause_counts),
        "/sched/pauses/total/other:seconds": _histogram(TIME_BUCKETS, _one_bucket(st.pauses_other, PAUSE_BUCKET)),
        "/sched/threads/total:threads": threads,
        "/sync/mutex/wait/total:seconds": 0.0,
    }
    out.update(memory)
    return out


def _default_value(kind: str, cumulative: bool) -> Any:
    """A metric the model has no bookkeeping for (the GODEBUG counters): nothing happened yet."""
    if kind == "float64":
        return 0.0
    if kind == "float64-histogram":
        return _histogram(TIME_BUCKETS, [0] * (len(TIME_BUCKETS) - 1))
    return 0


def read(rt: OracleRuntime, names: list[str] | None) -> dict[str, Any]:
    """One metrics.Read of ``names`` (every metric of the release for None)."""
    st = _state(rt)
    _advance(rt, st)
    known = _values(rt, st)
    if names is None:
        names = [str(d["name"]) for d in _all_metrics(rt)]
    out: dict[str, Any] = {}
    for n in names:
        facts = _spec_metric(rt, n)
        if facts is None:
            out[n] = {"kind": "bad"}  # metrics.Read reports KindBad for names it does not know
        elif n in known:
            out[n] = known[n]
        else:
            out[n] = _default_value(str(facts["value_kind"]), bool(facts.get("cumulative")))
    return out


@step("op:metrics.read")
def metrics_read(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    names = w.get("names")
    return read(rt, None if names is None else [str(n) for n in names])


@step("op:metrics.all")
def metrics_all(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": str(d["name"]),
            "kind": str(d["value_kind"]),
            "cumulative": bool(d.get("cumulative")),
            "description": str(d.get("description") or ""),
        }
        for d in _all_metrics(rt)
    ]


@step("runtime/metrics.All")
def all_call(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "Name": str(d["name"]),
            "Description": str(d.get("description") or ""),
            "Kind": KIND_NUMBER[str(d["value_kind"])],
            "Cumulative": bool(d.get("cumulative")),
        }
        for d in _all_metrics(rt)
    ]


def _empty_read_is_noop(rt: OracleRuntime) -> bool:
    """Whether Read on an empty slice returns quietly in this release (the spec's clause says since when)."""
    from rthooks.spec.load import default_spec

    item = default_spec().get("runtime/metrics.Read")
    for c in item.data.get("clauses") or []:
        if c["id"] == "empty-slice-noop":
            return bool(rt.release >= GoVersion.parse(c.get("since") or str(item.since)))
    return False


@step("runtime/metrics.Read")
def read_call(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    names = args[0] if args else None
    if not names:
        if _empty_read_is_noop(rt):
            return {}
        raise PanicError("runtime error: index out of range [0] with length 0", "runtime.boundsError")
    return read(rt, [str(n) for n in names])


_SELECT = re.compile(r"^\$([a-z_][a-z0-9_]*)\[(.+)\]$")


def _receiver(rt: OracleRuntime, arg: Any) -> tuple[str, Any]:
    """A metrics.Value receiver: (kind, value) for "$m[/name]", a metric name, or null (the zero Value)."""
    if arg is None:
        return "bad", None
    if isinstance(arg, str):
        m = _SELECT.match(arg)
        if m and isinstance(rt.bound.get(m.group(1)), dict):
            name = m.group(2)
            value = rt.bound[m.group(1)].get(name, {"kind": "bad"})
        else:
            name = arg
            value = read(rt, [name])[name]
        facts = _spec_metric(rt, name)
        if facts is None or value == {"kind": "bad"}:
            return "bad", None
        return str(facts["value_kind"]), value
    raise PanicError("bad arguments: the receiver must be a metrics.Value, a metric name or null", "string")


@step("runtime/metrics.Value.Kind")
def value_kind(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> int:
    return KIND_NUMBER[_receiver(rt, args[0] if args else None)[0]]


def _accessor(want: str) -> Any:
    def get(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> Any:
        kind, value = _receiver(rt, args[0] if args else None)
        if kind != want:
            what = {"uint64": "uint64", "float64": "float64", "float64-histogram": "Float64Histogram"}[want]
            raise PanicError(f"called {KIND_ACCESSOR[want]} on non-{what} metric value", "string")
        if want == "float64" and isinstance(value, float) and not math.isfinite(value):
            raise AssertionError("the model produced a non-finite float64 metric")
        return value

    return get


step("runtime/metrics.Value.Uint64")(_accessor("uint64"))
step("runtime/metrics.Value.Float64")(_accessor("float64"))
step("runtime/metrics.Value.Float64Histogram")(_accessor("float64-histogram"))


@step("op:memstats")
def memstats(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """runtime.ReadMemStats: the same bookkeeping as the metrics, mapped the way the runtime maps it.

    It stops the world once (a /sched/pauses/total/other sample) and flushes the allocation
    caches; the model's counters are always flushed.
    """
    st = _state(rt)
    _advance(rt, st)
    _flush(st)
    st.pauses_other += 1
    m = _values(rt, st)

    def mc(leaf: str) -> int:
        return int(m[f"/memory/classes/{leaf}:bytes"])

    heap_inuse = mc("heap/objects") + mc("heap/unused")
    heap_idle = mc("heap/free") + mc("heap/released")
    fields: dict[str, Any] = {
        "Alloc": mc("heap/objects"),
        "TotalAlloc": m["/gc/heap/allocs:bytes"],
        "Sys": m["/memory/classes/total:bytes"],
        "Lookups": 0,
        "Mallocs": m["/gc/heap/allocs:objects"] + m["/gc/heap/tiny/allocs:objects"],
        "Frees": m["/gc/heap/frees:objects"] + m["/gc/heap/tiny/allocs:objects"],
        "HeapAlloc": mc("heap/objects"),
        "HeapSys": heap_inuse + heap_idle,
        "HeapIdle": heap_idle,
        "HeapInuse": heap_inuse,
        "HeapReleased": mc("heap/released"),
        "HeapObjects": m["/gc/heap/objects:objects"],
        "StackInuse": mc("heap/stacks"),
        "StackSys": mc("heap/stacks") + mc("os-stacks"),
        "MSpanInuse": mc("metadata/mspan/inuse"),
        "MSpanSys": mc("metadata/mspan/inuse") + mc("metadata/mspan/free"),
        "MCacheInuse": mc("metadata/mcache/inuse"),
        "MCacheSys": mc("metadata/mcache/inuse") + mc("metadata/mcache/free"),
        "BuckHashSys": mc("profiling/buckets"),
        "GCSys": mc("metadata/other"),
        "OtherSys": mc("other"),
        "NextGC": m["/gc/heap/goal:bytes"],
        "NumGC": m["/gc/cycles/total:gc-cycles"],
        "NumForcedGC": m["/gc/cycles/forced:gc-cycles"],
        "GCCPUFraction": 0.0,
        "EnableGC": True,
        "DebugGC": False,
    }
    names = w.get("fields")
    if names is None:
        return fields
    out: dict[str, Any] = {}
    for n in names:
        if n not in fields:
            raise Unsupported(f"the oracle does not model MemStats.{n}")
        out[str(n)] = fields[str(n)]
    return out
