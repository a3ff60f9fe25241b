"""`rthooks coverage`: the figure is computed from the spec's clauses and the cases' covers."""

from __future__ import annotations

import json
from pathlib import Path

from rthooks.harness.cases import load_cases
from rthooks.harness.coverage import coverage, gate_failure
from rthooks.spec.load import Spec
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent


def _cases(tmp_path: Path, covers: list[str]) -> Path:
    d = tmp_path / "cases"
    d.mkdir()
    lines = "\n".join(f"      - {c}" for c in covers)
    (d / "c.yaml").write_text(
        f"cases:\n  - id: only-case\n    covers:\n{lines}\n    steps: [{{call: runtime.GC}}]\n    expect: [{{exit_status: 0}}]\n"
    )
    return d


def test_coverage_counts_exactly_the_covered_clauses(tmp_path: Path) -> None:
    d = _cases(tmp_path, ["runtime.GC#blocks-until-complete", "runtime.NumGoroutine#counts-existing"])
    p = run_cli("coverage", "--cases", str(d), "--format", "json")
    assert p.returncode == 0, p.stderr
    cov = json.loads(p.stdout)
    assert cov["covered"] == 2
    assert cov["total"] == cov["covered"] + len(cov["uncovered"])
    assert "runtime.GC#blocks-until-complete" not in cov["uncovered"]
    assert "runtime.NumGoroutine#counts-existing" not in cov["uncovered"]
    assert "runtime/debug.SetGCPercent#returns-previous" in cov["uncovered"]
    assert cov["by_package"]["runtime"]["covered"] == 2


def test_coverage_gate(tmp_path: Path) -> None:
    d = _cases(tmp_path, ["runtime.GC#blocks-until-complete"])
    p = run_cli("coverage", "--cases", str(d), "--min", "100", "--summary")
    assert p.returncode == 1
    assert "is below 100" in p.stderr and p.stdout.splitlines()[0].startswith("package")
    assert run_cli("coverage", "--cases", str(d), "--min", "0", "--summary").returncode == 0


def test_coverage_gate_counts_one_missing_clause(spec: Spec) -> None:
    """The suite's own cases cover every testable clause; without the only case for one clause the
    100% gate fails and says so, although the rounded percentage of a large spec could read 100."""
    cases = load_cases(REPO / "cases")
    full = coverage(spec, cases)
    assert full["uncovered"] == [] and gate_failure(full, 100) is None
    gone = "godebug-dontfreezetheworld-one-goroutines-keep-running"
    fewer = coverage(spec, [c for c in cases if c.id != gone])
    assert fewer["uncovered"] == ["godebug:dontfreezetheworld#one-keeps-running"]
    assert gate_failure(fewer, 100) == f"clause coverage {fewer['percent']}% is below 100% (1 clause lacks a case)"
    assert gate_failure(fewer, 99.9) is None
    large = {**fewer, "covered": 19999, "total": 20000, "percent": round(100.0 * 19999 / 20000, 2)}
    assert large["percent"] == 100.0 and gate_failure(large, 100) is not None
