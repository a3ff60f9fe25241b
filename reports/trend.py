"""`rthooks report trend RUN.json...`: how behaviour moved from one Go release to the next.

Implementations of one kind (every ``go`` toolchain, every oracle, each ``cmd``) form a *series*,
ordered by go_version. For each case the trend gives its status per release, the release where it
*appeared* (first ran, after releases where it was skipped or absent) and every release where its
status or stable values changed from the previous one; the same per spec item (its worst status,
and the changes of the cases covering it). Stable values are those rthooks.reports.stability names
(exit status, signal, step outcomes, values a case matches with ``equals``): seeds, paths, sizes and
timings that move from run to run are not changes. ``observed=True`` (``--observed``) compares every
observed value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rthooks.reports.markdown import cell, code
from rthooks.reports.model import Change, Impl, View, compact, summarize_changes
from rthooks.reports.stability import Stability

ABSENT_POINT = "—"


@dataclass
class Step:
    """A change at one release of a series, from the previous release."""

    at: str  # impl key
    version: str
    old: str
    new: str
    changes: list[Change] = field(default_factory=list)

    def text(self) -> str:
        parts = [f"{self.old} -> {self.new}"] if self.old != self.new else []
        if self.changes:
            parts.append(f"observed {summarize_changes(self.changes)}")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "go_version": self.version,
            "from": self.old,
            "to": self.new,
            "observed": [c.to_json() for c in self.changes],
        }


@dataclass
class Line:
    """One case or spec item across a series."""

    id: str
    statuses: list[str]
    appeared: str | None
    steps: list[Step]
    cases: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "statuses": self.statuses,
            "appeared": self.appeared,
            "first_change": self.steps[0].at if self.steps else None,
            "changes": [s.to_json() for s in self.steps],
        }
        if self.cases:
            out["cases"] = self.cases
        return out


@dataclass
class Series:
    name: str
    impls: list[Impl]
    cases: list[Line]
    items: list[Line]


def series_of(view: View) -> dict[str, list[Impl]]:
    out: dict[str, list[Impl]] = {}
    for i in view.impls:  # already ordered by kind, then go_version
        out.setdefault(i.kind if i.kind != "cmd" else f"cmd:{i.name}", []).append(i)
    return out


def _appeared(impls: list[Impl], statuses: list[str]) -> str | None:
    """The first release where the line ran (not skipped, not absent), if earlier releases did not."""
    ran = [s not in ("skip", ABSENT_POINT, "none", "n/a") for s in statuses]
    if not any(ran):
        return None
    k = ran.index(True)
    return impls[k].key if k > 0 else None


def trend(view: View, observed: bool = False) -> list[Series]:
    judge = Stability(observed)
    out = []
    for name, impls in series_of(view).items():
        case_lines: dict[str, Line] = {}
        for case in view.cases:
            results = [view.by_key.get((case, i.key)) for i in impls]
            statuses = [r.status if r else ABSENT_POINT for r in results]
            steps = []
            for k in range(1, len(impls)):
                a, b = results[k - 1], results[k]
                if a is None or b is None:
                    continue
                changes = (
                    judge.changes(case, (a.expected, a.observed), (b.expected, b.observed))
                    if "skip" not in (a.status, b.status)
                    else []
                )
                if a.status != b.status or changes:
                    steps.append(Step(impls[k].key, impls[k].go_version, a.status, b.status, changes))
            case_lines[case] = Line(case, statuses, _appeared(impls, statuses), steps)
        # The changes of each case at each release, indexed once (rows x releases x cases otherwise
        # scans every case's steps again for each release).
        changes_at: dict[tuple[str, str], list[Change]] = {}
        for line in case_lines.values():
            for st in line.steps:
                changes_at[(line.id, st.at)] = st.changes
        item_lines = []
        for row in view.items:
            if not row.cases:
                continue
            statuses = [row.cells[i.key] for i in impls]
            steps = []
            for k in range(1, len(impls)):
                at = impls[k].key
                moved = [c for case in row.cases for c in changes_at.get((case, at), ())]
                if statuses[k] != statuses[k - 1] or moved:
                    steps.append(Step(impls[k].key, impls[k].go_version, statuses[k - 1], statuses[k], moved))
            item_lines.append(Line(row.id, statuses, _appeared(impls, statuses), steps, row.cases))
        out.append(Series(name, impls, list(case_lines.values()), item_lines))
    return out


def _label(i: Impl) -> str:
    return i.key


def render_text(view: View, observed: bool = False) -> str:
    lines: list[str] = [f"compared: {Stability(observed).note}", ""]
    for s in trend(view, observed):
        labels = [_label(i) for i in s.impls]
        lines.append(f"series {s.name}: " + ", ".join(f"{i.key} ({i.go_version})" for i in s.impls))
        if len(s.impls) < 2:
            lines += ["  one release only: nothing to compare", ""]
            continue
        for title, rows in (("case", s.cases), ("spec item", s.items)):
            w = max([len(title), *(len(r.id) for r in rows)])
            cw = [max(len(lb), 7) for lb in labels]
            lines.append("")
            lines.append(
                f"{title:<{w}}  " + "  ".join(f"{lb:<{c}}" for lb, c in zip(labels, cw, strict=True)) + "  changes"
            )
            for r in rows:
                marks = []
                changed = {x.at for x in r.steps}
                for k, st in enumerate(r.statuses):
                    flag = "*" if s.impls[k].key in changed else ""
                    marks.append(f"{st + flag:<{cw[k]}}")
                what = ", ".join(x.at for x in r.steps) or "—"
                if r.appeared:
                    what = f"appeared in {r.appeared}; " + what
                lines.append(f"{r.id:<{w}}  " + "  ".join(marks) + "  " + what)
        lines.append("")
        lines.append(f"(* status or {'observed' if observed else 'stable'} values changed from the previous release)")
        lines.append("")
        lines.append("changes by release:")
        for i in s.impls[1:]:
            at = [(r, x) for r in s.cases for x in r.steps if x.at == i.key]
            lines.append(f"  {i.key} ({i.go_version}): {len(at)} case(s) changed")
            for r, x in at:
                lines.append(f"    {r.id}: {x.text()}")
        lines.append("")
    if len(lines) == 2:
        lines.append("no results")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_md(view: View, observed: bool = False) -> str:
    out = ["# rthooks trend", "", f"Compared: {cell(Stability(observed).note)}.", ""]
    for s in trend(view, observed):
        out.append(f"## Series {code(s.name)}")
        out.append("")
        out.append(cell(", ".join(f"{i.key} ({i.go_version})" for i in s.impls)))
        if len(s.impls) < 2:
            out += ["", "One release only: nothing to compare.", ""]
            continue
        for title, rows in (("Cases", s.cases), ("Spec items", s.items)):
            out += ["", f"### {title}", ""]
            out.append("| id | " + " | ".join(cell(_label(i)) for i in s.impls) + " | appeared | changed at |")
            out.append("|---|" + "---|" * (len(s.impls) + 2))
            for r in rows:
                changed = {x.at for x in r.steps}
                cells = [st + (" *" if s.impls[k].key in changed else "") for k, st in enumerate(r.statuses)]
                what = "<br>".join(f"{cell(x.at)}: {cell(x.text())}" for x in r.steps) or "—"
                out.append(f"| {code(r.id)} | " + " | ".join(cells) + f" | {cell(r.appeared or '—')} | {what} |")
        out.append("")
        out.append(f"`*`: status or {'observed' if observed else 'stable'} values changed from the previous release.")
        out.append("")
    return "\n".join(out) + "\n"


def render_json(view: View, observed: bool = False) -> str:
    data = {
        "compared": "observed" if observed else "stable",
        "series": [
            {
                "name": s.name,
                "implementations": [{"key": i.key, "go_version": i.go_version, "record": i.source} for i in s.impls],
                "cases": [r.to_json() for r in s.cases],
                "items": [r.to_json() for r in s.items],
            }
            for s in trend(view, observed)
        ],
    }
    return json.dumps(data, indent=1, ensure_ascii=False, default=lambda o: compact(o, 200)) + "\n"
