"""`rthooks report diff OLD NEW`: what changed between two run records.

Each (case, implementation) is a *regression* (pass/xfail -> fail/error/crash/timeout/xpass), a
*fix* (the reverse), *changed* (another status change, or the same status with different observed
values: exit status, signal, stdout, the head of stderr, a step's outcome or value), *new*,
*removed* or *unchanged*. Implementations are matched by name; with ``by="case"`` each record must
hold exactly one implementation and results are matched by case id alone, so the records of two
Go releases give the behaviours that differ between them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rthooks.errors import RthooksError
from rthooks.reports.model import FAILING, GOOD, Change, Run, observed_changes, summarize_changes

CLASSES = ("regression", "fix", "changed", "new", "removed", "unchanged")


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
class Diff:
    by: str
    old: Run
    new: Run
    entries: list[Entry]

    def count(self, cls: str) -> int:
        return sum(1 for x in self.entries if x.cls == cls)

    @property
    def regressions(self) -> int:
        return self.count("regression")


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


def diff(old: Run, new: Run, by: str = "impl") -> Diff:
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

        def key(r: dict[str, Any]) -> tuple[str, str]:
            return (r["case"], label)

    else:

        def key(r: dict[str, Any]) -> tuple[str, str]:
            return (r["case"], r["impl"])

    a = {key(r): r for r in old.record["results"]}
    b = {key(r): r for r in new.record["results"]}
    entries = []
    for k in sorted(set(a) | set(b), key=lambda k: (k[1], k[0])):
        ra, rb = a.get(k), b.get(k)
        changes = observed_changes(ra.get("observed") or {}, rb.get("observed") or {}) if ra and rb else []
        sa = ra["status"] if ra else None
        sb = rb["status"] if rb else None
        cls = classify(sa, sb, changes)
        reasons = (
            list((rb or ra or {}).get("reasons") or []) if cls in ("regression", "new", "removed", "changed") else []
        )
        entries.append(Entry(cls, k[0], k[1], sa, sb, changes, reasons))
    order = {c: n for n, c in enumerate(CLASSES)}
    entries.sort(key=lambda x: (order[x.cls], x.impl, x.case))
    return Diff(by, old, new, entries)


def render_text(d: Diff) -> str:
    lines = [
        f"rthooks report diff: {d.old.path} ({', '.join(_names(d.old))}) -> {d.new.path} ({', '.join(_names(d.new))})"
        + (", matched by case" if d.by == "case" else "")
    ]
    for x in d.entries:
        if x.cls == "unchanged":
            continue
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
    lines.append(", ".join(f"{d.count(c)} {c}" for c in CLASSES))
    if d.by == "impl" and not set(_names(d.old)) & set(_names(d.new)):
        lines.append("(no implementation in common: --by case compares two records of one implementation each)")
    return "\n".join(lines) + "\n"


def render_json(d: Diff) -> str:
    data = {
        "by": d.by,
        "old": {"file": d.old.path, "implementations": _names(d.old), "spec_revision": d.old.record["spec_revision"]},
        "new": {"file": d.new.path, "implementations": _names(d.new), "spec_revision": d.new.record["spec_revision"]},
        "summary": {c: d.count(c) for c in CLASSES},
        "entries": [x.to_json() for x in d.entries],
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
