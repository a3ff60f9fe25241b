"""Which observed values are *stable* (a change in them is a change in behaviour) and which are volatile.

Two runs of the same implementation differ in random seeds, temporary paths, heap sizes, thread
counts and timings; a diff or a trend that lists those hides the one change that matters. The
cases already say which values are exact, so no declaration is added to the case schema: the
matchers tell.

* **Stable**: the result's status; the process's exit status and signal; each step's outcome
  (``ok``, ``panic``, ``error``, ...); and every observation an ``equals`` expectation examines
  (``{of: $first, equals: 50}`` makes the value bound to ``first`` stable, ``{of: $r.stable,
  equals: true}`` only the ``stable`` field of ``r``).
* **Volatile**: everything else — values examined only by ``range``, ``tolerance``, ``regex``,
  ``contains``, ``relation``, ``histogram``, ``length``, ``monotonic``, ``one_of`` or
  ``not_equals``, or by none at all (stdout, stderr, stack traces); an ``equals`` expectation that
  carries its own ``nondeterminism`` note; and any bind named as ``$name`` in the case's
  ``nondeterminism`` note (the one way a case can mark an exactly-matched value volatile).

Names in expectations (``$first``) are bound to program steps by the case file (``bind:``, with
``repeat:``), which the record does not carry, so the cases are read from the checkout (as the
spec is). A result whose expectations differ from the case file's (the case was edited since the
record was made) or whose case is gone is compared by its statuses alone, and two results that ran
different versions of a case only by what both observed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.harness import matchers
from rthooks.harness.cases import Case, cases_in_file
from rthooks.harness.matchers import Observed
from rthooks.harness.program import Compiled, bind_values, compile_case
from rthooks.protocol.refs import parse_ref
from rthooks.reports.model import ABSENT_VALUE, Change, observed_changes
from rthooks.spec.lint.engine import cases_root

#: What a default diff or trend compares, and what ``--observed`` does, in the words the commands print.
STABLE_NOTE = "statuses and stable values (exit status, signal, step outcomes, values matched by `equals`)"
OBSERVED_NOTE = "every observed value (--observed)"


@dataclass(frozen=True)
class _Plan:
    """For one case: its expectations (to check a record ran the same ones) and how to read its binds."""

    expected: str  # the expectations as canonical JSON
    refs: tuple[str, ...]  # the references an exact `equals` examines, minus the volatile ones
    binds: tuple[tuple[str | None, int | None], ...]  # program step index -> (bind name, repeat slot)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def stable_refs(expected: list[Any], nondeterminism: Any = None) -> list[str]:
    """The references (``$name.path``, ``stdout``, ...) whose values are stable, in expectation order."""
    note = nondeterminism if isinstance(nondeterminism, str) else ""
    out: list[str] = []
    for exp in expected:
        if not isinstance(exp, dict) or "equals" not in exp or not isinstance(exp.get("of"), str):
            continue
        if exp.get("nondeterminism"):
            continue
        ref = exp["of"]
        parsed = parse_ref(ref)
        if parsed and re.search(r"\$" + re.escape(parsed.name) + r"\b", note):
            continue
        if ref not in out:
            out.append(ref)
    return out


class Stability:
    """Compares results as a diff or a trend does: by stable values (default) or every observed value.

    The cases are read once, on first use, only when stable values are compared.
    """

    def __init__(self, observed: bool = False, cases: dict[str, Case] | None = None) -> None:
        self.observed = observed
        self._cases = cases
        self._plans: dict[str, _Plan | None] = {}

    @property
    def note(self) -> str:
        return OBSERVED_NOTE if self.observed else STABLE_NOTE

    def _all_cases(self) -> dict[str, Case]:
        if self._cases is None:
            self._cases = _load_cases()
        return self._cases

    def _plan(self, case_id: str) -> _Plan | None:
        if case_id not in self._plans:
            case = self._all_cases().get(case_id)
            plan = None
            if case is not None:
                plan = _Plan(
                    _canonical(case.expect),
                    tuple(stable_refs(case.expect, case.data.get("nondeterminism"))),
                    tuple(compile_case(case, GoVersion(0)).binds),
                )
            self._plans[case_id] = plan
        return self._plans[case_id]

    def values(self, case_id: str, expected: list[Any], observed: dict[str, Any]) -> dict[str, Any]:
        """The stable values of one result, ``path -> value`` (empty when nothing was observed: a skip)."""
        out: dict[str, Any] = {}
        if not isinstance(observed, dict) or not observed:
            return out
        for k in ("exit_status", "signal"):
            if k in observed:
                out[k] = observed[k]
        steps = observed.get("steps")
        by_index: dict[int, dict[str, Any]] = {}
        if isinstance(steps, list):
            for i, st in enumerate(steps):
                if isinstance(st, dict):
                    n = st.get("step", i)
                    out[f"steps[{n}].status"] = st.get("status")
                    if isinstance(n, int):
                        by_index[n] = st
        plan = self._plan(case_id)
        if plan is None or plan.expected != _canonical(expected) or not plan.refs:
            return out
        values, statuses = bind_values(Compiled(program={}, binds=list(plan.binds)), by_index)
        obs = Observed(
            values=values,
            statuses=statuses,
            stdout=str(observed.get("stdout") or ""),
            stderr=str(observed.get("stderr") or ""),
            exit_status=observed.get("exit_status"),
            signal=observed.get("signal"),
            build=observed.get("build") if isinstance(observed.get("build"), str) else None,
        )
        for ref in plan.refs:
            got = obs.resolve(ref)
            out[ref] = got if _present(got) else ABSENT_VALUE
        return out

    def changes(
        self, case_id: str, old: tuple[list[Any], dict[str, Any]], new: tuple[list[Any], dict[str, Any]]
    ) -> list[Change]:
        """Where two results of a case differ: ``old`` and ``new`` are (expected, observed)."""
        if self.observed:
            return observed_changes(old[1], new[1])
        a, b = self.values(case_id, *old), self.values(case_id, *new)
        if not a or not b:
            return []
        # Two records that ran different versions of the case (edited in between) differ in steps and
        # expectations by construction: only what both observed is compared.
        # A step that ran on one side only (the process ended earlier on the other) shows in the exit
        # status, signal or the result's status; its own outcome is compared where both ran it.
        paths = set(a) | set(b) if _canonical(old[0]) == _canonical(new[0]) else set(a) & set(b)
        paths -= {p for p in paths if p.startswith("steps[") and (p not in a or p not in b)}
        return [
            Change(p, a.get(p, ABSENT_VALUE), b.get(p, ABSENT_VALUE))
            for p in sorted(paths)
            if a.get(p, ABSENT_VALUE) != b.get(p, ABSENT_VALUE)
        ]


def _present(value: Any) -> bool:
    return value is not matchers._MISSING


def _load_cases() -> dict[str, Case]:
    """Every case of the checkout by id; none (statuses only) when there is no cases/ folder, and a
    file that does not load (one being edited) leaves only its own cases to statuses."""
    root = cases_root()
    if root is None or not root.is_dir():
        return {}
    out: dict[str, Case] = {}
    for path in sorted(root.rglob("*.yaml")):
        try:
            out.update((c.id, c) for c in cases_in_file(path))
        except RthooksError:  # a case file being edited: its cases are compared by status alone
            continue
    return out
