"""The generated metric cases (cases/generated/metrics_*.yaml) are up to date with the spec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import tool_module

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


def test_a_hand_written_case_owns_a_counter_clause() -> None:
    """A GODEBUG counter clause that a hand-written case covers is not claimed by a generated case
    (which would pass on a counter that never moves); without such a case the generated one claims it."""
    from rthooks.spec.load import default_spec

    gen: Any = tool_module("gen_metric_cases")
    spec = default_spec()
    mono = "metric:/godebug/non-default-behavior/execerrdot:events#monotonic"
    counts = "metric:/godebug/non-default-behavior/execerrdot:events#counts-non-default-behaviour"
    free = gen.render(spec, frozenset())
    owned = gen.render(spec, frozenset({mono, counts}))
    assert mono in free["metrics_reads.yaml"] and mono not in owned["metrics_reads.yaml"]
    assert counts in free["metrics_godebug.yaml"] and counts not in owned["metrics_godebug.yaml"]
    # The checks stay: the counter is still read in both.
    name = "/godebug/non-default-behavior/execerrdot:events"
    assert name in owned["metrics_reads.yaml"] and name in owned["metrics_godebug.yaml"]


def test_hand_covered_ignores_generated_cases(tmp_path: Path) -> None:
    gen: Any = tool_module("gen_metric_cases")
    clause = "metric:/godebug/non-default-behavior/panicnil:events#monotonic"
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "g.yaml").write_text(f"cases:\n- id: g\n  covers: ['{clause}']\n")
    assert gen.hand_covered(tmp_path) == frozenset()
    (tmp_path / "h.yaml").write_text(f"cases:\n- id: h\n  covers: ['{clause}', 'godebug:panicnil#default']\n")
    assert gen.hand_covered(tmp_path) == frozenset({clause})


def test_monotonic_claimed_only_where_the_reads_move_it() -> None:
    """A reads case claims a cumulative metric's monotonic clause with a check that the value grew
    (MOVED_BY_READS: garbage, a contended mutex and GC cycles move it); a metric its steps may leave
    alone is claimed only while no hand-written case covers the clause, and keeps its >= checks."""
    import yaml

    from rthooks.spec.load import default_spec

    gen: Any = tool_module("gen_metric_cases")
    spec = default_spec()
    moved = "metric:/gc/cycles/forced:gc-cycles#monotonic"
    still = "metric:/cpu/classes/gc/mark/assist:cpu-seconds#monotonic"
    free = yaml.safe_load(gen.render(spec, frozenset())["metrics_reads.yaml"])["cases"]
    owned = yaml.safe_load(gen.render(spec, frozenset({moved, still}))["metrics_reads.yaml"])["cases"]
    every = {c["id"]: c for c in owned}["metrics-gen-reads-every-release"]
    assert moved in every["covers"] and still not in every["covers"]
    assert still in {c["id"]: c for c in free}["metrics-gen-reads-every-release"]["covers"]
    grew = {
        (e["relation"]["left"], e["relation"]["right"])
        for e in every["expect"]
        if "relation" in e and e["relation"]["op"] == ">"
    }
    for clause in every["covers"]:
        if clause.endswith("#monotonic"):
            name = clause[len("metric:") : -len("#monotonic")]
            assert name in gen.MOVED_BY_READS or clause not in {moved, still}
            if name in gen.MOVED_BY_READS:
                assert (f"$m2.{name}", f"$m0.{name}") in grew, name
    # The metric left alone is still read and checked never to decrease.
    assert any(
        e.get("relation", {}).get("left") == "$m2./cpu/classes/gc/mark/assist:cpu-seconds" for e in every["expect"]
    )
