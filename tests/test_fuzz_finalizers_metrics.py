"""The finalizers and metrics fuzz areas: their programs validate as cases, the oracle compared with itself shows
no divergence, a planted lie is found and shrunk to a known program, and each relation accepts the
nondeterminism it states and rejects a real difference. The oracle's heap goal is held to the pacer's formula
with figures measured on real Go.

Everything here runs on the oracle (the real-Go runs are the fuzz runs the report gives); budgets are a few
dozen programs.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case
from rthooks.harness.fuzz import Fuzzer, _save
from rthooks.harness.fuzz._compare import compare
from rthooks.harness.fuzz.areas import AREAS, loosened
from rthooks.harness.fuzz.areas.finalizers import FinalizerProgram
from rthooks.harness.fuzz.areas.metrics import MAX_INT64, MIB, MetricsProgram, _names
from rthooks.harness.impls import OracleImpl
from rthooks.harness.program import Compiled
from rthooks.oracle import metricsmodel
from rthooks.oracle.state import OracleRuntime
from rthooks.protocol.results import RawRun
from rthooks.spec.lint import lint_paths
from rthooks.spec.load import Spec
from tests.conftest import LyingOracle

NEWEST, OLDEST = GoVersion.parse("1.27"), GoVersion.parse("1.21")


def _programs(spec: Spec, area: str, go: GoVersion, n: int) -> list[Any]:
    """Programs the area's machine generates (not run)."""
    out: list[Any] = []
    machine = AREAS[area].machine
    assert machine is not None
    cfg = settings(
        max_examples=n,
        stateful_step_count=AREAS[area].steps,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    run_state_machine_as_test(seed(3)(machine(spec, go, out.append)), settings=cfg)
    return out


def _result(values: list[Any]) -> dict[str, Any]:
    steps = [{"step": i, "status": "ok", "value": v} for i, v in enumerate(values)]
    return {"status": "pass", "observed": {"exit_status": 0, "signal": None, "stderr": "", "steps": steps}}


# ---- programs and their cases ----------------------------------------------------------------------


@pytest.mark.parametrize("area", ["finalizers", "metrics"])
@pytest.mark.parametrize("go", [OLDEST, NEWEST], ids=str)
def test_saved_programs_validate_as_cases(spec: Spec, tmp_path: Path, area: str, go: GoVersion) -> None:
    """A program, run on the oracle and saved as a divergence would be, is a case `rthooks validate` accepts:
    its covers name real clauses, its waits are `eventually` expectations, its relations are case matchers."""
    oracle = OracleImpl(go)
    fz = Fuzzer((oracle, OracleImpl(go)), spec, area=area, examples=1, every=1e9)
    programs = _programs(spec, area, go, 12)
    assert len(programs) >= 12
    for program in programs[:12]:
        results = fz.run_program(program)
        assert [r["status"] for r in results] == ["pass", "pass"], results[0].get("reasons")
        path, findings = _save.save(tmp_path, program, results, fz.names, why=[], seed=3)
        assert findings == [], path.read_text()


def test_finalizer_programs_use_cleanups_only_where_the_spec_has_them(spec: Spec) -> None:
    """runtime.AddCleanup is Go 1.24+ in the spec: go1.21's programs never attach one, go1.27's do."""
    old = [s.get("op") for p in _programs(spec, "finalizers", OLDEST, 30) for s in p.steps]
    newer = _programs(spec, "finalizers", NEWEST, 30)
    new = [s.get("op") for p in newer for s in p.steps]
    assert "cleanup" not in old and "finalizer" in old
    assert "cleanup" in new
    assert {str(p.requires.get("go")) for p in newer if any(s.get("op") == "cleanup" for s in p.steps)} == {">=1.24"}


def test_a_ran_step_waits_for_one_eligible_tag_and_the_last_sees_exactly_the_eligible_ones() -> None:
    p = FinalizerProgram(area="finalizers")
    for step in (
        {"op": "alloc", "with": {"name": "a"}},
        {"op": "finalizer", "with": {"name": "a", "tag": "fa"}},
        {"op": "cleanup", "with": {"name": "a", "tag": "ca"}},
        {"op": "alloc", "with": {"name": "b"}},
        {"op": "cleanup", "with": {"name": "b", "tag": "cb"}},
        {"op": "alloc", "with": {"name": "c"}},
        {"op": "finalizer", "with": {"name": "c", "tag": "fc"}},
        {"call": "runtime.SetFinalizer", "args": ["$c", None]},
        {"call": "runtime.Cleanup.Stop", "args": ["$s4"]},
        {"op": "drop", "with": {"name": "a"}},
        {"op": "drop", "with": {"name": "b"}},
        {"op": "drop", "with": {"name": "c"}},
        {"op": "ran"},
        {"op": "ran"},
    ):
        p.add(step, str(step.get("op") or step.get("call")))
    p.annotate()
    assert p.pending() == 0
    first, last = p.relations[12].facts("$s12", None), p.relations[13].facts("$s13", None)
    assert first == [
        {"of": "$s12", "contains": "fa", "eventually": {"within_s": 5, "poll": "gc"}},
        {"of": "$s12", "length": [1, 2]},
    ]
    assert last == [
        {"of": "$s13", "contains": "fa"},
        {"of": "$s13", "contains": "ca", "eventually": {"within_s": 5, "poll": "gc"}},
        {"of": "$s13", "length": 2},
    ]
    assert p.case_data("x")["expect"] == [
        {"of": "$s12", "contains": "fa", "eventually": {"within_s": 5, "poll": "gc"}},
        {"of": "$s13", "contains": "ca", "eventually": {"within_s": 5, "poll": "gc"}},
    ]
    # Without the drop of a, its tags are no longer eligible: the shorter program is judged by its own steps.
    q = p.without(9)
    assert isinstance(q, FinalizerProgram)
    assert q.relations[12].facts("$s12", None) == [{"of": "$s12", "length": 0}]
    assert "runtime.Cleanup.Stop#cancels" in q.covers and "runtime.SetFinalizer#nil-clears" in q.covers


# ---- the relations ---------------------------------------------------------------------------------


def _ran_program() -> FinalizerProgram:
    p = FinalizerProgram(area="finalizers")
    p.add({"op": "alloc", "with": {"name": "a"}}, "alloc")
    p.add({"op": "finalizer", "with": {"name": "a", "tag": "fa"}}, "finalizer")
    p.add({"op": "cleanup", "with": {"name": "a", "tag": "ca"}}, "cleanup")
    p.add({"op": "alloc", "with": {"name": "b"}}, "alloc")
    p.add({"op": "cleanup", "with": {"name": "b", "tag": "cb"}}, "cleanup")
    p.add({"call": "runtime.Cleanup.Stop", "args": ["$s4"]}, "runtime.Cleanup.Stop")
    p.add({"op": "drop", "with": {"name": "a"}}, "drop")
    p.add({"op": "ran"}, "ran")
    p.add({"op": "ran"}, "ran")
    p.annotate()
    return p


def _ran_values(first: list[str], last: list[str], handle: str = "h1") -> list[Any]:
    h = {"handle": handle, "type": "runtime.Cleanup"}
    return [None, None, h, None, {**h, "handle": handle + "b"}, None, None, first, last]


def test_ran_relation_accepts_any_order_and_any_timing_of_what_is_not_yet_waited_for() -> None:
    p = _ran_program()
    a = _result(_ran_values(["fa"], ["fa", "ca"]))
    for other in (["fa", "ca"], ["fa", "ca"]), (["fa"], ["fa", "ca"]):  # the cleanup already, or only later
        b = _result(_ran_values(*other, handle="cleanup0"))
        assert compare(p, a, b, ("x", "y")).kind == "same", other
    # A cleanup that ran before the finalizer of the same object would be wrong, but the order is not compared:
    # only the set (the clause's order is held by the case runtime-cleanup-after-finalizer).
    assert compare(p, a, _result(_ran_values(["fa"], ["ca", "fa"])), ("x", "y")).kind == "same"


@pytest.mark.parametrize(
    ("first", "last", "what"),
    [
        (["fa"], ["fa"], "an eligible cleanup that never ran"),
        (["fa"], ["fa", "ca", "cb"], "a stopped cleanup that ran"),
        (["fa"], ["fa", "ca", "ca"], "a cleanup that ran twice"),
        ([], ["fa", "ca"], "the tag waited for is missing"),
        (["fa", "ca", "fa"], ["fa", "ca", "fa"], "a finalizer that ran twice"),
    ],
)
def test_ran_relation_rejects_a_real_difference(first: list[str], last: list[str], what: str) -> None:
    p = _ran_program()
    good = _result(_ran_values(["fa"], ["fa", "ca"]))
    cmp = compare(p, good, _result(_ran_values(first, last)), ("x", "y"))
    assert cmp.kind == "diverged", what
    assert cmp.signature == frozenset({"finalizers:ran"})


def test_cleanup_handles_are_compared_by_type_only() -> None:
    p = _ran_program()
    good = _result(_ran_values(["fa"], ["fa", "ca"]))
    bad = _result(_ran_values(["fa"], ["fa", "ca"]))
    bad["observed"]["steps"][2]["value"] = {"handle": "h1", "type": "*pprof.Profile"}
    assert compare(p, good, bad, ("x", "y")).signature == frozenset({"finalizers:cleanup"})


GOAL_READ = {
    "/gc/gogc:percent": 50,
    "/gc/gomemlimit:bytes": MAX_INT64,
    "/sched/gomaxprocs:threads": 2,
    "/gc/cycles/total:gc-cycles": 5,
    "/gc/cycles/forced:gc-cycles": 1,
    "/gc/cycles/automatic:gc-cycles": 4,
    "/gc/heap/goal:bytes": 12798301,  # go1.27.3: live + (live + stack + globals) * 50 / 100
    "/gc/heap/live:bytes": 8383088,
    "/gc/scan/stack:bytes": 3736,
    "/gc/scan/globals:bytes": 443602,
    "/gc/scan/heap:bytes": 3531496,
    "/gc/scan/total:bytes": 3978834,
    "/memory/classes/heap/free:bytes": 6725632,
    "/memory/classes/heap/objects:bytes": 8410592,
    "/memory/classes/heap/released:bytes": 1458176,
    "/memory/classes/total:bytes": 16594400,
}


def _metrics_program(spec: Spec, *, settled: bool = True) -> MetricsProgram:
    p = MetricsProgram(area="metrics")
    p.names = tuple(n for n in _names(spec, NEWEST) if n in GOAL_READ)
    p.add({"op": "metrics.read", "with": {"names": list(p.names)}}, "metrics.read")
    p.add({"call": "runtime/debug.SetGCPercent", "args": [50]}, "runtime/debug.SetGCPercent")
    p.add({"op": "metrics.alloc", "with": {"bytes": 4096, "count": 2048, "keep": "k0"}}, "metrics.alloc")
    if settled:
        p.add({"op": "gc"}, "gc")
    p.add({"op": "metrics.read", "with": {"names": list(p.names)}}, "metrics.read")
    p.annotate()
    return p


def _reads(second: dict[str, Any], settled: bool = True) -> dict[str, Any]:
    first = {**GOAL_READ, "/gc/gogc:percent": 100, "/gc/cycles/total:gc-cycles": 0, "/gc/cycles/forced:gc-cycles": 0}
    first |= {"/gc/cycles/automatic:gc-cycles": 0, "/gc/heap/goal:bytes": 4 * MIB, "/gc/heap/live:bytes": 0}
    first["/gc/scan/total:bytes"] = first["/gc/scan/heap:bytes"] + 3736 + 443602
    first["/memory/classes/total:bytes"] = 6725632 + 8410592 + 1458176
    second = {**second}
    values = [first, 100, {"bytes": 1, "count": 1, "kept": 1, "dropped": 0}] + ([None] if settled else []) + [second]
    return _result(values)


def _with(**named: int) -> dict[str, Any]:
    return {**GOAL_READ, **named}


def test_read_relation_accepts_another_live_heap_whose_goal_follows_the_formula(spec: Spec) -> None:
    p = _metrics_program(spec)
    live = 8383072  # the second go1.27.3 run
    other = _with(**{})
    other["/gc/heap/live:bytes"] = live
    other["/gc/scan/stack:bytes"] = 3528
    other["/gc/heap/goal:bytes"] = live + (live + 3528 + 443602) * 50 // 100
    other["/gc/scan/total:bytes"] = other["/gc/scan/heap:bytes"] + 3528 + 443602
    other["/gc/cycles/automatic:gc-cycles"], other["/gc/cycles/total:gc-cycles"] = 3, 4
    assert compare(p, _reads(GOAL_READ), _reads(other), ("x", "y")).kind == "same"


@pytest.mark.parametrize(
    ("name", "value", "what"),
    [
        ("/gc/heap/goal:bytes", 8383088 * 3 // 2, "a goal that leaves out the stacks and globals"),
        ("/gc/heap/goal:bytes", 24 * MIB, "a goal far above the formula (and across runs)"),
        ("/gc/gogc:percent", 100, "GOGC not what SetGCPercent set"),
        ("/gc/cycles/total:gc-cycles", 6, "a total that is not automatic + forced"),
        ("/gc/cycles/forced:gc-cycles", 2, "a forced cycle that was not asked for"),
        ("/memory/classes/total:bytes", 16594400 + 4096, "memory classes that do not add up"),
        ("/gc/heap/live:bytes", 8383088 + 4 * MIB, "a live heap far from the other run's"),
    ],
)
def test_read_relation_rejects_a_real_difference(spec: Spec, name: str, value: int, what: str) -> None:
    p = _metrics_program(spec)
    bad = _with()
    bad[name] = value
    cmp = compare(p, _reads(GOAL_READ), _reads(bad), ("x", "y"))
    assert cmp.kind == "diverged", what
    assert cmp.signature == frozenset({"metrics:metrics.read"})


def test_goal_and_live_are_compared_across_runs_only_once_a_collection_settled_them(spec: Spec) -> None:
    """Before a runtime.GC after the allocation, each run's automatic cycle marked at its own moment: a live heap
    4 MiB apart (with its goal following it) is then no divergence; after the GC it is."""
    moved = _with()
    live = 8383088 - 4 * MIB
    moved["/gc/heap/live:bytes"] = live
    moved["/gc/heap/goal:bytes"] = live + (live + 3736 + 443602) * 50 // 100
    unsettled = _metrics_program(spec, settled=False)
    assert compare(unsettled, _reads(GOAL_READ, False), _reads(moved, False), ("x", "y")).kind == "same"
    settled = _metrics_program(spec)
    assert compare(settled, _reads(GOAL_READ), _reads(moved), ("x", "y")).kind == "diverged"


def test_every_relation_is_listed_with_its_reason() -> None:
    table = loosened()
    for key in (
        "finalizers:ran-eventually",
        "finalizers:cleanup-handle",
        "metrics:metrics-read",
        "metrics:metrics-across",
    ):
        assert len(table[key]) > 80, key


# ---- the engine on the oracle ----------------------------------------------------------------------


@pytest.mark.parametrize("area", ["finalizers", "metrics"])
@pytest.mark.parametrize("go", [OLDEST, NEWEST], ids=str)
def test_oracle_against_itself_finds_nothing(spec: Spec, area: str, go: GoVersion) -> None:
    fz = Fuzzer((OracleImpl(go), OracleImpl(go)), spec, area=area, examples=30, seed=7, every=1e9)
    result = fz.run()
    assert result.programs >= 30
    assert [d.comparison.signature for d in result.divergences] == []


class FinalizerNilIgnored(LyingOracle):
    """The oracle, except that SetFinalizer(obj, nil) does nothing (a cleared finalizer still runs).

    The smallest program that shows it: an object with a finalizer, SetFinalizer(obj, nil), the object dropped,
    a collection, and the ran list (which then holds the cleared finalizer's tag)."""

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        lying = copy.deepcopy(compiled)
        for step in lying.program["steps"]:
            if step.get("call") == "runtime.SetFinalizer" and (step.get("args") or [None, 0])[1] is None:
                obj = str(step["args"][0]).lstrip("$")
                step.pop("call")
                step.pop("args")
                step.update({"op": "keepalive", "with": {"name": obj}})
        return super().run(case, lying, workdir)


def test_planted_lie_is_found_and_shrunk(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrinking a state machine's programs costs Hypothesis hundreds of runs per step of budget, so the machine
    gets 5 steps here (the area's 12 took 7 minutes on 2 cores at load average 20; this takes 2 s idle, 28 s
    under that load)."""
    monkeypatch.setitem(AREAS, "finalizers", dataclasses.replace(AREAS["finalizers"], steps=5))
    fz = Fuzzer(
        (OracleImpl(NEWEST), FinalizerNilIgnored(NEWEST)),
        spec,
        area="finalizers",
        examples=40,
        seed=2,
        save=tmp_path,
        every=1e9,
    )
    result = fz.run()
    assert result.divergences, "the planted lie was not found"
    div = result.divergences[0]
    steps = [(s.get("op") or s.get("call"), s.get("with"), s.get("args")) for s in div.program.steps]
    assert steps == [
        ("alloc", {"name": "o0", "bytes": 16, "pointers": False}, None),
        ("finalizer", {"name": "o0", "tag": "o0.f1"}, None),
        ("runtime.SetFinalizer", None, ["$o0", None]),
        ("drop", {"name": "o0"}, None),
        ("gc", None, None),
        ("ran", None, None),
    ]
    assert div.comparison.signature == frozenset({"finalizers:ran"})
    assert div.saved is not None and lint_paths([div.saved]) == []
    text = div.saved.read_text()
    assert "runtime.SetFinalizer#nil-clears" in text


# ---- the oracle's heap goal --------------------------------------------------------------------------


def test_oracle_heap_goal_follows_the_pacer_with_go_figures() -> None:
    """runtime/mgcpacer.go, with what go1.27.3 read (tests above, cases metrics-heap-goal-*)."""
    pct = metricsmodel.heap_goal(
        50, MAX_INT64, live=8383088, stack_scan=3736, globals_scan=443602, non_heap=4 * MIB, mapped_ready=30 * MIB
    )
    assert pct == 12798301
    assert (
        metricsmodel.heap_goal(50, MAX_INT64, live=0, stack_scan=0, globals_scan=443602, non_heap=0, mapped_ready=0)
        == 2 * MIB
    )
    limited = metricsmodel.heap_goal(
        -1, 100663296, live=8383920, stack_scan=3736, globals_scan=443602, non_heap=5360856, mapped_ready=20 * MIB
    )
    assert limited == 92443368
    # A limit below the non-heap memory: the goal falls to the live heap (memoryLimitHeapGoal).
    assert (
        metricsmodel.heap_goal(-1, MIB, live=5000, stack_scan=0, globals_scan=0, non_heap=2 * MIB, mapped_ready=3 * MIB)
        == 5000
    )


def test_oracle_slice_growth_and_malloc_header_by_release() -> None:
    """go1.21.13 appends of a []byte to a nil [][]byte reach these capacities (measured), and from Go 1.22
    (the spec's malloc-header clause) a 4096-byte pointer array needs the size class above 4096."""

    def rt(release: GoVersion) -> OracleRuntime:
        return OracleRuntime(release, 100, MAX_INT64, 2, {}, Path("."))

    old, new = rt(OLDEST), rt(NEWEST)
    assert [metricsmodel.append_cap(old, n, 24) for n in (131072, 32768, 4096, 200, 6)] == [153941, 39253, 4096, 256, 8]
    assert metricsmodel.malloc_header(old, 4096, True) == 0
    assert metricsmodel.malloc_header(new, 4096, True) == 8
    assert metricsmodel.malloc_header(new, 4096, False) == 0
    assert metricsmodel.malloc_header(new, 512, True) == 0
    assert metricsmodel.malloc_header(new, 40_000, True) == 0
