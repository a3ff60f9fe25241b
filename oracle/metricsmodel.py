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
import os
from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import gc, godebugops, heap, sched
from rthooks.oracle.registry import step
from rthooks.oracle.releases import in_spec
from rthooks.oracle.state import OracleRuntime, PanicError, Unsupported
from rthooks.protocol.refs import parse_ref
from rthooks.spec.load import default_spec

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
LATE_BUCKET = TIME_BUCKETS.index(float(2**20) * 1e-9)  # latencies of goroutines kept waiting (~1-2 ms)
LARGE_OBJECT = 32768  # larger objects get a span of their own and are counted at once
MSPAN_BYTES = 160  # one mspan structure
MCACHE_BYTES = 1168  # one mcache structure
ARENA_BYTES = 64 << 20  # heap arena size; each one mapped adds its metadata
ARENA_METADATA = 1_114_112
CHECKMARK_BITMAP = 1 << 20  # GODEBUG gccheckmark: one mark bit per heap word of an arena, mapped at its first check
TRACE_BUFFERS = 4 * 65536  # execution trace buffers while a trace runs
PROFILE_BUCKET = 400  # one heap-profile bucket (stack and record)
SCAN_GLOBAL, NOSCAN_GLOBAL = 32768 * 8, 8 << 20  # the driver's two big globals (metrics.globals)


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
    # Large objects (over 32 KiB): counted at once, each in its own span; freed by a cycle once dead.
    large: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # allocs, alloc bytes, frees, free bytes
    # The metrics.alloc objects kept under a name: (size class index or -1 for large, size, count, pointers).
    kept: dict[str, tuple[int, int, int, bool]] = field(default_factory=dict)
    noscan_live: int = 0  # live pointer-free bytes of kept objects, as of the last cycle
    # Time between cycles (the CPU classes' snapshots): wall seconds, busy P-seconds, assist seconds.
    pending_wall: float = 0.0
    pending_user: float = 0.0
    pending_assist: float = 0.0
    pending_scav_bg: float = 0.0  # background scavenging (after a cycle freed memory)
    pending_scav_assist: float = 0.0  # scavenging on the allocation path (over the memory limit)
    os_cpu: float = 0.01  # the process's OS-counted CPU time (metrics.rusage)
    released_extra: int = 0  # freed large-object pages the scavenger has returned
    unused_extra: int = 0  # free slots in spans kept in use by live neighbours
    pending_unused: dict[str, int] = field(default_factory=dict)  # kept name -> bytes its cycle will free
    holes: dict[str, int] = field(default_factory=dict)  # kept name -> freed bytes left in its spans
    max_procs: int = 0
    max_spans: int = 0
    heap_peak: int = 0
    prof_buckets: int = 0
    trace_buffers: int = 0
    mutex_wait: float = 0.0
    late_latencies: int = 0  # scheduling latencies of a millisecond or more (metrics.sched.delay)
    parked: int = 0  # metrics.park goroutines (waiting)
    parked_stack: int = 0
    in_syscall: int = 0  # metrics.syscall.start goroutines (not in Go)
    runnable: int = 0  # goroutines just started and not yet run (inside metrics.runnable only)
    churn_gc_s: float = 0.0  # seconds of back-to-back GC under a memory limit below the live heap
    limiter_last: int = 0  # the cycle in which the GC CPU limiter last turned on
    checkmark_arenas: int = 0  # heap arenas the gccheckmark verification pass has a bitmap for
    # The slice each kept metrics.alloc name holds its objects in: name -> (size class index or -1, bytes).
    containers: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def alloc_objects(self) -> int:
        return sum(self.alloc_by_class) + self.large[0]

    @property
    def free_objects(self) -> int:
        return sum(self.free_by_class) + self.large[2]

    @property
    def alloc_bytes(self) -> int:
        return sum(n * SIZE_CLASSES[i] for i, n in enumerate(self.alloc_by_class)) + self.large[1]

    @property
    def free_bytes(self) -> int:
        return sum(n * SIZE_CLASSES[i] for i, n in enumerate(self.free_by_class)) + self.large[3]


# os-stacks before any goroutine of a case under GODEBUG=efence=1 (go1.21.13: 192512, go1.27.3: 245760 bytes).
EFENCE_OS_STACKS = 245_760


