"""`rthooks coverage`: the figure is computed from the spec's clauses and the cases' covers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def _cases(tmp_path: Path, covers: list[str]) -> Path:
    d = tmp_path / "cases"
    d.mkdir()
    lines = "\n".join(f"      - {c}" for c in covers)
    (d / "c.yaml").write_text(
        f"cases:\n  - id: only-case\n    covers:\n{lines}\n    steps: [{{call: runtime.GC}}]\n    expect: [{{exit_status: 0}}]\n"
    )
    return d


def test_coverage_counts_exactly_the_covered_clauses(tmp_path: Path) -> None:
    d = _cases(tmp_path, ["runtime.GC#blocks-until-complete", "runtime.GC#may-stop-world"])
    p = run_cli("coverage", "--cases", str(d), "--format", "json")
    assert p.returncode == 0, p.stderr
    cov = json.loads(p.stdout)
    assert cov["covered"] == 2
    assert cov["total"] == cov["covered"] + len(cov["uncovered"])
    assert "runtime.GC#blocks-until-complete" not in cov["uncovered"]
    assert "runtime.GC#may-stop-world" not in cov["uncovered"]
    assert "runtime/debug.SetGCPercent#returns-previous" in cov["uncovered"]
    assert cov["by_package"]["runtime"]["covered"] == 2


def test_coverage_gate(tmp_path: Path) -> None:
    d = _cases(tmp_path, ["runtime.GC#blocks-until-complete"])
    p = run_cli("coverage", "--cases", str(d), "--min", "100", "--summary")
    assert p.returncode == 1
    assert "is below 100" in p.stderr and p.stdout.splitlines()[0].startswith("package")
    assert run_cli("coverage", "--cases", str(d), "--min", "0", "--summary").returncode == 0
