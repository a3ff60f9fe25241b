"""The metrics area: a state machine over the collector's and the memory's setters and the metrics they move.

The machine calls SetGCPercent, SetMemoryLimit and GOMAXPROCS, runs ``runtime.GC``, allocates
(``metrics.alloc``: garbage, or objects kept under a name that ``drop`` forgets later) and reads the metrics
those touch (``metrics.read``): ``/gc/gogc:percent``, ``/gc/gomemlimit:bytes``, ``/sched/gomaxprocs:threads``,
the cycle counters, the heap goal and live heap, the scan sizes and every ``/memory/classes/`` metric (names
from spec/metrics.yaml for the release).

A read is compared by :data:`READ`, not by equality: what the setters determine exactly (GOGC, the memory
limit, GOMAXPROCS, the forced cycles) must be equal; what the collector decides is held to the documented
relations inside each run (cycles only grow and total = automatic + forced; the memory classes sum to their
total; the scan total is the sum of its parts) and to the heap goal's formula from the runtime's pacer
(runtime/mgcpacer.go, the same in go1.21 and go1.27): with GOGC = p the goal is
``live + (live + stack scan + globals scan) * p / 100``, at least the heap minimum ``4 MiB * p / 100``;
a memory limit L caps it at ``(L - non-heap memory) - headroom``, where the non-heap memory is
``total - released - free - heap objects`` (the memory classes of the same read) and the headroom
``max(3%, 1 MiB)``. Each run's goal is held to the formula of its own read; between the runs the goal and the
live heap are compared with a stated tolerance (:data:`ACROSS`), since the oracle's live heap is a model.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from rthooks.goversion import GoVersion
from rthooks.harness.fuzz._strategies import Program, Relation
from rthooks.harness.fuzz.areas import Area
from rthooks.harness.fuzz.areas.finalizers import ModelProgram
from rthooks.spec.load import Spec

MIB = 1 << 20
MAX_INT64 = (1 << 63) - 1
HEAP_MINIMUM = 4 * MIB  # defaultHeapMinimum (runtime/mgcpacer.go) for GOGC=100, scaled by GOGC/100
LIMIT_MIN_HEADROOM = MIB  # memoryLimitMinHeapGoalHeadroom
LIMIT_HEADROOM = Fraction(3, 100)  # memoryLimitHeapGoalHeadroomPercent
# What can lift the GOGC goal above its formula (runtime/mgcpacer.go heapGoalInternal), beyond the heap in use:
# a sweep distance of sweepMinHeapDistance (1 MiB) over the heap at the last commit, the 64 KiB runway over the
# trigger; plus a few KiB for the allocations between the pacer's update and the read.
GOAL_SLACK = MIB + (64 << 10) + (16 << 10)

#: Narrowed domains of the area, each with its reason (the debug area draws every setter over its whole
#: range: these ranges are for the goal's formula, whose relations are stated with small integer multiples).
DOMAINS: dict[str, tuple[tuple[int, ...], str]] = {
    "runtime/debug.SetGCPercent": (
        (-1, 10, 20, 25, 50, 75, 100, 150, 200, 300, 400, 800),
        "GOGC = p enters the goal as p/100, and a relation states it with integer multiples of the metrics "
        "(b*goal = (a+b)*live + a*(stack+globals) for p/100 = a/b): percentages with small a and b keep those "
        "lists short. GOGC=0 is left out: the collector then runs at every allocation and a program's timing, "
        "not its result, is what differs",
    ),
    "runtime/debug.SetMemoryLimit": (
        (-1, MAX_INT64, 1 << 40, 512 * MIB, 128 * MIB, 64 * MIB),
        "limits at or below the memory a program needs (a live heap of up to 24 MiB and some 5-10 MiB of "
        "runtime overhead) make the collector run back to back (debug.SetMemoryLimit#low-limit-progress), so "
        "how many cycles run is the host's timing; -1 queries the limit and is drawn too",
    ),
    "runtime.GOMAXPROCS": ((0, 1, 2, 4), "a few Ps (0 queries): the count only moves the gomaxprocs metric"),
}

_ACROSS_REASON = (
    "the oracle's live heap and non-heap memory are a model of the driver's (go1.27.3 after one runtime.GC: "
    "live 137448 and 137432 bytes in two runs, the oracle 4160; non-heap memory 4.7-5.4 MiB against the "
    "oracle's 3.0 MiB), so across runs the goal is compared within max(4 MiB, 5%) and the live heap within "
    "max(1 MiB, 5%); each run's own goal is held exactly to the formula of its own read"
)
_READ_REASON = (
    "what the collector decides (automatic cycles, the live heap, the heap goal, the memory classes) depends "
    "on the allocations of the driver and the runtime themselves: a read is compared by equality only where "
    "the setters decide (GOGC, the memory limit, GOMAXPROCS, forced cycles) and otherwise by the documented "
    "relations within each run (go1.27.3, GOGC=50, 8 MB kept, one GC: goal 12798301 = live 8383088 + "
    "(8383088 + stack 3736 + globals 443602) * 50 / 100; memory limit 96 MiB, GOGC off: goal 92443368 = "
    "(limit - (total - released - free - objects)) - 3%, in both of two runs) and across runs within a tolerance"
)
READ = Relation("metrics-read", _READ_REASON, lambda ref, v: [])
ACROSS = Relation("metrics-across", _ACROSS_REASON, lambda ref, v: [])


def _names(spec: Spec, go: GoVersion) -> tuple[str, ...]:
    """The metrics a read takes: the setters' gauges, the cycle counters, the goal's inputs and every memory
    class, as far as the release has them."""
    wanted = [
        "/gc/gogc:percent",
        "/gc/gomemlimit:bytes",
        "/sched/gomaxprocs:threads",
        "/gc/cycles/total:gc-cycles",
        "/gc/cycles/forced:gc-cycles",
        "/gc/cycles/automatic:gc-cycles",
        "/gc/heap/goal:bytes",
        "/gc/heap/live:bytes",
        "/gc/scan/stack:bytes",
        "/gc/scan/globals:bytes",
        "/gc/scan/heap:bytes",
        "/gc/scan/total:bytes",
    ]
    classes = sorted(
        it.data["name"] for it in spec.in_release(go, ["metric"]) if it.data["name"].startswith("/memory/classes/")
    )
    have = {it.data["name"] for it in spec.in_release(go, ["metric"])}
    return tuple(n for n in [*wanted, *classes] if n in have)


def _m(ref: str, name: str) -> str:
    return f"{ref}[{name}]"


EXACT = ("/gc/gogc:percent", "/gc/gomemlimit:bytes", "/sched/gomaxprocs:threads", "/gc/cycles/forced:gc-cycles")


def _read_facts(
    names: tuple[str, ...], gogc: int, limit: int, kept_hi: int, settled: bool, previous: str | None
) -> Callable[[str, Any], list[dict[str, Any]]]:
    """The facts of one read: from the other run's value where the setters decide, else relations within the
    run (which hold on both), and the tolerance across runs for the goal and the live heap where both are
    settled (``settled``: a forced collection came after the last allocation or drop; before that, the live
    heap is whatever the last automatic cycle, which each run starts at its own moment, marked)."""
    have = set(names)

    def facts(ref: str, value: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        v = value if isinstance(value, dict) else {}
        for n in EXACT:
            if n in have and n in v:
                out.append({"of": _m(ref, n), "equals": v[n]})
        cyc = ("/gc/cycles/total:gc-cycles", "/gc/cycles/automatic:gc-cycles", "/gc/cycles/forced:gc-cycles")
        if set(cyc) <= have:
            total, auto, forced = (_m(ref, n) for n in cyc)
            out.append({"relation": {"left": [auto, forced], "op": "==", "right": total}})
            if previous is not None:
                out.append({"relation": {"left": auto, "op": ">=", "right": _m(previous, cyc[1])}})
        leaves = [n for n in names if n.startswith("/memory/classes/") and n != TOTAL]
        if leaves and TOTAL in have:
            out.append({"relation": {"left": [_m(ref, n) for n in leaves], "op": "==", "right": _m(ref, TOTAL)}})
        scan = ["/gc/scan/heap:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"]
        if {*scan, "/gc/scan/total:bytes"} <= have:
            out.append(
                {"relation": {"left": [_m(ref, n) for n in scan], "op": "==", "right": _m(ref, "/gc/scan/total:bytes")}}
            )
        out += _goal_facts(ref, have, gogc, limit, kept_hi)
        if (settled or gogc < 0) and isinstance(v.get(GOAL), int):
            out.append({"of": _m(ref, GOAL), "tolerance": {"value": v[GOAL], "abs": 4 * MIB, "rel": 0.05}})
        if settled and isinstance(v.get(LIVE), int):
            out.append({"of": _m(ref, LIVE), "tolerance": {"value": v[LIVE], "abs": MIB, "rel": 0.05}})
        return out

    return facts


GOAL, LIVE, TOTAL = "/gc/heap/goal:bytes", "/gc/heap/live:bytes", "/memory/classes/total:bytes"
# What the memory limit's goal is measured against: the limit, and the heap memory that is not non-heap.
ROOM: tuple[str, ...] = ("/gc/gomemlimit:bytes", "/memory/classes/heap/released:bytes")
ROOM += ("/memory/classes/heap/free:bytes", "/memory/classes/heap/objects:bytes")


def _headroom(limit: int) -> int:
    return max(int(limit * LIMIT_HEADROOM), LIMIT_MIN_HEADROOM)


def _goal_facts(ref: str, have: set[str], gogc: int, limit: int, kept_hi: int) -> list[dict[str, Any]]:
    """The heap goal held to the pacer's formula, within the run.

    The memory limit's goal (GOGC off, or a limit below 1 TiB): goal + total <= limit + released + free +
    objects, exactly when GOGC is off (the limit decides) and within GOAL_SLACK otherwise (the GOGC goal may be
    lifted above it: heapGoalInternal), and with GOGC off at most the headroom below it. The GOGC goal, where
    the limit clearly cannot decide (its goal, with at most 16 MiB of non-heap memory and the most the program
    ever kept plus 2 MiB, is above the GOGC goal's most): at least the heap minimum, b*goal >= (a+b)*live +
    a*(stack + globals) for p/100 = a/b (less b for Go's integer division), and at most that plus the heap
    minimum, the heap in use (objects and unused slots) and GOAL_SLACK: the goal is the larger of the formula
    and the minimum, and heapGoalInternal may lift it to a sweep distance of 1 MiB over the heap in use at the
    last commit (go1.27.3, 2 MiB of garbage, SetGCPercent(10) before any collection: goal 2850816 where the
    formula and the minimum give 419430) or 64 KiB over the trigger."""
    goal, live = _m(ref, GOAL), _m(ref, LIVE)
    if not {GOAL, LIVE, "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"} <= have:
        return []
    out: list[dict[str, Any]] = []
    if {*ROOM, TOTAL} <= have and (gogc < 0 or limit < 1 << 40):
        limited = gogc < 0
        pair, room = [goal, _m(ref, TOTAL)], [_m(ref, n) for n in ROOM]
        out.append(
            {"relation": {"left": pair, "op": "<=", "right": room, "tolerance": {"abs": 0 if limited else GOAL_SLACK}}}
        )
        if limited:
            out.append({"relation": {"left": pair, "op": ">=", "right": room, "tolerance": {"abs": _headroom(limit)}}})
    if gogc < 0:
        return out
    floor = HEAP_MINIMUM * gogc // 100
    most = kept_hi + 3 * MIB  # live, stack and globals together
    pct_hi = max(floor, most + most * gogc // 100) + GOAL_SLACK
    lim_lo = limit - 16 * MIB - (kept_hi + 2 * MIB)
    if limit < 1 << 40 and pct_hi >= lim_lo - _headroom(limit):
        return out
    frac = Fraction(gogc, 100)
    a, b = frac.numerator, frac.denominator
    stack, globals_ = _m(ref, "/gc/scan/stack:bytes"), _m(ref, "/gc/scan/globals:bytes")
    rhs = [live] * (a + b) + [stack] * a + [globals_] * a
    out.append({"of": goal, "range": [floor, None]})
    out.append({"relation": {"left": [goal] * b, "op": ">=", "right": rhs, "tolerance": {"abs": b}}})
    heap_now = ["/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"]
    if set(heap_now) <= have:  # the sweep distance is over the heap in use, which these two bound
        hi = rhs + [_m(ref, n) for n in heap_now] * b
        out.append(
            {"relation": {"left": [goal] * b, "op": "<=", "right": hi, "tolerance": {"abs": b * (floor + GOAL_SLACK)}}}
        )
    return out


class MetricsProgram(ModelProgram):
    """A program of the metrics area."""

    fallback_cover = "metric:/gc/heap/goal:bytes#target-meaning"
    carried = ("names",)
    names: tuple[str, ...] = ()

    def clauses_of(self, step: dict[str, Any]) -> list[str]:
        call, op = step.get("call"), step.get("op")
        if call in ("runtime/debug.SetGCPercent", "runtime/debug.SetMemoryLimit"):
            return [f"{call}#returns-previous"]
        if call == "runtime.GOMAXPROCS":
            return ["metric:/sched/gomaxprocs:threads#equals-gomaxprocs"]
        if op == "gc":
            return ["metric:/gc/cycles/total:gc-cycles#runtime-gc-increments"]
        if op == "metrics.read":
            return [
                "metric:/gc/heap/goal:bytes#target-meaning",
                "metric:/gc/cycles/total:gc-cycles#automatic-plus-forced",
                "metric:/memory/classes/total:bytes#sum-of-leaves",
            ]
        return []

    def annotate(self) -> None:
        gogc, limit, kept_hi, settled = 100, MAX_INT64, 0, False
        held: dict[str, int] = {}
        previous: str | None = None
        self.relations, self.waits = {}, {}
        for i, step in enumerate(self.steps):
            call, op, w, args = step.get("call"), step.get("op"), step.get("with") or {}, step.get("args") or []
            if call == "runtime/debug.SetGCPercent" and args:
                gogc = -1 if int(args[0]) < 0 else int(args[0])
            elif call == "runtime/debug.SetMemoryLimit" and args and int(args[0]) >= 0:
                limit = int(args[0])
            elif op == "metrics.alloc":
                settled = False
                if w.get("keep") is not None:
                    held[str(w["keep"])] = int(w.get("bytes", 64)) * int(w.get("count", 1))
                    kept_hi = max(kept_hi, sum(held.values()))
            elif op == "drop":
                settled = False
                held.pop(str(w.get("name")), None)
            elif op == "gc":
                settled = True
            elif op == "metrics.read":
                facts = _read_facts(self.names, gogc, limit, kept_hi, settled, previous)
                self.relations[i] = Relation(READ.name, READ.reason + "; " + ACROSS.reason, facts)
                previous = f"${step['bind']}"


class MetricsMachine(RuleBasedStateMachine):
    """Rules that append steps; the program runs at teardown (see the finalizers area)."""

    check: Callable[[Program], None] = staticmethod(lambda p: None)
    names: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.program = MetricsProgram(area="metrics")
        self.program.names = self.names
        self.kept: list[str] = []
        self.count = 0

    def _read(self) -> None:
        self.program.add({"op": "metrics.read", "with": {"names": list(self.names)}}, "metrics.read")

    @initialize()
    def first_read(self) -> None:
        """Every program starts by reading what a fresh process has."""
        self._read()

    @rule(p=st.sampled_from(DOMAINS["runtime/debug.SetGCPercent"][0]))
    def set_gc_percent(self, p: int) -> None:
        self.program.add({"call": "runtime/debug.SetGCPercent", "args": [p]}, "runtime/debug.SetGCPercent")

    @rule(limit=st.sampled_from(DOMAINS["runtime/debug.SetMemoryLimit"][0]))
    def set_memory_limit(self, limit: int) -> None:
        self.program.add({"call": "runtime/debug.SetMemoryLimit", "args": [limit]}, "runtime/debug.SetMemoryLimit")

    @rule(n=st.sampled_from(DOMAINS["runtime.GOMAXPROCS"][0]))
    def gomaxprocs(self, n: int) -> None:
        self.program.add({"call": "runtime.GOMAXPROCS", "args": [n]}, "runtime.GOMAXPROCS")

    @rule()
    def gc(self) -> None:
        self.program.add({"op": "gc"}, "gc")

    @precondition(lambda self: len(self.kept) < 3)
    @rule(
        size=st.sampled_from((64, 4096, 40_000)),
        total=st.sampled_from((256 << 10, 2 * MIB, 8 * MIB)),
        keep=st.booleans(),
        pointers=st.booleans(),
    )
    def alloc(self, size: int, total: int, keep: bool, pointers: bool) -> None:
        """Garbage, or objects kept under a name (at most 3 at once: a live heap of up to 24 MiB)."""
        w: dict[str, Any] = {"bytes": size, "count": total // size, "pointers": pointers}
        if keep:
            name = f"k{self.count}"
            self.count += 1
            w["keep"] = name
            self.kept.append(name)
        self.program.add({"op": "metrics.alloc", "with": w}, "metrics.alloc")

    @precondition(lambda self: bool(self.kept))
    @rule(k=st.integers(0, 2))
    def drop(self, k: int) -> None:
        name = self.kept.pop(k % len(self.kept))
        self.program.add({"op": "drop", "with": {"name": name}}, "drop")

    @rule()
    def read(self) -> None:
        self._read()

    def teardown(self) -> None:
        """A last read, so that every setting the program made is seen."""
        self._read()
        self.program.annotate()
        type(self).check(self.program)


def metrics_machine(spec: Spec, go: GoVersion, check: Callable[[Program], None]) -> type[MetricsMachine]:
    """The machine for release ``go``: the metrics it reads are those of the release."""
    attrs: dict[str, Any] = {"check": staticmethod(check), "names": _names(spec, go)}
    return type("Metrics", (MetricsMachine,), attrs)


AREA = Area(
    name="metrics",
    description="a state machine over SetGCPercent, SetMemoryLimit, GOMAXPROCS, GC and allocations, reading "
    "the metrics they move: exact where the setters decide, the heap goal's formula and the documented sums "
    "within each run, a stated tolerance across runs",
    machine=metrics_machine,
    steps=8,
    relations=(READ, ACROSS),
)
