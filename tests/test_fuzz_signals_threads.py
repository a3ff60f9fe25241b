"""The signals and threads fuzz areas: their programs are cases `rthooks validate` accepts, the oracle agrees
with itself, a planted lie about one signal fact is found and shrunk to the program that shows it, and the
areas' relations accept the nondeterminism they state and reject a real difference.

Everything runs on the oracle (in-process): seconds, no Go toolchain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from rthooks.goversion import GoVersion
from rthooks.harness.fuzz import Fuzzer, _save
from rthooks.harness.fuzz._compare import compare
from rthooks.harness.fuzz._strategies import Program, Relation
from rthooks.harness.fuzz.areas import AREAS, loosened
from rthooks.harness.fuzz.areas import signals as signals_area
from rthooks.harness.fuzz.areas import threads as threads_area
from rthooks.harness.impls import OracleImpl
from rthooks.spec.load import Spec
from tests.conftest import ValueLiar


class SignalLiar(ValueLiar):
    """The oracle, except that Ignored reports false for an ignored signal other than SIGUSR1.

    The smallest program that shows it is two calls: Ignore() (of all signals: to Hypothesis the flag that
    says "all" is simpler than drawing a list), then Ignored(SIGUSR2) (signals shrink towards the first the
    area names, SIGUSR1, which the lie leaves alone; SIGUSR2 is the next)."""

    call = "os/signal.Ignored"

    def lie(self, step: dict[str, Any], value: Any) -> Any:
        return False if step.get("args") != ["SIGUSR1"] and value is True else value


def _newest(spec: Spec) -> GoVersion:
    return spec.releases[-1]


def _programs(spec: Spec, area: str, n: int) -> list[Program]:
    """``n`` programs of the area's state machine (its teardown hands each to the collector)."""
    got: list[Program] = []
    machine = AREAS[area].machine
    assert machine is not None
    cfg = settings(
        max_examples=n,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        stateful_step_count=AREAS[area].steps,
    )
    run_state_machine_as_test(seed(3)(machine(spec, _newest(spec), got.append)), settings=cfg)
    return got


@pytest.mark.parametrize("area", ["signals", "threads"])
def test_programs_run_and_save_as_valid_cases(spec: Spec, area: str, tmp_path: Path) -> None:
    """Each generated program runs on the oracle without a refusal, and saved as a case (expecting what the
    oracle observed, as a divergence would be) passes `rthooks validate`, naming the clauses it covers."""
    rel = _newest(spec)
    fz = Fuzzer((OracleImpl(rel), OracleImpl(rel)), spec, area=area, examples=1, every=1e9)
    programs = _programs(spec, area, 20)
    assert len(programs) >= 10
    clauses = spec.clauses()
    for program in programs:
        assert program.covers and all(c in clauses for c in program.covers), program.covers
        assert program.requires == AREAS[area].requires
        results = fz.run_program(program)
        # A raised signal whose default ends the process is a crash, not a refusal.
        assert {r["status"] for r in results} <= {"pass", "crash"}, results[0].get("reasons")
        path, findings = _save.save(tmp_path, program, results, fz.names, why=[], seed=3)
        assert findings == [], (path.read_text(), findings)


@pytest.mark.parametrize("area", ["signals", "threads"])
def test_oracle_against_itself_finds_nothing(spec: Spec, area: str) -> None:
    rel = _newest(spec)
    fz = Fuzzer((OracleImpl(rel), OracleImpl(rel)), spec, area=area, examples=30, seed=7, every=1e9)
    result = fz.run()
    assert result.programs >= 30
    assert [d.comparison.signature for d in result.divergences] == []
    assert result.invalid == 0 and result.skipped == 0, result.notes


def test_planted_signal_lie_is_found_and_shrunk(spec: Spec, tmp_path: Path) -> None:
    rel = _newest(spec)
    fz = Fuzzer(
        (OracleImpl(rel), SignalLiar(rel)), spec, area="signals", examples=200, seed=5, save=tmp_path, every=1e9
    )
    result = fz.run()
    assert result.divergences, "the planted lie was not found"
    div = result.divergences[0]
    assert div.comparison.signature == frozenset({"signals:os/signal.Ignored"})
    assert [(st.get("call"), st.get("args")) for st in div.program.steps] == [
        ("os/signal.Ignore", []),
        ("os/signal.Ignored", ["SIGUSR2"]),
    ]
    assert div.saved is not None
    text = div.saved.read_text()
    assert "os/signal.Ignore#no-args-all" in text and "os/signal.Ignored#reports-ignored" in text
    assert not [n for n in result.notes if "does not validate" in n]


