"""Comparing two implementations' observations of one program, with the case matchers.

Each run is turned into *facts*: expectations in the case format (``{of: $s0, equals: 50}``,
``{exit_status: 2}``, ``{of: stderr, regex: ...}``) that hold for that run. A divergence is a fact of
one run that :func:`rthooks.harness.matchers.evaluate` finds false on the other. Stating the
comparison as case expectations means a saved case says exactly what was compared, and where the
real runtime is nondeterministic the fact is a relation or pattern rather than an equality.
Every such loosening is in one table, :data:`LOOSENED`, with its reason; a step compared by a relation
(an area's :class:`~rthooks.harness.fuzz._strategies.Relation`) carries its own reason, and
``rthooks.harness.fuzz.areas.loosened()`` lists those.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rthooks import regex
from rthooks.harness.fuzz._strategies import Program
from rthooks.harness.matchers import Observed, evaluate
from rthooks.protocol.results import CaseResult

#: The one table of comparisons that are not plain equality: what, how it is compared instead, and why.
LOOSENED: dict[str, str] = {
    "stderr": "only lines that start with `fatal error:`, `panic:` or `runtime:` are compared (gctrace-style "
    "GODEBUG output carries timings); in them every hexadecimal number is any hexadecimal number (addresses: "
    "`runtime: sp=0x... stack=[...]`), by a regex fact",
    "traceback": "a crashing program's traceback is compared by its shape (the TRACEBACK_SHAPE patterns: which "
    "goroutines and frames it shows), not its text: goroutine numbers, addresses and line offsets differ run to run",
    "unsupported": "a step one implementation answers `unsupported` is not compared (the program is skipped and "
    "counted): the op catalogue says which ops each implementation provides",
    "build": "a setup both implementations refuse to build is compared by the lines the go command printed (each "
    "line of one run must be a line of the other), with every Go version's patch optional: the toolchain names "
    "its patch release (`running go 1.27.3`), the oracle the release it models (`running go 1.27`)",
    "both-error": "a program both implementations refuse (bad arguments, a protocol error on both sides) is the "
    "generator's fault, not a divergence: counted as invalid",
    "stderr-tracers": "while GODEBUG turns on a tracer that writes to stderr on its own (schedtrace, scheddetail, "
    "allocfreetrace) stderr is not compared, neither its lines nor a traceback's shape. schedtrace: sysmon prints a "
    "SCHED report every N ms from its own thread, and the runtime's print takes its lock per print statement, so a "
    "report can land inside the panic's lines (go1.27.3, GOMAXPROCS=227 GODEBUG=schedtrace=+1,schedtrace=+1 "
    "GOTRACEBACK=none: one run had no line starting `panic: `, the reruns had it). allocfreetrace: a stack trace for "
    "each of the driver's own allocations and frees, which the model does not have, fills stderr past the harness's "
    "1 MiB cap before the panic (go1.21.13, GODEBUG=allocfreetrace=2: stderr ended in tracealloc stacks, no "
    "`panic: ` line)",
}

# schedtrace and scheddetail report when positive (proc.go: `if debug.schedtrace > 0`); allocfreetrace when
# not zero (go1.21 malloc.go:1228 `if debug.allocfreetrace != 0`, so -1 traces too: go1.21.13
# with GODEBUG=allocfreetrace=-1 filled stderr with tracealloc stacks and no `panic: ` line).
_TRACER = re.compile(r"(?:schedtrace|scheddetail)=\+?0*[1-9]\d*|allocfreetrace=[+-]?0*[1-9]\d*")


def stderr_compared(program: Program) -> bool:
    """Whether the program's stderr is compared at all (LOOSENED["stderr-tracers"])."""
    return not any(_TRACER.fullmatch(f) for f in program.env.get("GODEBUG", "").split(","))


