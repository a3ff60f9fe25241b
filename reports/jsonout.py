"""The report as JSON: the view model as plain data (the matrix, summaries, cases, coverage, errata).

Per case it gives the statuses (in the order of ``implementations``, null where the case did not
run) and, for a case some implementation did not pass or skip, the
outcomes (implementations that ended the case alike, with their steps, reasons, exit status,
excerpts and timings; null for the others). The coverage map gives, per package, each clause with
the number of cases covering it and the clauses without a case. The run record holds the rest
(what each case covers and expects, every observed value); the HTML report shows it.
"""

from __future__ import annotations

import json
from typing import Any

from rthooks.protocol.statuses import STATUSES
from rthooks.reports.model import View, stderr_messages

FORMAT = "rthooks-report"
VERSION = 1


def to_data(view: View, limit: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "title": view.title(),
        "runs": [run.info() for run in view.runs],
        "implementations": [
            {"key": i.key, **{k: v for k, v in i.info.items() if k != "name"}, "name": i.name, "record": i.source}
            for i in view.impls
        ],
        "summary": {
            i.key: {
                "results": view.totals(i.key),
                "by_package": view.by_package(i.key),
                "items": view.items_by_status(i.key),
            }
            for i in view.impls
        },
        "matrix": {
            "implementations": [i.key for i in view.impls],
            "note": "each item's status lists, in the order of implementations, the worst status of its cases",
            "legend": {"statuses": list(STATUSES), "none": "no case covers the item", "n/a": "not in that release"},
            "items": [
                {
                    "id": row.id,
                    "package": row.package,
                    "kind": row.kind,
                    "clauses": len(row.clauses),
                    "cases": len(row.cases),
                    "status": [row.cells[i.key] for i in view.impls],
                }
                for row in view.items
            ],
            "items_with_cases": sum(1 for row in view.items if row.cases),
            "items_without_cases": sum(1 for row in view.items if not row.cases),
        },
        "cases": [
            {
                "id": case,
                "packages": view.case_packages(case),
                "clauses": len(covers),
                "worst": view.case_worst(case),
                "statuses": [r.status if (r := view.by_key.get((case, i.key))) else None for i in view.impls],
                "outcomes": [_outcome(o.detail(limit), o.results[0].observed) for o in view.outcomes(case)]
                if view.notable(case)
                else None,
            }
            for case, covers in view.cases.items()
        ],
        "coverage": {
            "total": view.coverage_total(),
            "packages": [
                {**p, "with_cases": {m["clause"]: len(m["cases"]) for m in p["with_cases"]}} for p in view.coverage
            ],
            "untestable": view.untestable,
        },
        "errata": view.errata,
    }


def _outcome(d: dict[str, Any], observed: dict[str, Any]) -> dict[str, Any]:
    """An outcome; the excerpts of stdout and stderr only where it did not pass (the message lines always)."""
    d["stderr_messages"] = stderr_messages(observed.get("stderr"))
    if d["status"] in ("pass", "skip"):
        d["stdout"] = d["stderr"] = None
    return d


def render(view: View, limit: int) -> str:
    return json.dumps(to_data(view, limit), ensure_ascii=False, separators=(",", ":")) + "\n"
