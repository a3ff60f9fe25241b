"""cases/generated/godebug_*.yaml are up to date with the spec (tools/gen_godebug_cases.py --check)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_godebug_cases_are_fresh() -> None:
    p = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_godebug_cases.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr or p.stdout