#: The shape of a traceback: (name, RE2 pattern). Each holds or not; both runs must agree on each.
TRACEBACK_SHAPE: tuple[tuple[str, str], ...] = (
    ("panic-line", r"(?m)^panic: "),
    ("goroutine-header", r"(?m)^goroutine \d+ "),
    ("main-goroutine", r"(?m)^goroutine 1 "),
    ("system-header", r"(?m)^goroutine \d+ gp=0x"),
    ("runtime-frames", r"(?m)^runtime\.[A-Za-z_]"),
    ("frame-registers", r" fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x"),
    ("created-by", r"(?m)^created by "),
)

_STDERR_LINE = re.compile(r"^(fatal error:|panic:|runtime:)")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_RE_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def _literal(text: str) -> str:
    """``text`` as an RE2 pattern (only RE2's metacharacters escaped: Python's re.escape also escapes
    spaces, which RE2 refuses)."""
    return _RE_SPECIAL.sub(r"\\\1", text)


def observed(result: CaseResult, program: Program) -> Observed:
    """The harness's record of one run (``run_one``'s result) as the matchers' Observed."""
    obs = result.get("observed") or {}
    values: dict[str, Any] = {}
    statuses: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(obs.get("steps") or []):
        if r is None or i >= len(program.steps):
            continue
        name = f"s{i}"
        values[name] = r.get("value") if r.get("status") == "ok" else {k: v for k, v in r.items() if k != "step"}
        statuses[name] = r
    return Observed(
        values=values,
        statuses=statuses,
        stdout=obs.get("stdout") or "",
        stderr=obs.get("stderr") or "",
        exit_status=obs.get("exit_status"),
        signal=obs.get("signal"),
    )


@dataclass
class Fact:
    """One expectation that held for a run, and the label it is grouped under."""

    expect: dict[str, Any]
    label: str


def facts(result: CaseResult, program: Program) -> list[Fact]:
    """What held for one run, as case expectations: the exit, each step's value or failure, the compared
    stderr lines and, for a program that ends in a crash, the traceback's shape."""
    obs = observed(result, program)
    out: list[Fact] = []
    if obs.signal:
        out.append(Fact({"signal": obs.signal}, "exit"))
    else:
        out.append(Fact({"exit_status": obs.exit_status}, "exit"))
    for i, label in enumerate(program.labels):
        name = f"s{i}"
        r = obs.statuses.get(name)
        if r is None:
            continue
        if r.get("status") == "ok":
            relation = program.relations.get(i)
            if relation is None:
                out.append(Fact({"of": f"${name}", "equals": r.get("value")}, label))
            else:  # a stated relation instead of equality (the area's Relation says why)
                out += [Fact(e, label) for e in relation.facts(f"${name}", r.get("value"))]
            continue
        out.append(Fact({"of": f"${name}.status", "equals": r.get("status")}, label))
        for key in ("panic_type", "panic", "error"):
            if key in r:
                out.append(Fact({"of": f"${name}.{key}", "equals": r[key]}, label))
    if not stderr_compared(program):
        return out
    for line in obs.stderr.splitlines()[:200]:
        if not _STDERR_LINE.match(line) or len(line) > 300:
            continue
        if _HEX.search(line):
            pat = "0x[0-9a-fA-F]+".join(_literal(part) for part in _HEX.split(line))
            fact = {"of": "stderr", "regex": f"(?m)^{pat}$"}
        else:
            fact = {"of": "stderr", "contains": line}
        if fact not in [f.expect for f in out]:
            out.append(Fact(fact, "stderr"))
    if program.ends_in_crash:
        for shape, pat in TRACEBACK_SHAPE:
            holds = regex.search(pat, obs.stderr) is not None
            out.append(Fact({"of": "stderr", "regex" if holds else "not_regex": pat}, f"traceback:{shape}"))
    return out


@dataclass
class Comparison:
    """The outcome of one program on two implementations."""

    kind: str  # "same", "diverged", "skip" (unsupported on a side) or "invalid" (both refused it)
    failing: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # (side whose fact failed, fact, why)
    signature: frozenset[str] = frozenset()
    note: str = ""


_BROKEN = ("error", "timeout")


