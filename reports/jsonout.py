"""The report as JSON: the view model as plain data (the matrix, summaries, cases, coverage, errata)."""

from __future__ import annotations

import json
from typing import Any

from rthooks.reports.model import STATUSES, View, detail, expected_lines

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
            "legend": {"statuses": list(STATUSES), "none": "no case covers the item", "n/a": "not in that release"},
            "items": [
                {
                    "id": row.id,
                    "package": row.package,
                    "kind": row.kind,
                    "clauses": len(row.clauses),
                    "cases": row.cases,
                    "status": row.cells,
                    "counts": {k: v for k, v in row.counts.items() if v},
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
                "covers": covers,
                "worst": view.case_worst(case),
                "expected": expected_lines(view.expected(case), limit),
                "results": {
                    i.key: detail(r, limit) for i in view.impls if (r := view.by_key.get((case, i.key))) is not None
                },
            }
            for case, covers in view.cases.items()
        ],
        "coverage": {"total": view.coverage_total(), "packages": view.coverage},
        "errata": view.errata,
    }


def render(view: View, limit: int) -> str:
    return json.dumps(to_data(view, limit), indent=1, ensure_ascii=False) + "\n"

