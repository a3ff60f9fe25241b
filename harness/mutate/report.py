"""Kill records folded into clause coverage (``rthooks coverage --kills``).

Per clause: was a mutant that breaks it caught? A clause is *caught* when some mutant breaking it
was killed on some release, *survived* when mutants breaking it ran and none was killed (and not
all are equivalent), *equivalent* when every mutant breaking it is explained as equivalent, and
*unreached* when no mutant of the records breaks it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rthooks.spec.load import Spec


def _package(item: Any) -> str:
    return str(item.data["package"]) if item.kind not in ("godebug", "env", "process") else item.kind


def clause_kills(spec: Spec, records: list[dict[str, Any]], catalogue_ids: set[str] | None = None) -> dict[str, Any]:
    """The per-clause verdicts and the figures that summarise them."""
    hits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    ran: set[str] = set()
    survivors = []
    for r in records:
        for m in r["mutants"]:
            counts[m["status"]] += 1
            ran.add(m["id"])
            if m["status"] == "survived":
                survivors.append(
                    {"release": r["release"], "id": m["id"], "breaks": m["breaks"], "cases_run": m.get("cases_run", 0)}
                )
            for c in m["breaks"]:
                hits[c].append(
                    {"release": r["release"], "mutant": m["id"], "status": m["status"], "killed_by": m["killed_by"]}
                )
    clauses: dict[str, dict[str, Any]] = {}
    by_pkg: dict[str, dict[str, int]] = defaultdict(lambda: {"testable": 0, "reached": 0, "caught": 0})
    for cid, (item, clause) in sorted(spec.clauses().items()):
        if clause.get("untestable"):
            continue
        pkg = by_pkg[_package(item)]
        pkg["testable"] += 1
        h = hits.get(cid, [])
        statuses = {x["status"] for x in h}
        if "killed" in statuses:
            verdict = "caught"
        elif "survived" in statuses:
            verdict = "survived"
        elif statuses and statuses <= {"equivalent"}:
            verdict = "equivalent"
        elif statuses:
            verdict = "unjudged"  # only mutants not run here (unjudged), stillborn or stale
        else:
            verdict = "unreached"
        if h:
            pkg["reached"] += 1
        if verdict == "caught":
            pkg["caught"] += 1
        clauses[cid] = {"verdict": verdict, "mutants": h}
    judged = counts["killed"] + counts["survived"]
    out: dict[str, Any] = {
        "records": [
            {
                "release": r["release"],
                "go_version": r["go_version"],
                "mutants": len(r["mutants"]),
                "cases_mode": r["cases_mode"],
            }
            for r in records
        ],
        "mutant_statuses": dict(sorted(counts.items())),
        "kill_rate": round(100 * counts["killed"] / judged, 1) if judged else None,
        "testable": len(clauses),
        "verdicts": {
            v: sum(1 for c in clauses.values() if c["verdict"] == v)
            for v in ("caught", "survived", "equivalent", "unjudged", "unreached")
        },
        "by_package": dict(sorted(by_pkg.items())),
        "survivors": survivors,
        "clauses": clauses,
    }
    if catalogue_ids is not None:
        out["not_run"] = sorted(catalogue_ids - ran)
    return out


def render_kills(k: dict[str, Any], *, list_unreached: bool = False) -> str:
    """The text form: the headline figures, per package, the survivors."""
    recs = ", ".join(f"go{r['go_version']} ({r['mutants']} mutants, {r['cases_mode']} cases)" for r in k["records"])
    st = k["mutant_statuses"]
    v = k["verdicts"]
    lines = [
        f"kill records: {recs}",
        "mutants: "
        + ", ".join(f"{n} {s}" for s, n in st.items())
        + (f"; kill rate {k['kill_rate']}%" if k["kill_rate"] is not None else ""),
        f"clauses: {k['testable']} testable; broken by a mutant: {k['testable'] - v['unreached']}"
        f" ({v['caught']} caught, {v['survived']} survived, {v['equivalent']} only by equivalent mutants,"
        f" {v['unjudged']} unjudged); reached by no mutant yet: {v['unreached']}",
        "",
        f"{'package':<18} {'testable':>8} {'reached':>8} {'caught':>7}",
    ]
    for pkg, p in k["by_package"].items():
        lines.append(f"{pkg:<18} {p['testable']:>8} {p['reached']:>8} {p['caught']:>7}")
    if k.get("not_run"):
        lines += [
            "",
            f"catalogued but in no record: {len(k['not_run'])} ({', '.join(k['not_run'][:10])}{' …' if len(k['not_run']) > 10 else ''})",
        ]
    if k["survivors"]:
        lines += ["", "survivors (a clause broken and no case noticed):"]
        lines += [
            f"  go{s['release']} {s['id']}: breaks {', '.join(s['breaks'])} ({s['cases_run']} case(s) ran)"
            for s in k["survivors"]
        ]
    if list_unreached:
        lines += ["", "clauses no mutant breaks yet:"]
        lines += [f"  {cid}" for cid, c in k["clauses"].items() if c["verdict"] == "unreached"]
    return "\n".join(lines)
