"""The generated metric cases (cases/generated/metrics_*.yaml) are up to date with the spec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_metric_cases_are_fresh() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_metric_cases.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"stale generated cases (run python tools/gen_metric_cases.py):\n{run.stderr}"


def test_check_detects_a_stale_file(tmp_path: Path) -> None:
    gen = [sys.executable, str(ROOT / "tools" / "gen_metric_cases.py"), "--out", str(tmp_path)]
    assert subprocess.run(gen, cwd=ROOT, timeout=120).returncode == 0
    assert subprocess.run([*gen, "--check"], cwd=ROOT, timeout=120).returncode == 0
    victim = sorted(tmp_path.glob("metrics_*.yaml"))[0]
    victim.write_text(victim.read_text() + "# edited by hand\n")
    assert subprocess.run([*gen, "--check"], cwd=ROOT, capture_output=True, timeout=120).returncode == 1
