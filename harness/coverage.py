"""`rthooks coverage`: which spec clauses no case exercises.

A clause is covered when at least one case lists it in `covers:`. The figure is
per package and overall; `--min` turns it into a gate.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rthooks.harness.cases import Case
from rthooks.spec.load import Spec


def coverage(spec: Spec, cases: list[Case]) -> dict[str, Any]:
    covered_by: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        for cid in case.covers:
            covered_by[cid].append(case.id)
    by_pkg: dict[str, dict[str, int]] = defaultdict(lambda: {"covered": 0, "total": 0})
    uncovered = []
    for cid, (item, _clause) in sorted(spec.clauses().items()):
        pkg = str(item.data["package"]) if item.kind not in ("godebug", "env", "process") else item.kind
        by_pkg[pkg]["total"] += 1
        if cid in covered_by:
            by_pkg[pkg]["covered"] += 1
        else:
            uncovered.append(cid)
    total = sum(p["total"] for p in by_pkg.values())
    covered = total - len(uncovered)
    return {
        "covered": covered,
        "total": total,
        "percent": round(100.0 * covered / total, 2) if total else 100.0,
        "by_package": {
            k: {**v, "percent": round(100.0 * v["covered"] / v["total"], 2)} for k, v in sorted(by_pkg.items())
        },
        "uncovered": uncovered,
    }


def render_text(cov: dict[str, Any], *, list_uncovered: bool = True) -> str:
    lines = [f"{'package':<18} {'covered':>8} {'total':>6} {'%':>7}"]
    for pkg, v in cov["by_package"].items():
        lines.append(f"{pkg:<18} {v['covered']:>8} {v['total']:>6} {v['percent']:>6.1f}%")
    lines.append(f"{'all':<18} {cov['covered']:>8} {cov['total']:>6} {cov['percent']:>6.1f}%")
    if list_uncovered and cov["uncovered"]:
        lines.append("")
        lines.append("clauses without a case:")
        lines.extend(f"  {cid}" for cid in cov["uncovered"])
    return "\n".join(lines)
