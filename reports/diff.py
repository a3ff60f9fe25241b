"""`rthooks report diff OLD NEW`: what changed between two run records.

Each (case, implementation) is a *regression* (pass/xfail -> fail/error/crash/timeout/xpass), a
*fix* (the reverse), *changed* (another status change, or the same status with different stable
values), *new*, *removed* or *unchanged*. By default only statuses and stable values are compared
(rthooks.reports.stability: exit status, signal, step outcomes and values matched by ``equals``);
``observed=True`` (``--observed``) compares every observed value, as stable() masks them
(exit status, signal, stdout, the message lines of stderr, each step's outcome and values).

Implementations are matched by name; one that only one record holds is reported as one line
(its results counted by status), not once per case. With ``by="case"`` each record must hold
exactly one implementation and results are matched by case id alone, so the records of two Go
releases give the behaviours that differ between them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rthooks.errors import RthooksError
from rthooks.protocol.results import CaseResult
from rthooks.protocol.statuses import FAILING, GOOD, STATUSES
from rthooks.reports.model import Change, Run, observed_changes, summarize_changes
from rthooks.reports.stability import OBSERVED_NOTE, STABLE_NOTE, Stability

CLASSES = ("regression", "fix", "changed", "new", "removed", "unchanged")
#: What ``--only`` selects.
ONLY = ("regressions", "fixes", "changes")
_ONLY_CLASSES = {"regressions": {"regression"}, "fixes": {"fix"}, "changes": {"regression", "fix", "changed"}}


@dataclass
class Entry:
    cls: str
    case: str
    impl: str
    old: str | None
    new: str | None
    changes: list[Change] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.cls,
            "case": self.case,
            "impl": self.impl,
            "old": self.old,
            "new": self.new,
            "observed": [c.to_json() for c in self.changes],
            "reasons": self.reasons,
        }


@dataclass
class OneSided:
    """An implementation only one of the records holds: one line, its results counted by status."""

    impl: str
    side: str  # "old" | "new"
    statuses: dict[str, int]

    @property
    def results(self) -> int:
        return sum(self.statuses.values())

    def text(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.statuses.items())
        return f"{self.impl} ({self.results} result(s)" + (f": {counts})" if counts else ")")

    def to_json(self) -> dict[str, Any]:
        return {"impl": self.impl, "results": self.results, "statuses": self.statuses}


@dataclass
class Diff:
    by: str
    old: Run
    new: Run
    entries: list[Entry]
    observed: bool = False
    only_old: list[OneSided] = field(default_factory=list)
    only_new: list[OneSided] = field(default_factory=list)
    #: Results whose status and stable values are unchanged but whose other observed values moved
    #: (seeds, paths, sizes): counted, not listed, when only stable values are compared.
    volatile_only: int = 0

    def count(self, cls: str) -> int:
        return sum(1 for x in self.entries if x.cls == cls)

    @property
    def regressions(self) -> int:
        return self.count("regression")

    def shown(self, only: str | None) -> list[Entry]:
        """The entries a listing shows: every change (not the unchanged), or those ``--only`` selects."""
        if only is None:
            return [x for x in self.entries if x.cls != "unchanged"]
        want = _ONLY_CLASSES[only]
        return [x for x in self.entries if x.cls in want]


def classify(old: str | None, new: str | None, changes: list[Change]) -> str:
    if old is None:
        return "new"
    if new is None:
        return "removed"
    if old in GOOD and new in FAILING:
        return "regression"
    if old in FAILING and new in GOOD:
        return "fix"
    if old != new or changes:
        return "changed"
    return "unchanged"


def _names(run: Run) -> list[str]:
    names = [i["name"] for i in run.record["implementations"]]
    return names + sorted({r["impl"] for r in run.record["results"]} - set(names))


def _one_sided(run: Run, names: list[str], side: str) -> list[OneSided]:
    counts: dict[str, Counter[str]] = {n: Counter() for n in names}
    for r in run.record["results"]:
        if r["impl"] in counts:
            counts[r["impl"]][r["status"]] += 1
    return [
        OneSided(
            n, side, {s: counts[n][s] for s in (*STATUSES, *sorted(set(counts[n]) - set(STATUSES))) if counts[n][s]}
        )
        for n in names
    ]


def diff(old: Run, new: Run, by: str = "impl", observed: bool = False, stability: Stability | None = None) -> Diff:
    """Compare two records (see the module's docstring); ``stability`` may be shared between calls."""
    judge = stability or Stability(observed)
    only_old: list[OneSided] = []
    only_new: list[OneSided] = []
    if by == "case":
        for run in (old, new):
            names = _names(run)
            if len(names) != 1:
                raise RthooksError(
                    f"--by case needs a record with exactly one implementation; this one has {len(names)}"
                    + (f" ({', '.join(names)})" if names else ""),
                    where=run.path,
                )
        label = f"{_names(old)[0]} -> {_names(new)[0]}"

        def key(r: CaseResult) -> tuple[str, str]:
            return (r["case"], label)

        common = None
    else:

        def key(r: CaseResult) -> tuple[str, str]:
            return (r["case"], r["impl"])

        a_names, b_names = _names(old), _names(new)
        common = set(a_names) & set(b_names)
        only_old = _one_sided(old, [n for n in a_names if n not in common], "old")
        only_new = _one_sided(new, [n for n in b_names if n not in common], "new")

    a = {key(r): r for r in old.record["results"] if common is None or r["impl"] in common}
    b = {key(r): r for r in new.record["results"] if common is None or r["impl"] in common}
    entries = []
    volatile_only = 0
    for k in sorted(set(a) | set(b), key=lambda k: (k[1], k[0])):
        ra, rb = a.get(k), b.get(k)
        changes: list[Change] = []
        if ra and rb:
            changes = judge.changes(
                k[0],
                (list(ra.get("expected") or []), ra.get("observed") or {}),
                (list(rb.get("expected") or []), rb.get("observed") or {}),
            )
        sa = ra["status"] if ra else None
        sb = rb["status"] if rb else None
        cls = classify(sa, sb, changes)
        if (
            cls == "unchanged"
            and not judge.observed
            and ra
            and rb
            and observed_changes(ra.get("observed") or {}, rb.get("observed") or {})
        ):
            volatile_only += 1
        reasons = (
            list((rb or ra or {}).get("reasons") or []) if cls in ("regression", "new", "removed", "changed") else []
        )
        entries.append(Entry(cls, k[0], k[1], sa, sb, changes, reasons))
    order = {c: n for n, c in enumerate(CLASSES)}
    entries.sort(key=lambda x: (order[x.cls], x.impl, x.case))
    return Diff(by, old, new, entries, judge.observed, only_old, only_new, volatile_only)


def summary_line(d: Diff) -> str:
    line = "summary: " + ", ".join(f"{d.count(c)} {c}" for c in CLASSES)
    if d.volatile_only:
        line += f"; {d.volatile_only} unchanged but for volatile values (--observed lists them)"
    if d.only_old or d.only_new:
        line += f"; implementations only in OLD: {len(d.only_old)}, only in NEW: {len(d.only_new)}"
    return line


def render_text(d: Diff, only: str | None = None) -> str:
    """The summary first, then one line per implementation only one record holds, then the changes."""
    lines = [
        f"rthooks report diff: {d.old.path} ({', '.join(_names(d.old))}) -> {d.new.path} ({', '.join(_names(d.new))})"
        + (", matched by case" if d.by == "case" else ""),
        "compared: " + (OBSERVED_NOTE if d.observed else STABLE_NOTE),
        summary_line(d),
    ]
    for one in d.only_old:
        lines.append(f"only in OLD: {one.text()}")
    for one in d.only_new:
        lines.append(f"only in NEW: {one.text()}")
    if d.by == "impl" and not set(_names(d.old)) & set(_names(d.new)):
        lines.append("(no implementation in common: --by case compares two records of one implementation each)")
    shown = d.shown(only)
    if only is not None:
        lines.append(f"listed: {only} only ({len(shown)})")
    for x in shown:
        if x.cls == "new":
            what = f"({x.new})"
        elif x.cls == "removed":
            what = f"(was {x.old})"
        elif x.old != x.new:
            what = f"{x.old} -> {x.new}"
        else:
            what = f"{x.new}"
        if x.changes:
            what += f"; observed {summarize_changes(x.changes)}"
        if x.reasons and x.cls in ("regression", "changed") and x.new in FAILING:
            what += f"; {'; '.join(x.reasons)[:200]}"
        lines.append(f"{x.cls:<11} {x.impl}  {x.case}  {what}")
    return "\n".join(lines) + "\n"


def render_json(d: Diff, only: str | None = None) -> str:
    summary: dict[str, int] = {c: d.count(c) for c in CLASSES}
    summary["volatile_only"] = d.volatile_only
    data = {
        "by": d.by,
        "compared": "observed" if d.observed else "stable",
        "old": {"file": d.old.path, "implementations": _names(d.old), "spec_revision": d.old.record["spec_revision"]},
        "new": {"file": d.new.path, "implementations": _names(d.new), "spec_revision": d.new.record["spec_revision"]},
        "summary": summary,
        "only_old": [x.to_json() for x in d.only_old],
        "only_new": [x.to_json() for x in d.only_new],
        "only": only,
        "entries": [x.to_json() for x in (d.entries if only is None else d.shown(only))],
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
