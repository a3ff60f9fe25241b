"""`rthooks coverage`: which spec clauses no case exercises.

A clause is covered when at least one case lists it in `covers:`. The figure is
per package and overall; `--min` turns it into a gate. A clause marked
`untestable` (with a reason from the spec schema's short list) is left out of
the figure and listed on its own, so that what is excluded stays visible and
reviewable rather than silently uncovered.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from rthooks.harness.cases import Case
from rthooks.protocol.record import read
from rthooks.spec.load import Spec


def passing_cases(records: list[Path]) -> set[str]:
    """Ids of cases that passed (or failed as an implementation's known deviation) in any record.

    Reads .json, .json.xz and .json.gz records; a broken record is a one-line error.
    """
    out: set[str] = set()
    for path in records:
        for r in read(path).get("results", []):
            if r.get("status") in ("pass", "xfail"):
                out.add(str(r["case"]))
    return out


def coverage(spec: Spec, cases: list[Case], *, passed: set[str] | None = None) -> dict[str, Any]:
    """Clause coverage; with `passed`, only cases in it count (coverage that was actually exercised)."""
    covered_by: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        if passed is not None and case.id not in passed:
            continue
        for cid in case.covers:
            covered_by[cid].append(case.id)
    by_pkg: dict[str, dict[str, int]] = defaultdict(lambda: {"covered": 0, "total": 0})
    uncovered = []
    untestable: list[dict[str, str]] = []
    for cid, (item, clause) in sorted(spec.clauses().items()):
        pkg = str(item.data["package"]) if item.kind not in ("godebug", "env", "process") else item.kind
        why = clause.get("untestable")
        if why:
            untestable.append({"clause": cid, "reason": str(why["reason"]), "detail": str(why["detail"])})
            continue
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
        "untestable": untestable,
    }


def gate_failure(cov: dict[str, Any], minimum: float) -> str | None:
    """Why the coverage misses ``minimum`` percent, or None if it meets it.

    The counts are compared, not the rounded percentage: one uncovered clause in 20000 is 99.995%,
    which rounds to 100.
    """
    if cov["covered"] * 100 >= minimum * cov["total"]:
        return None
    missing = cov["total"] - cov["covered"]
    return (
        f"clause coverage {cov['percent']}% is below {minimum}%"
        f" ({missing} clause{' lacks' if missing == 1 else 's lack'} a case)"
    )


def render_untestable(cov: dict[str, Any]) -> str:
    return "\n".join(f"{u['clause']}  [{u['reason']}] {u['detail']}" for u in cov["untestable"])


def render_text(cov: dict[str, Any], *, list_uncovered: bool = True) -> str:
    lines = [f"{'package':<18} {'covered':>8} {'total':>6} {'%':>7}"]
    for pkg, v in cov["by_package"].items():
        lines.append(f"{pkg:<18} {v['covered']:>8} {v['total']:>6} {v['percent']:>6.1f}%")
    lines.append(f"{'all':<18} {cov['covered']:>8} {cov['total']:>6} {cov['percent']:>6.1f}%")
    if cov["untestable"]:
        reasons: dict[str, int] = defaultdict(int)
        for u in cov["untestable"]:
            reasons[u["reason"]] += 1
        lines.append(
            f"untestable (excluded): {len(cov['untestable'])} clauses ("
            + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items()))
            + "); `rthooks coverage --untestable` lists them"
        )
    if list_uncovered and cov["uncovered"]:
        lines.append("")
        lines.append("clauses without a case:")
        lines.extend(f"  {cid}" for cid in cov["uncovered"])
    return "\n".join(lines)