def _state(rt: OracleRuntime) -> MetricsState:
    st: MetricsState = rt.area("metrics", MetricsState)
    return st


def _spec_metric(rt: OracleRuntime, name: str) -> dict[str, Any] | None:
    """The metric's facts as of the modelled release, or None if that release has no such metric."""
    item = default_spec().items.get(f"metric:{name}")
    if item is None or item.kind != "metric" or not item.exists_in(rt.release):
        return None
    facts: dict[str, Any] = item.at(rt.release)
    return facts


def _all_metrics(rt: OracleRuntime) -> list[dict[str, Any]]:
    """The release's metrics, as metrics.All() lists them: sorted by name."""
    items = [i.at(rt.release) for i in default_spec().in_release(rt.release, ["metric"])]
    return sorted(items, key=lambda d: str(d["name"]))


def _live_kept(rt: OracleRuntime, st: MetricsState) -> dict[str, tuple[int, int, int, bool]]:
    """The kept metrics.alloc objects not yet dropped (the heap area owns the names), and the slices that hold
    them (under ``name/slice``)."""
    objs = heap.heap(rt).objects
    live = {n: k for n, k in st.kept.items() if n in objs and objs[n].dropped_at is None}
    for n, (cls, size) in st.containers.items():
        if n in live:
            live[f"{n}/slice"] = (cls, size, 1, True)
    return live


SLICE_HEADER = 24  # a []byte or []*int as an element of the driver's [][]byte / [][]*int (3 words, 64-bit)
PAGE = 8192


MALLOC_HEADER = 8  # mallocHeaderSize (runtime/mbitmap.go, Go 1.22+)
MIN_SIZE_FOR_MALLOC_HEADER = 512  # minSizeForMallocHeader on 64-bit ports: larger pointerful objects carry one


def malloc_header(rt: OracleRuntime, size: int, pointers: bool) -> int:
    """The bytes of malloc header a small object of ``size`` bytes carries: 8 for a pointerful object over
    512 bytes from the release the spec dates the header to (metric:/memory/classes/heap/objects:bytes
    #malloc-header), else none; large objects keep their type in their span instead."""
    big = MIN_SIZE_FOR_MALLOC_HEADER < size <= LARGE_OBJECT - MALLOC_HEADER
    if pointers and big and _clause_live(rt, "metric:/memory/classes/heap/objects:bytes", "malloc-header"):
        return MALLOC_HEADER
    return 0