def test_signal_sets_come_from_the_spec(spec: Spec) -> None:
    classes = signals_area.signal_classes(spec)
    assert classes["hup-int-term-exit"] == ["SIGHUP", "SIGINT", "SIGTERM"]
    assert {"SIGUSR1", "SIGUSR2", "SIGURG"} <= set(classes["others-ignored"])
    assert "SIGQUIT" in classes["quit-etc-dump"] and "SIGEMT" not in classes["quit-etc-dump"]
    drawn = {
        s["with"]["signal"] for p in _programs(spec, "signals", 40) for s in p.steps if s.get("op") == "signal.raise"
    }
    assert drawn and not drawn & (set(signals_area.NOT_RAISED) | set(signals_area.NOT_NAMED))


def _one_step(relation: Relation, op: str = "x") -> Program:
    p = Program(area="t")
    p.add({"op": op}, "probe", relation)
    return p


def _result(value: Any) -> dict[str, Any]:
    steps = [{"step": 0, "status": "ok", "value": value}]
    return {"status": "pass", "observed": {"exit_status": 0, "signal": None, "stderr": "", "steps": steps}}


def _same(relation: Relation, a: Any, b: Any) -> bool:
    return compare(_one_step(relation), _result(a), _result(b), ("a", "b")).kind == "same"


def test_handle_relation_compares_types_not_names() -> None:
    h = signals_area.HANDLES
    assert _same(h, {"handle": "h1", "type": "chan os.Signal"}, {"handle": "chan0", "type": "chan os.Signal"})
    pair = [{"handle": "h3", "type": "*signal.signalCtx"}, {"handle": "h4", "type": "context.CancelFunc"}]
    other = [{"handle": "chan1", "type": "*signal.signalCtx"}, {"handle": "chan1-stop", "type": "context.CancelFunc"}]
    assert _same(h, pair, other)
    assert not _same(h, {"handle": "h1", "type": "chan os.Signal"}, {"handle": "h1", "type": "chan int"})
    assert not _same(h, pair, other[:1])


def _ids(threads_seen: int, **kw: Any) -> dict[str, Any]:
    base = {"pid": 2, "tid": 2, "init_tid": 2, "init_locked": False, "threads_seen": threads_seen}
    return {**base, "on_startup_every": threads_seen == 1, **kw}


def test_ids_relations_loosen_only_where_nothing_is_promised() -> None:
    t = threads_area
    host, model = _ids(3, pid=81734, tid=81740, init_tid=81734), _ids(2, pid=4242, tid=4243, init_tid=4242)
    assert _same(t.IDS_UNLOCKED, host, model)  # unlocked: any thread, host ids
    assert not _same(t.IDS_UNLOCKED, host, {**model, "init_locked": True})
    assert not _same(t.IDS_UNLOCKED, host, {**model, "init_tid": 4243})  # init not on the startup thread
    assert _same(t.IDS_LOCKED, _ids(1, tid=7), _ids(1))  # locked wherever it ran
    assert not _same(t.IDS_LOCKED, _ids(1), _ids(2))  # a locked goroutine that moved
    assert _same(t.IDS_STARTUP, _ids(1, init_locked=True), _ids(1, pid=4242, tid=4242, init_tid=4242, init_locked=True))
    assert not _same(t.IDS_STARTUP, _ids(1, init_locked=True), _ids(1, tid=3, init_locked=True))


def test_lock_probe_relation_tells_zero_from_some() -> None:
    r = threads_area.LOCK_PROBE
    assert _same(
        r, {"same_thread": True, "others_on_thread": [3, 0, 0]}, {"same_thread": True, "others_on_thread": [1, 0, 0]}
    )
    assert not _same(
        r, {"same_thread": True, "others_on_thread": [1, 1, 0]}, {"same_thread": True, "others_on_thread": [1, 0, 0]}
    )
    assert not _same(
        r, {"same_thread": True, "others_on_thread": [1, 0]}, {"same_thread": True, "others_on_thread": [0, 0]}
    )
    assert not _same(
        r, {"same_thread": True, "others_on_thread": [1, 0]}, {"same_thread": False, "others_on_thread": [1, 0]}
    )
    assert not _same(
        r, {"same_thread": True, "others_on_thread": [1, 0]}, {"same_thread": True, "others_on_thread": [1, 0, 0]}
    )


def test_exit_locked_relation_ignores_the_thread_id() -> None:
    r = threads_area.EXIT_LOCKED
    assert _same(r, {"tid": 81790, "gone": True}, {"tid": 4247, "gone": True})
    assert not _same(r, {"tid": 81790, "gone": True}, {"tid": 81790, "gone": False})


def test_every_relation_is_listed_with_its_reason() -> None:
    """Each relation a module defines is one its area lists, so loosened() shows every loosening."""
    table = loosened()
    for area, module in (("signals", signals_area), ("threads", threads_area)):
        defined = [v for v in vars(module).values() if isinstance(v, Relation)]
        assert sorted(r.name for r in AREAS[area].relations) == sorted(r.name for r in defined)
        for rel in defined:
            assert table[f"{area}:{rel.name}"] == rel.reason
