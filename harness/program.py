"""Turning a case into a protocol program, and observations back into bound values.

Two things a case says declaratively are compiled here, so implementations
stay simple: ``repeat: N`` becomes N copies of a step whose values are bound
as a list (for ``monotonic``), and an expectation with ``eventually`` becomes
an ``until`` on the step that binds the value it examines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case
from rthooks.protocol.refs import parse_ref


@dataclass
class Compiled:
    """A program plus the map from program step index to (bind name, repeat slot)."""

    program: dict[str, Any]
    binds: list[tuple[str | None, int | None]] = field(default_factory=list)


def _until_for(case: Case) -> dict[str, dict[str, Any]]:
    """bind name -> until clause, from expectations with ``eventually``."""
    out: dict[str, dict[str, Any]] = {}
    for exp in case.expect:
        ev = exp.get("eventually")
        if not ev or not isinstance(exp.get("of"), str):
            continue
        ref = parse_ref(exp["of"])
        if ref is None or (ref.path and ref.path[0].bracket):
            continue  # an until path starts with a field: "$x[0]" is judged on its last value only, as always
        until: dict[str, Any] = {"within_s": ev["within_s"], "gc": ev.get("poll") == "gc"}
        if ref.path:
            until["path"] = ref.dotted
        for key in ("equals", "contains"):
            if key in exp:
                until[key] = exp[key]
        if "range" in exp and exp["range"][0] is not None:
            until["at_least"] = exp["range"][0]
        out[ref.name] = until
    return out


def compile_case(case: Case, go: GoVersion) -> Compiled:
    """The protocol program for ``case`` as run by an implementation of release ``go``."""
    untils = _until_for(case)
    steps: list[dict[str, Any]] = []
    binds: list[tuple[str | None, int | None]] = []
    for step in case.steps:
        n = int(step.get("repeat", 1))
        for i in range(n):
            s = {k: v for k, v in step.items() if k in ("call", "op", "args", "with")}
            name = step.get("bind")
            if name and name in untils:
                s["until"] = untils[name]
            if name:
                s["bind"] = name if n == 1 else f"{name}__{i}"
            steps.append(s)
            binds.append((name, i if n > 1 else None))
    setup = {
        k: v for k, v in case.setup.items() if k in ("env", "goline", "godebug", "directives", "build_flags", "launch")
    }
    program = {"protocol": 1, "case": case.id, "go": str(go), "setup": setup, "steps": steps}
    return Compiled(program=program, binds=binds)


def bind_values(
    compiled: Compiled, results: dict[int, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Bound values (lists for repeated steps) and the raw step result behind each name."""
    values: dict[str, Any] = {}
    statuses: dict[str, dict[str, Any]] = {}
    for idx, (name, slot) in enumerate(compiled.binds):
        if name is None or idx not in results:
            continue
        r = results[idx]
        v = r.get("value") if r.get("status") == "ok" else {k: r[k] for k in r if k != "step"}
        if slot is None:
            values[name] = v
            statuses[name] = r
        else:
            values.setdefault(name, []).append(v)
            statuses[name] = r
    return values, statuses