def compare(program: Program, a: CaseResult, b: CaseResult, names: tuple[str, str]) -> Comparison:
    """Hold each run's facts against the other run. The signature groups divergences by what diverged
    (the labels of the failing facts; for an early end, the step where one run stopped), so that one bug
    is reported once however many programs show it."""
    sa, sb = a.get("status"), b.get("status")
    if sa == "skip" or sb == "skip":
        return Comparison("skip", note=f"{names[0]}: {sa}, {names[1]}: {sb}")
    if sa in _BROKEN and sb in _BROKEN:
        builds = [(r.get("observed") or {}).get("build") for r in (a, b)]
        if all(isinstance(t, str) for t in builds):  # both refused the build: is it the same refusal?
            return _compare_builds(program, str(builds[0]), str(builds[1]), names)
        return Comparison("invalid", note="; ".join((a.get("reasons") or []) + (b.get("reasons") or []))[:300])
    failing: list[tuple[str, dict[str, Any], str]] = []
    labels: set[str] = set()
    if (sa in _BROKEN) != (sb in _BROKEN):
        failing.append(("status", {"status": sa}, f"{names[0]} {sa}, {names[1]} {sb}"))
        labels.add(f"status:{sa if sa in _BROKEN else sb}")
    oa, ob = observed(a, program), observed(b, program)
    for side, mine, other in ((names[0], a, ob), (names[1], b, oa)):
        for fact in facts(mine, program):
            why = evaluate(fact.expect, other)
            if why is not None:
                failing.append((side, fact.expect, why))
                labels.add(fact.label)
    if not failing:
        return Comparison("same")
    if "exit" in labels:  # one run ended early: what diverged is the step it ended at, not every step after
        reached = min(len(oa.statuses), len(ob.statuses))
        labels = {"exit", program.labels[reached] if reached < len(program.labels) else "end"}
    return Comparison("diverged", failing, frozenset(f"{program.area}:{x}" for x in labels))


_GO_VERSION = re.compile(r"(?<![0-9.])(1\.[0-9]+)(?:\.[0-9]+)?(?![0-9.])")


def build_facts(text: str) -> list[dict[str, Any]]:
    """A refused build as facts: each line the go command printed (the go.mod or package header, then one
    line per refused setting), with every Go version's patch optional (LOOSENED["build"])."""
    out: list[dict[str, Any]] = []
    for line in text.strip().splitlines()[:50]:
        if not line.strip():
            continue
        parts = _GO_VERSION.split(line)  # literal, version, literal, version, ...
        pat = "".join(_literal(p) if i % 2 == 0 else _literal(p) + r"(\.[0-9]+)?" for i, p in enumerate(parts))
        fact = {"of": "build", "regex": f"(?m)^{pat}$"}
        if fact not in out:
            out.append(fact)
    return out


def _compare_builds(program: Program, a: str, b: str, names: tuple[str, str]) -> Comparison:
    """Two refused builds: each one's lines must all be in the other's."""
    failing: list[tuple[str, dict[str, Any], str]] = []
    for side, mine, other in ((names[0], a, b), (names[1], b, a)):
        for fact in build_facts(mine):
            why = evaluate(fact, Observed(build=other))
            if why is not None:
                failing.append((side, fact, why))
    if not failing:
        return Comparison("same")
    return Comparison("diverged", failing, frozenset({f"{program.area}:build"}))


def summary(result: CaseResult) -> str:
    """One run's observations in one line of JSON: status, exit, the steps and the compared stderr lines."""
    obs = result.get("observed") or {}
    lines = [ln for ln in (obs.get("stderr") or "").splitlines() if _STDERR_LINE.match(ln)][:6]
    data = {
        "status": result.get("status"),
        "exit": obs.get("exit_status"),
        "signal": obs.get("signal"),
        "steps": [{k: v for k, v in (r or {}).items() if k != "step"} for r in obs.get("steps") or []],
        "stderr": lines,
    }
    if isinstance(obs.get("build"), str):
        data["build"] = obs["build"][-300:]
    if result.get("status") in _BROKEN:
        data["reasons"] = (result.get("reasons") or [])[:3]
    return json.dumps(data, sort_keys=False)
