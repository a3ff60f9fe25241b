"""The fuzz engine's throughput machinery: several programs per Hypothesis example (that such an example still
shrinks to the one minimal program is tests/test_fuzz.py's planted divergence, found with PER_EXAMPLE programs
per example), the budget counted in programs, and the two classes of programs (batched, a process each) whose counts and seconds add up to the
whole run and are printed before the last line. No timings are asserted (tools/bench_fuzz.py measures)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rthooks import cli
from rthooks.goversion import GoVersion
from rthooks.harness.fuzz import Fuzzer
from rthooks.harness.fuzz._engine import PER_EXAMPLE, Summary
from rthooks.harness.fuzz._save import case_id
from rthooks.harness.fuzz._strategies import Program
from rthooks.harness.impls import DriverImpl, OracleImpl, parse_impl
from rthooks.spec.load import Spec
from tests.test_fuzz import FINAL, _no_database

CLASSES = re.compile(
    r"^fuzz: batched: (\d+) programs in ([0-9.]+) s \(([0-9.]+) programs/s\); "
    r"a process each: (\d+) programs in ([0-9.]+) s \(([0-9.]+) programs/s\)$"
)


def _newest(spec: Spec) -> GoVersion:
    return spec.releases[-1]


def test_classes_add_up_and_match_how_the_driver_ran_them(spec: Spec) -> None:
    """Against a real driver: the batched class is exactly the programs the batch process ran, the other class
    the rest, and the two classes' seconds are the run's seconds."""
    rel = _newest(spec)
    fz = Fuzzer((OracleImpl(rel), parse_impl(f"go={rel}", rel)), spec, area="debug", examples=40, seed=3, every=1e9)
    assert fz.per_example == PER_EXAMPLE > 1
    s = fz.run()
    assert s.divergences == []
    assert s.programs == 40 == s.batched + s.alone  # the budget is programs, not examples
    impl = fz.impls[1]
    assert isinstance(impl, DriverImpl)
    assert s.batched == impl.batch_counts[0] > 0
    assert s.alone == impl.warm_counts()[1] > 0  # the crashes: a process each, started ahead
    assert s.batched_seconds > 0 and s.alone_seconds > 0
    assert s.batched_seconds + s.alone_seconds == pytest.approx(s.seconds, rel=1e-9)


def test_without_a_batch_every_program_is_in_the_second_class(spec: Spec) -> None:
    rel = _newest(spec)
    for area, per in (("env", 1), ("debug", PER_EXAMPLE)):
        s = Fuzzer((OracleImpl(rel), OracleImpl(rel)), spec, area=area, examples=30, seed=2, every=1e9)
        assert s.per_example == per
        got = s.run()
        assert (got.programs, got.batched, got.alone) == (30, 0, 30)
        assert got.alone_seconds == pytest.approx(got.seconds, rel=1e-9)


def test_several_programs_per_example_only_for_state_machines(spec: Spec) -> None:
    rel = _newest(spec)
    with pytest.raises(ValueError, match="per_example"):
        Fuzzer((OracleImpl(rel), OracleImpl(rel)), spec, area="env", examples=1, per_example=2)
    with pytest.raises(ValueError, match="per_example"):
        Fuzzer((OracleImpl(rel), OracleImpl(rel)), spec, area="debug", examples=1, per_example=0)


def test_classes_line_format() -> None:
    s = Summary(programs=10, seconds=2.0, batched=6, batched_seconds=0.5, alone=4, alone_seconds=1.5)
    m = CLASSES.match(s.classes_line())
    assert m and m.groups() == ("6", "0.5", "12.0", "4", "1.5", "2.7"), s.classes_line()
    assert Summary().classes_line().endswith("(0.0 programs/s)")  # nothing run: no division by zero


def test_cli_prints_the_classes_before_the_final_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_database(monkeypatch)
    argv = ["fuzz", "--impl", "oracle", "--impl", "oracle", "--area", "debug", "--examples", "12", "--jobs", "1"]
    status = cli.main(argv)  # one process (--jobs 2 is tests/test_fuzz_jobs.py's)
    err = capsys.readouterr().err.splitlines()
    assert status == 0
    final, classes = FINAL.match(err[-1]), CLASSES.match(err[-2])
    assert final and classes, err[-2:]
    assert int(classes.group(1)) + int(classes.group(4)) == int(final.group(1)) == 12


def test_a_program_generated_again_is_not_run_again(spec: Spec) -> None:
    """Hypothesis generates some programs many times (the minimal one starts the search, and an example's
    later machines draw from exhausted data): each distinct program runs once, the repeats are counted
    apart, and the budget counts distinct programs."""
    rel = _newest(spec)
    fz = Fuzzer((OracleImpl(rel), OracleImpl(rel)), spec, area="debug", examples=200, seed=1, every=1e9)
    ran: list[str] = []
    run = fz.run_program

    def spy(program: Program) -> Any:
        ran.append(case_id(program))
        return run(program)

    fz.run_program = spy  # type: ignore[method-assign]
    original = fz.run_programs

    def spy_all(programs: list[Program], *a: Any, **k: Any) -> Any:
        ran.extend(case_id(p) for p in programs)
        return original(programs, *a, **k)

    fz.run_programs = spy_all  # type: ignore[method-assign]
    s = fz.run()
    assert s.repeated > 0
    assert len(ran) == len(set(ran)) == s.programs