def _rounded(size: int, header: int = 0) -> int:
    """What the allocator hands out for ``size`` bytes (runtime/msize.go roundupsize): the size class of the
    size and its malloc header (less the header), or whole pages for a large object."""
    if size + header <= LARGE_OBJECT:
        return SIZE_CLASSES[_size_class(size + header)] - header
    return -(-size // PAGE) * PAGE


def append_cap(rt: OracleRuntime, n: int, elem: int) -> int:
    """The capacity a slice of pointerful elements reaches when ``n`` of ``elem`` bytes are appended one by one
    to a nil slice: doubling up to 256 elements, then growing by (cap + 768) / 4 (runtime/slice.go
    nextslicecap, go1.20+), each time rounded up to what the allocator hands out (growslice's roundupsize,
    which leaves room for the malloc header where there is one). The model's size classes are a subset of the
    runtime's, so capacities past 512 bytes are close, not exact (go1.21.13, 131072 appends of a []byte: cap
    153941 in both; go1.27.3: 143018, the model 153941)."""
    cap = 0
    while cap < n:
        new = 2 * cap if cap >= 1 else 1
        if cap >= 256:
            new = cap
            while new < cap + 1:
                new += (new + 768) >> 2
        cap = max(new, cap + 1)
        cap = _rounded(cap * elem, malloc_header(rt, cap * elem, True)) // elem
    return cap


def _advance(rt: OracleRuntime, st: MetricsState) -> None:
    """Bring the bookkeeping up to date: the read's own allocation, then any completed GC cycles."""
    st.latencies += 1
    cycles = rt.gc_forced + rt.gc_automatic
    for _ in range(st.seen_cycles, cycles):  # a case can make this many (metrics.churn): the deadline ends it
        rt.check_deadline()
        _flush(st)
        live = _live_kept(rt, st)
        # A cycle frees every object but the live set: the model's program keeps a fixed shape,
        # plus the metrics.alloc objects still kept.
        keep = {0: LIVE_OBJECTS_AFTER_GC // 2, 3: LIVE_OBJECTS_AFTER_GC // 2, 29: LIVE_AFTER_GC // 4096}
        large_live, large_live_bytes, noscan = 0, 0, 0
        for cls, size, count, pointers in live.values():
            if cls < 0:
                large_live += count
                large_live_bytes += count * size
            else:
                keep[cls] = keep.get(cls, 0) + count
            noscan += 0 if pointers else count * size
        for i in range(len(SIZE_CLASSES)):
            alive = st.alloc_by_class[i] - st.free_by_class[i]
            st.free_by_class[i] += max(0, alive - keep.get(i, 0))
        freed_large = st.large[1] - st.large[3] - large_live_bytes
        st.large[2] = st.large[0] - large_live
        st.large[3] = st.large[1] - large_live_bytes
        # The scavenger returns the freed large objects' pages at once.
        st.released_extra += max(0, freed_large)
        # Freed slots between live neighbours stay in their spans (heap/unused) while those live.
        for name in list(st.holes):
            if name not in live:  # the neighbours died too: the spans are free
                st.unused_extra -= st.holes.pop(name)
        for name in list(st.pending_unused):
            n = st.pending_unused.pop(name)
            if name in live:
                st.holes[name] = n
                st.unused_extra += n
        st.noscan_live = noscan
        if _checkmark(rt):
            # The verification pass re-marks the heap into a bitmap per arena (runtime/mcheckmark.go).
            arenas = 1 + max(st.heap_peak, st.alloc_bytes - st.free_bytes) // ARENA_BYTES
            st.checkmark_arenas = max(st.checkmark_arenas, arenas)
        st.live_bytes = st.alloc_bytes - st.free_bytes
        st.heap_scanned = max(0, st.live_bytes - noscan)
        st.pauses_gc += 2  # sweep termination and mark termination stop the world
        procs = rt.gomaxprocs
        c = st.cpu
        dt = 0.003 + st.pending_wall
        gc_inc = {"dedicated": 0.0004, "idle_gc": 0.0001, "pause": 0.00002 * procs, "assist": st.pending_assist}
        user_inc = 0.001 + st.pending_user
        for k, v in gc_inc.items():
            c[k] += v
        c["scav_bg"] += 0.00001 + st.pending_scav_bg
        c["scav_assist"] += st.pending_scav_assist
        st.pending_scav_bg = 0.0005 if freed_large > 0 else 0.0  # the scavenger returns them next
        st.pending_scav_assist = 0.0
        c["user"] += user_inc
        c["idle"] += max(0.0, procs * dt - user_inc - sum(gc_inc.values()) - 0.00001 - 0.0005 - 0.001)
        st.pending_wall = st.pending_user = st.pending_assist = 0.0
    st.seen_cycles = max(st.seen_cycles, cycles)
    for cls, n in READ_ALLOCS:  # the read's own allocations go to the caches after it
        st.cached_by_class[cls] += n
    st.cached_tiny += READ_TINY
    parked = _parked(rt)
    st.goroutines_created += max(0, parked - st.seen_parked)
    st.seen_parked = parked
    st.max_procs = max(st.max_procs, rt.gomaxprocs)
    st.heap_peak = max(st.heap_peak, st.alloc_bytes - st.free_bytes)
    st.max_spans = max(st.max_spans, st.large[0] - st.large[2])


def _checkmark(rt: OracleRuntime) -> bool:
    """GODEBUG gccheckmark (read once at start-up): every cycle ends with a second, stop-the-world mark."""
    return godebugops.startup_int(rt, "gccheckmark") > 0


def _ran_counts(rt: OracleRuntime) -> tuple[int, int]:
    """Finalizers and cleanups that have run so far, as the heap area's event list has them."""
    if "heap" not in rt.areas:
        return 0, 0
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
    """Whether the modelled release has the spec clause (its dates, or its item's)."""
    return in_spec(rt.release, f"{item_id}#{clause}")


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
    goroutines = user + system + st.parked + st.in_syscall + st.runnable
    threads = max(2, int(getattr(rt.areas.get("goroutines"), "threads", 4)))
    gogc = rt.gcpercent
    trace = rt.areas.get("trace")
    tracing = trace is not None and bool(trace.enabled())
    spans = st.large[0] - st.large[2]
    # Goroutine stacks: from the stack pool (heap/stacks), or with GODEBUG=efence=1 mapped page by page
    # from the OS for each goroutine (runtime/stack.go stackalloc: "debug.efence != 0 ... sysAlloc(n,
    # &memstats.stacks_sys)"), which /memory/classes/os-stacks counts; heap/stacks keeps the g0 spans.
    stacks = (_parked(rt) + st.in_syscall) * 2048 + st.parked_stack
    efence = godebugops.startup_int(rt, "efence") != 0
    os_stacks = EFENCE_OS_STACKS + 2 * stacks if efence else 0  # go1.27.3: 100 parked 32 KiB stacks added 6144000
    memory = {
        "/memory/classes/heap/free:bytes": 256 * 1024,
        "/memory/classes/heap/objects:bytes": in_objects,
        "/memory/classes/heap/released:bytes": (3 << 20) + st.released_extra,
        "/memory/classes/heap/stacks:bytes": 32 * 1024 if efence else 320 * 1024 + stacks,
        "/memory/classes/heap/unused:bytes": 600_000 + st.unused_extra,
        "/memory/classes/metadata/mcache/free:bytes": 11_680 + (st.max_procs - rt.gomaxprocs) * MCACHE_BYTES,
        "/memory/classes/metadata/mcache/inuse:bytes": rt.gomaxprocs * MCACHE_BYTES,
        "/memory/classes/metadata/mspan/free:bytes": 9_600 + (st.max_spans - spans) * MSPAN_BYTES,
        "/memory/classes/metadata/mspan/inuse:bytes": 23_040 + spans * MSPAN_BYTES,
        "/memory/classes/metadata/other:bytes": 1_352_976
        + (st.heap_peak // ARENA_BYTES) * ARENA_METADATA
        + st.checkmark_arenas * CHECKMARK_BITMAP,
        "/memory/classes/os-stacks:bytes": os_stacks,
        "/memory/classes/other:bytes": 782_674 + (TRACE_BUFFERS if tracing else 0),
        "/memory/classes/profiling/buckets:bytes": 4_096 + st.prof_buckets * PROFILE_BUCKET,
    }
    total_mem = sum(memory.values())
    scan_globals, scan_stack = 176_330 + SCAN_GLOBAL, 8_192
    goal = heap_goal(
        gogc,
        rt.memlimit,
        live=st.live_bytes,
        stack_scan=scan_stack if cycles else 0,
        globals_scan=scan_globals,
        non_heap=total_mem
        - memory["/memory/classes/heap/released:bytes"]
        - memory["/memory/classes/heap/free:bytes"]
        - in_objects,
        mapped_ready=total_mem - memory["/memory/classes/heap/released:bytes"],
    )
    # The model runs a queued finalizer or cleanup at once, so queued equals executed (no backlog).
    ran_finalizers, ran_cleanups = _ran_counts(rt)
    pause_counts = _one_bucket(st.pauses_gc, PAUSE_BUCKET)
    # One bucket per size class, then [largest class + 1, +Inf) for large objects.
    alloc_counts, free_counts = [*st.alloc_by_class, st.large[0]], [*st.free_by_class, st.large[2]]
    latencies = _one_bucket(st.latencies, LATENCY_BUCKET)
    latencies[LATE_BUCKET] += st.late_latencies
    out: dict[str, Any] = {
        # runtime/metrics.go computes it as uint64(NumCgoCall()): the calls the cgo ops counted (sched.count_cgo_calls)
        "/cgo/go-to-c-calls:calls": sched.cgo_calls(rt),
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
        "/gc/heap/goal:bytes": goal,
        "/gc/heap/live:bytes": st.live_bytes,
        "/gc/heap/objects:objects": st.alloc_objects - st.free_objects,
        "/gc/heap/tiny/allocs:objects": st.tiny,
        "/gc/limiter/last-enabled:gc-cycle": st.limiter_last,
        "/gc/pauses:seconds": _histogram(TIME_BUCKETS, pause_counts),
        "/gc/scan/globals:bytes": scan_globals,
        "/gc/scan/heap:bytes": st.heap_scanned,
        "/gc/scan/stack:bytes": scan_stack if cycles else 0,
        "/gc/scan/total:bytes": scan_globals + st.heap_scanned + (scan_stack if cycles else 0),
        "/gc/stack/starting-size:bytes": 2048,
        "/memory/classes/total:bytes": total_mem,
        "/sched/gomaxprocs:threads": rt.gomaxprocs,
        "/sched/goroutines-created:goroutines": 1 + system + st.goroutines_created,
        "/sched/goroutines/not-in-go:goroutines": st.in_syscall,
        "/sched/goroutines/runnable:goroutines": st.runnable,
        "/sched/goroutines/running:goroutines": 1,
        "/sched/goroutines/waiting:goroutines": goroutines - 1 - st.in_syscall - st.runnable,
        "/sched/goroutines:goroutines": goroutines,
        "/sched/latencies:seconds": _histogram(TIME_BUCKETS, latencies),
        "/sched/pauses/stopping/gc:seconds": _histogram(TIME_BUCKETS, _one_bucket(st.pauses_gc, 1)),
        "/sched/pauses/stopping/other:seconds": _histogram(TIME_BUCKETS, _one_bucket(st.pauses_other, 1)),
        "/sched/pauses/total/gc:seconds": _histogram(TIME_BUCKETS, pause_counts),
        "/sched/pauses/total/other:seconds": _histogram(TIME_BUCKETS, _one_bucket(st.pauses_other, PAUSE_BUCKET)),
        "/sched/threads/total:threads": threads,
        "/sync/mutex/wait/total:seconds": st.mutex_wait,
    }
    out.update(memory)
    return out


HEAP_MINIMUM = 4 << 20  # defaultHeapMinimum (runtime/mgcpacer.go), the heap minimum at GOGC=100
LIMIT_HEADROOM_PERCENT = 3  # memoryLimitHeapGoalHeadroomPercent (runtime/mgcpacer.go)
LIMIT_MIN_HEADROOM = 1 << 20  # memoryLimitMinHeapGoalHeadroom (runtime/mgcpacer.go)


def heap_goal(
    gogc: int, limit: int, *, live: int, stack_scan: int, globals_scan: int, non_heap: int, mapped_ready: int
) -> int:
    """The pacer's heap goal (runtime/mgcpacer.go, the same in go1.21 and go1.27), from the model's accounting.

    GOGC's goal (gcControllerState.commit): ``live + (live + stack scan + globals scan) * GOGC / 100``, at
    least the heap minimum ``4 MiB * GOGC / 100`` (setGCPercent); none with GOGC off. The memory limit's goal
    (memoryLimitHeapGoal): the limit less the non-heap memory (mapped and not released, less free heap and
    heap objects) and less any overage of mapped memory over the limit, then less a headroom of 3% (at least
    1 MiB), never below the live heap. The goal is the smaller of the two (heapGoalInternal). What can lift
    GOGC's goal a little in the runtime (a sweep distance, the runway over the trigger) is not modelled: the
    model's collections always finish sweeping, as runtime.GC's do.
    """
    goal = MAX_UINT64
    if gogc >= 0:
        goal = max(live + (live + stack_scan + globals_scan) * gogc // 100, HEAP_MINIMUM * gogc // 100)
    overage = max(0, mapped_ready - limit)
    if non_heap + overage >= limit:
        by_limit = live
    else:
        by_limit = limit - (non_heap + overage)
        headroom = max(by_limit // 100 * LIMIT_HEADROOM_PERCENT, LIMIT_MIN_HEADROOM)
        by_limit = headroom if by_limit < headroom or by_limit - headroom < headroom else by_limit - headroom
        by_limit = max(by_limit, live)
    return min(goal, by_limit)


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
    known.update(sched.nondefault_events(rt))  # the GODEBUG counters the scheduler model increments
    for key, count in godebugops.non_default_counts(rt).items():  # and those the godebug and lib ops increment
        name = f"/godebug/non-default-behavior/{key}:events"
        known[name] = int(known.get(name, 0)) + count
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


@step("op:metrics.read.reuse")
def metrics_read_reuse(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """Two reads into one slice with runtime.GC between; the gc runtime writes a histogram's second
    value into the *Float64Histogram of the first (runtime/metrics.go float64HistOrInit reuses it)."""
    names = [str(n) for n in w.get("names") or []]
    first = read(rt, names)
    gc.collect(rt)
    second = read(rt, names)
    kinds = {str(d["name"]): str(d["value_kind"]) for d in _all_metrics(rt)}
    return {
        "first": first,
        "second": second,
        "in_place": {n: True for n in names if kinds.get(n) == "float64-histogram"},
    }


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
    return in_spec(rt.release, "runtime/metrics.Read#empty-slice-noop")


@step("runtime/metrics.Read")
def read_call(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    names = args[0] if args else None
    if not names:
        if _empty_read_is_noop(rt):
            return {}
        raise PanicError("runtime error: index out of range [0] with length 0", "runtime.boundsError")
    return read(rt, [str(n) for n in names])


def _selected(rt: OracleRuntime, arg: str) -> tuple[str, dict[str, Any]] | None:
    """For "$m[/name:unit]" with $m a metrics.Read result: the metric name and that result; else None."""
    ref = parse_ref(arg)
    key = ref.single_key if ref is not None else None
    if ref is None or key is None:
        return None
    read = rt.bound.get(ref.name)
    return (key, read) if isinstance(read, dict) else None


def _receiver(rt: OracleRuntime, arg: Any) -> tuple[str, Any]:
    """A metrics.Value receiver: (kind, value) for "$m[/name]", a metric name, or null (the zero Value)."""
    if arg is None:
        return "bad", None
    if isinstance(arg, str):
        sel = _selected(rt, arg)
        if sel is not None:
            name = sel[0]
            value = sel[1].get(name, {"kind": "bad"})
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
    ring = gc.history(rt)
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
        # The pause ring runtime.ReadMemStats and runtime/debug.ReadGCStats share (oracle/gc.py).
        "LastGC": ring.last_gc_unix,
        "PauseTotalNs": ring.total_ns,
        "PauseNs": list(ring.pause_ns),
        "PauseEnd": list(ring.pause_end),
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


# --- ops that give the metrics something of known size (harness/driver/ops_metrics_*.go) -------


def _ncpu(rt: OracleRuntime) -> int:
    launch = rt.setup.get("launch") or {}
    return len(launch["cpus"]) if launch.get("cpus") else len(os.sched_getaffinity(0))


def _size_class(size: int) -> int:
    return next(i for i, c in enumerate(SIZE_CLASSES) if c >= size)


@step("op:metrics.alloc")
def metrics_alloc(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    """count objects of bytes each: large ones counted at once, small ones when their span is handed
    back, pointer-free ones under 16 bytes packed four (or so) to a 16-byte tiny block."""
    st = _state(rt)
    size, count = int(w.get("bytes", 64)), int(w.get("count", 1))
    pointers, every = bool(w.get("pointers", False)), int(w.get("keep_every", 1))
    if size < 1 or count < 0 or every < 1:
        raise Unsupported("bad arguments: op metrics.alloc: bytes and keep_every must be positive")
    keep = w.get("keep")
    kept = -(-count // every) if keep is not None else 0
    if size > LARGE_OBJECT:
        cls, slot = -1, size
        st.large[0] += count
        st.large[1] += count * size
    elif size < 16 and not pointers:
        cls, slot = 1, 16
        blocks = -(-count // (16 // size))
        st.cached_by_class[cls] += blocks
        st.cached_tiny += count - blocks
        kept = -(-kept // (16 // size))
    else:
        cls = _size_class(size + malloc_header(rt, size, pointers))
        slot = SIZE_CLASSES[cls]
        st.cached_by_class[cls] += count
    if keep is not None:
        name = str(keep)
        st.kept[name] = (cls, slot, kept, pointers)
        # The driver keeps them in a slice it appends to one by one: its last backing array stays live with them.
        holder = append_cap(rt, kept, SLICE_HEADER) * SLICE_HEADER if kept else 0
        holder += malloc_header(rt, holder, True)
        if holder > LARGE_OBJECT:
            st.large[0] += 1
            st.large[1] += holder
            st.containers[name] = (-1, holder)
        elif holder:
            st.cached_by_class[_size_class(holder)] += 1
            st.containers[name] = (_size_class(holder), holder)
        obj = heap.Obj()  # the heap area owns the name, so that op drop forgets it
        if hasattr(obj, "bytes"):
            obj.bytes = slot * kept
        heap.simulate(rt).objects[name] = obj
        if every > 1 and cls >= 0:
            st.pending_unused[name] = (count - kept) * slot
    st.heap_peak = max(st.heap_peak, st.alloc_bytes - st.free_bytes + count * slot)
    if rt.memlimit < st.alloc_bytes - st.free_bytes + count * slot:
        # Mapped memory above the limit: each allocation scavenges on the allocation path.
        st.pending_scav_assist += 0.00001 * count
    if rt.gcpercent >= 0 and count * size >= (4 << 20) * max(rt.gcpercent, 1) // 100:
        # Allocating past the heap goal starts a cycle, and the allocating goroutine assists it.
        rt.gc_automatic += 1
        st.pending_assist += 0.0005
    return {"bytes": size * count, "count": count, "kept": size * kept, "dropped": size * (count - kept)}


@step("op:metrics.sleep")
def metrics_sleep(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> Any:
    st = _state(rt)
    d = float(w.get("ms", 0)) / 1000
    if not w.get("gc"):
        st.pending_wall += d
        return d
    names = w.get("names")
    names = None if names is None else [str(n) for n in names]
    gc.collect(rt)
    before = read(rt, names)
    st.pending_wall += d
    st.os_cpu += 0.001
    gc.collect(rt)
    after = read(rt, names)
    return {"slept": d, "wall": d + 0.004, "before": before, "after": after}


@step("op:metrics.spin")
def metrics_spin(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, float]:
    st = _state(rt)
    d, n = float(w.get("ms", 0)) / 1000, int(w.get("goroutines", 1))
    st.pending_wall += d
    st.pending_user += min(n, rt.gomaxprocs) * d
    st.os_cpu += min(n, rt.gomaxprocs, _ncpu(rt)) * d
    st.goroutines_created += n
    return {"each": d, "wall": d + 0.001}


@step("op:metrics.rusage")
def metrics_rusage(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> float:
    st = _state(rt)
    st.os_cpu += 0.0001
    return st.os_cpu


def _bound_float(b: Any) -> float:
    if isinstance(b, dict):
        return {"+Inf": math.inf, "-Inf": -math.inf}.get(str(b.get("float")), math.nan)
    return float(b)


def _histogram_arg(rt: OracleRuntime, arg: Any) -> dict[str, Any]:
    if isinstance(arg, str):
        sel = _selected(rt, arg)
        if sel is not None:
            arg = sel[1].get(sel[0])
    if not isinstance(arg, dict) or "counts" not in arg:
        raise Unsupported('bad arguments: op metrics.histogram.sum: with.histogram must be "$m[/name]" of a histogram')
    return arg


@step("op:metrics.histogram.sum")
def metrics_histogram_sum(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """count, bounds of the samples' sum (lo, hi) and tail counts of a histogram read earlier."""
    h = _histogram_arg(rt, w.get("histogram"))
    counts, buckets = [int(c) for c in h["counts"]], [_bound_float(b) for b in h["buckets"]]
    at, least = w.get("at"), w.get("min")
    count, lo, hi = 0, 0.0, 0.0
    tail = [0] * len(counts)
    for i in range(len(counts) - 1, -1, -1):
        c, low, up = counts[i], buckets[i], buckets[i + 1]
        tail[i] = c + (tail[i + 1] if i + 1 < len(counts) else 0)
        if at is not None and not (low <= float(at) < up):
            continue
        if least is not None and low < float(least):
            continue
        up = low if math.isinf(up) else up
        low = 0.0 if low < 0 else low
        count += c
        lo += c * low
        hi += c * max(up, 0.0)
    return {"count": count, "lo": lo, "hi": hi, "tail": tail}


@step("op:metrics.memstats.read")
def metrics_memstats_read(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """ReadMemStats, then Read right after it: nothing moves in between in the model."""
    fields = [str(f) for f in w.get("fields") or []]
    names = [str(n) for n in w.get("names") or []]
    ms = memstats(rt, [], {"fields": fields})
    return {"memstats": ms, "metrics": read(rt, names), "tries": 1, "stable": True}


@step("op:metrics.mutex.contend")
def metrics_mutex_contend(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    st = _state(rt)
    n, hold = int(w.get("goroutines", 128)), float(w.get("hold_ms", 5)) / 1000
    st.mutex_wait += n * hold  # each waited at least hold; sampling keeps the expected total
    st.pending_wall += hold
    st.goroutines_created += n


@step("op:metrics.lock.contend")
def metrics_lock_contend(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    st = _state(rt)
    n, gcs = int(w.get("goroutines", 16)), int(w.get("gcs", 20))
    for _ in rt.loop(gcs):
        gc.collect(rt)
    if _clause_live(rt, "metric:/sync/mutex/wait/total:seconds", "includes-runtime-locks"):
        st.mutex_wait += 0.01  # waits for the GC's and scheduler's runtime locks
    st.goroutines_created += n


def _stack_size(kib: int) -> int:
    """A goroutine's stack after frames of kib KiB: the 2 KiB start, doubled until they fit."""
    size = 2048
    while size < kib * 1024 + 1024:
        size *= 2
    return size


@step("op:metrics.park")
def metrics_park(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    st = _state(rt)
    n, kib = int(w.get("n", 10)), int(w.get("stack_kib", 0))
    st.parked += n
    st.parked_stack += n * (_stack_size(kib) - 2048)
    st.goroutines_created += n
    return {"n": n, "stack_bytes": n * kib * 1024}


@step("op:metrics.unpark")
def metrics_unpark(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    st = _state(rt)
    st.parked = st.parked_stack = 0


@step("op:metrics.runnable")
def metrics_runnable(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    st = _state(rt)
    n = int(w.get("n", 10))
    st.goroutines_created += n
    st.runnable = n
    try:
        return read(rt, [str(x) for x in w.get("names") or []])
    finally:
        st.runnable = 0


@step("op:metrics.sched.delay")
def metrics_sched_delay(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    st = _state(rt)
    n, spin = int(w.get("n", 100)), float(w.get("spin_ms", 5)) / 1000
    st.goroutines_created += n
    st.late_latencies += n // 8 + 1  # one goroutine in 8 is tracked
    st.pending_wall += spin
    st.pending_user += spin
    return n


@step("op:metrics.globals")
def metrics_globals(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, int]:
    return {"scan": SCAN_GLOBAL, "noscan": NOSCAN_GLOBAL}


@step("op:metrics.profile.buckets")
def metrics_profile_buckets(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    st = _state(rt)
    n = int(w.get("n", 1000))
    st.prof_buckets = max(st.prof_buckets, min(n, 20))  # 20 distinct call stacks
    st.cached_by_class[_size_class(64)] += n


@step("op:metrics.syscall.start")
def metrics_syscall_start(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    st = _state(rt)
    n = int(w.get("n", 3))
    st.in_syscall += n
    st.goroutines_created += n
    return n


@step("op:metrics.syscall.stop")
def metrics_syscall_stop(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    _state(rt).in_syscall = 0


@step("op:metrics.churn")
def metrics_churn(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """Garbage on top of a live heap: under a memory limit below that heap the GC runs back to back,
    and once its CPU time exceeds the rest by a full bucket (one CPU-second per P) the limiter turns on."""
    st = _state(rt)
    live, d = int(w.get("live_kib", 8192)) * 1024, float(w.get("ms", 100)) / 1000
    st.cached_by_class[_size_class(512)] += 1000
    st.pending_wall += d
    if rt.memlimit < live:
        # The model's steps run once (it ignores until), so it churns as long as the limiter takes.
        cycles = max(1, int(max(d, 1.0 * rt.gomaxprocs) * 50))
        rt.gc_automatic += cycles
        st.churn_gc_s += max(d, 1.0 * rt.gomaxprocs)
        st.limiter_last = rt.gc_forced + rt.gc_automatic
    else:
        st.pending_user += d
    names = w.get("names")
    return read(rt, None if names is None else [str(n) for n in names])
