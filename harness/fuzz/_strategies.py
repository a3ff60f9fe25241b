"""Hypothesis strategies for generated programs, derived from the spec rather than written per function.

Argument domains come from the signatures in spec/api/*.yaml (``func SetGCPercent(percent int) int``:
an ``int`` is drawn from its whole range with its boundaries 0, ±1, minimum and maximum favoured);
the environment grammars come from spec/env.yaml (the `syntax` line names GOMEMLIMIT's unit suffixes
and GOTRACEBACK's words, the `parse` table's inputs are the spec's own worked examples) and
spec/godebug.yaml (every key of the release, with its default and old values). What is narrowed,
and why, is in one table, :data:`DOMAIN_LIMITS`: a narrowed domain is a blind spot, so each has a reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from rthooks.goversion import GoVersion
from rthooks.harness.impls import BATCH_CALLS
from rthooks.spec.load import Item, Spec

# ---- programs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """How one step's value is compared where equality would be wrong on a real runtime.

    ``facts(ref, value)`` turns the value one run observed into case expectations about ``ref`` (``$s3``)
    that must hold on the other run too: ``[{"of": ref, "at_least": 1}]`` rather than
    ``[{"of": ref, "equals": 7}]`` (the matchers of harness/matchers.py, as a case states them).
    ``reason`` says why; it is written into a saved case's ``nondeterminism``, and every relation of
    every area is listed, with its reason, by ``rthooks.harness.fuzz.areas.loosened()``."""

    name: str
    reason: str
    facts: Callable[[str, Any], list[dict[str, Any]]]


@dataclass
class Program:
    """A generated program: the environment it starts with, its steps, and what each step probes.

    ``labels[i]`` names what step i observes (a call id, or ``GOGC:<clause>`` for an environment probe):
    the comparison groups divergences by it, so one bug found once is not reported again under another
    input. ``covers`` are the clauses a saved case names. ``relations[i]``, where present, compares step
    i's value by a relation instead of equality. ``setup`` holds case setup beyond the environment
    (goline, godebug, directives, build_flags, launch) and ``requires`` the case's requirements.
    """

    area: str
    env: dict[str, str] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    covers: list[str] = field(default_factory=list)
    relations: dict[int, Relation] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    requires: dict[str, Any] = field(default_factory=dict)
    step_covers: dict[int, list[str]] = field(default_factory=dict)  # the clauses a step exercises, if given

    def add(
        self, step: dict[str, Any], label: str, relation: Relation | None = None, covers: list[str] | None = None
    ) -> str:
        """Append a step that binds its value to ``s<index>`` (the names the comparison refers to);
        return that name, so a later step can refer to the value as ``$s<index>``. ``covers``: the clauses
        the step exercises (added to the program's; the step-dropping shrink keeps those of the steps left)."""
        name = f"s{len(self.steps)}"
        if relation is not None:
            self.relations[len(self.steps)] = relation
        if covers:
            self.step_covers[len(self.steps)] = list(covers)
            self.cover(*covers)
        self.steps.append({**step, "bind": name})
        self.labels.append(label)
        return name

    def cover(self, *clauses: str) -> None:
        """Add clauses the program exercises to ``covers``, each once, in order."""
        self.covers += [c for c in dict.fromkeys(clauses) if c not in self.covers]

    def without(self, index: int) -> Program:
        """The program with step ``index`` left out (the later steps renumbered, their relations kept).
        A later step that refers to the dropped step's value (``$s<index>``) cannot run without it, so
        the caller must not drop such a step (:meth:`referenced`)."""
        out = Program(area=self.area, env=dict(self.env), setup=dict(self.setup), requires=dict(self.requires))
        renamed: dict[str, str] = {}
        for j, (step, label) in enumerate(zip(self.steps, self.labels, strict=True)):
            if j == index:
                continue
            body = _renamed({k: v for k, v in step.items() if k != "bind"}, renamed)
            renamed[f"s{j}"] = out.add(body, label, self.relations.get(j), self.step_covers.get(j))
        return out

    def referenced(self, index: int) -> bool:
        """Whether a later step refers to step ``index``'s value (``$s<index>``)."""
        ref = f"$s{index}"
        return any(_mentions(step, ref) for step in self.steps[index + 1 :])

    @property
    def ends_in_crash(self) -> bool:
        """Whether the last step is an unrecovered panic (its stderr is then compared by traceback shape)."""
        last = self.steps[-1] if self.steps else {}
        return last.get("op") == "panic" and (last.get("with") or {}).get("recover") is False

    def case_data(self, case_id: str, covers: list[str] | None = None) -> dict[str, Any]:
        """The program as a case (the format of cases/*.yaml), without expectations."""
        data: dict[str, Any] = {"id": case_id, "covers": list(covers if covers is not None else self.covers)}
        if self.requires:
            data["requires"] = dict(self.requires)
        setup = {**({"env": dict(self.env)} if self.env else {}), **self.setup}
        if setup:
            data["setup"] = setup
        reasons = sorted({r.reason for r in self.relations.values()})
        if reasons:
            data["nondeterminism"] = " ".join(reasons)
        data["steps"] = [dict(s) for s in self.steps]
        data["expect"] = []
        data["timeout_s"] = 20
        return data


def _mentions(value: Any, ref: str) -> bool:
    if isinstance(value, str):
        return value == ref or value.startswith((ref + ".", ref + "["))
    if isinstance(value, dict):
        return any(_mentions(v, ref) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, ref) for v in value)
    return False


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every reference ``$old`` (or ``$old.field``, ``$old[0]``) to a renumbered step made ``$new``."""
    if isinstance(value, str) and value.startswith("$"):
        m = re.match(r"\$(\w+)(.*)", value, re.S)
        if m is None:
            return value
        head, rest = m.group(1), m.group(2)
        return f"${names[head]}{rest}" if head in names else value
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


# ---- argument domains from signatures --------------------------------------------------------------

INT64 = (-(1 << 63), (1 << 63) - 1)
_INT_RANGES: dict[str, tuple[int, int]] = {
    "int": INT64,  # linux/amd64, the platform the spec describes
    "int64": INT64,
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int8": (-128, 127),
    "uint": (0, (1 << 64) - 1),
    "uint64": (0, (1 << 64) - 1),
    "uintptr": (0, (1 << 64) - 1),
    "uint32": (0, (1 << 32) - 1),
    "uint16": (0, (1 << 16) - 1),
    "uint8": (0, 255),
    "byte": (0, 255),
    "time.Duration": INT64,
}
_DURATION_UNITS = (1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000, 3_600_000_000_000)


@dataclass(frozen=True)
class Limit:
    """A narrowed argument domain, with why: values from lo to hi, except those in ``gap`` (lo inclusive,
    hi exclusive), which are moved up past it (so shrinking towards 0 ends at the gap's upper end)."""

    lo: int
    hi: int
    reason: str
    gap: tuple[int, int] | None = None


#: The one table of narrowed domains: (call id, parameter) -> the range drawn from and why.
DOMAIN_LIMITS: dict[tuple[str, str], Limit] = {
    ("runtime.GOMAXPROCS", "n"): Limit(
        -(1 << 63),
        64,
        "each P costs memory and a GC worker; far above the CPU count the process hits the sandbox's address-space "
        "and thread limits, which is the harness's resource policy, not runtime semantics (env:GOMAXPROCS keeps "
        "the whole int32 range through the env area)",
    ),
    ("runtime.SetCPUProfileRate", "hz"): Limit(
        -(1 << 63),
        10_000,
        "a profiling timer above 10 kHz spends the step in signal handling; the clamp at 1e6 Hz is not observable "
        "from the call (it returns nothing)",
    ),
    ("env:GOMAXPROCS", "value"): Limit(
        0,
        256,
        "a process with thousands of Ps starts a GC worker per P and takes seconds to run a probe (GOMAXPROCS=100000, "
        "a worked example of the spec, ran 10-15 s and then died of out of memory under the sandbox's 4 GiB "
        "address-space limit), which would spend the budget on a few programs; values stop at 256. The int32 maximum "
        "is not drawn either: the runtime accepts it (no upper bound) and procresize then needs 2^31 Ps, a 16 GiB "
        "allp array before the Ps themselves, so every host runs out of memory, and how it ends is the host's: "
        "go1.27.3 under the sandbox's limit printed `runtime: out of memory: cannot allocate 17179869184-byte block "
        "(4128768 in use)` / `fatal error: out of memory`, exit 2 (another run: 8323072 in use; spec/env.yaml's parse "
        "row for 2147483647), "
        "elsewhere a larger allocation fails or the kernel kills it. 2147483648 (int32 overflow: ignored at once) "
        "and the other boundaries are still drawn",
    ),
    ("runtime/debug.SetMaxStack", "bytes"): Limit(
        INT64[0],
        INT64[1],
        "a limit below the stack the driver's goroutine already has kills the process at the stack's next growth, "
        "and whether a later step grows it (after a GC shrank it, or deeper in a call) is not deterministic: "
        "go1.27.3 ran SetMaxStack(896) then GOMAXPROCS(0) and died `runtime: goroutine stack exceeds 896-byte limit` "
        "/ `fatal error: stack overflow` in one run and not in its rerun (a flaky divergence). Limits from 0 to "
        "1 MiB are moved up by 1 MiB; negative limits (uintptr(n): no limit at all) and larger ones are still "
        "drawn, and the limit itself is held by cases (debug-setmaxstack-*)",
        gap=(0, 1 << 20),
    ),
    ("runtime/debug.SetMaxThreads", "threads"): Limit(
        200,
        INT64[1],
        "a limit below the threads the process already has throws at once, and that count (4-10 at start-up, more "
        "with GOMAXPROCS and GC workers) is not deterministic, so the same program could crash or not",
    ),
}


def _boundaries(lo: int, hi: int) -> list[int]:
    return sorted({x for x in (0, 1, -1, lo, hi) if lo <= x <= hi})


def integers(type_name: str, lo_hi: tuple[int, int] | None = None) -> st.SearchStrategy[int]:
    """Integers of a Go type: its boundaries (0, ±1, minimum, maximum) first, then the whole range."""
    lo, hi = lo_hi or _INT_RANGES[type_name]
    bounds = _boundaries(lo, hi)
    if type_name == "time.Duration":  # durations: whole units too (1ns, 1µs, 1ms, 1s, 1m, 1h, and negated)
        bounds += [u * s for u in _DURATION_UNITS for s in (1, -1) if lo <= u * s <= hi]
    return _snapped(st.integers(lo, hi), st.sampled_from(sorted(set(bounds))))


@st.composite
def _snapped(draw: Callable[..., Any], anywhere: st.SearchStrategy[int], bounds: st.SearchStrategy[int]) -> int:
    """Half the time a boundary, else any value. Both are drawn every time, so when Hypothesis shrinks a
    failing boundary it can let go of the snap and shrink the free value instead (a one_of would leave the
    shrinker stuck on the boundary branch: a bug from 500 upwards would be reported at the maximum)."""
    value: int = draw(anywhere)
    bound: int = draw(bounds)
    return bound if draw(st.booleans()) else value


def strings() -> st.SearchStrategy[str]:
    """Printable ASCII text (what a case file may hold), short."""
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


_PARAMS = re.compile(r"\bfunc\s+(?:\([^)]*\)\s*)?\w+\(([^)]*)\)")


def parameters(signature: str) -> list[tuple[str, str]]:
    """``func SetGCPercent(percent int) int`` -> [("percent", "int")] (``a, b int`` share the type)."""
    m = _PARAMS.search(signature)
    if not m or not m.group(1).strip():
        return []
    out: list[tuple[str, str]] = []
    pending: list[str] = []
    for part in (p.strip() for p in m.group(1).split(",")):
        words = part.split(None, 1)
        if len(words) == 1:
            pending.append(words[0])
            continue
        for name in [*pending, words[0]]:
            out.append((name, words[1].strip()))
        pending = []
    return out


def argument(item_id: str, name: str, type_name: str, grammars: dict[str, st.SearchStrategy[str]]) -> Any:
    """The strategy for one parameter of a spec function, from its type (and :data:`DOMAIN_LIMITS`)."""
    limit = DOMAIN_LIMITS.get((item_id, name))
    if type_name in _INT_RANGES:
        if limit:
            lo, hi = _INT_RANGES[type_name]
            values = integers(type_name, (max(lo, limit.lo), min(hi, limit.hi)))
            if limit.gap is not None:
                g0, g1 = limit.gap
                values = values.map(lambda x: x + (g1 - g0) if g0 <= x < g1 else x)
            return values
        return integers(type_name)
    if type_name == "bool":
        return st.booleans()
    if type_name == "string":
        return grammars.get(f"{item_id}({name})", strings())
    if type_name in ("float64", "float32"):
        return st.floats(allow_nan=False, allow_infinity=False, width=64 if type_name == "float64" else 32)
    raise ValueError(f"{item_id}: no domain for parameter {name} of type {type_name}")


def call_arguments(item: Item, grammars: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[Any]]:
    """The arguments of a call of ``item``, one strategy per parameter of its signature."""
    sig = str(item.data.get("signature") or "")
    return st.tuples(*(argument(item.id, n, t, grammars) for n, t in parameters(sig))).map(list)


# ---- environment grammars from spec/env.yaml and spec/godebug.yaml ------------------------------------


def _worked_examples(item: Item) -> list[str]:
    """The inputs of the item's `parse` table (the spec's worked examples), without "(unset)"."""
    return [str(p["input"]) for p in item.data.get("parse") or [] if str(p["input"]) != "(unset)"]


@st.composite
def _decorated(draw: Callable[..., Any], core: st.SearchStrategy[str]) -> str:
    """A value with the mistakes users make: a sign, a space before or after, an underscore inside."""
    text: str = draw(core)
    if draw(st.booleans()):
        if draw(st.booleans()) and len(text) > 1:
            i = draw(st.integers(1, len(text) - 1))
            text = text[:i] + "_" + text[i:]
        text = draw(st.sampled_from(["", "+", "-", " "])) + text + draw(st.sampled_from(["", " "]))
    return text


def _digits(lo: int, hi: int, extra: tuple[int, ...] = ()) -> st.SearchStrategy[str]:
    """Decimal digits: the boundaries of an int type and just past them (overflow), then anything between."""
    bounds = sorted({0, 1, 2, hi, hi + 1, *extra} - {x for x in extra if x < 0})
    return st.one_of(st.sampled_from(bounds), st.integers(0, hi + 2)).map(str)


def gogc_values(item: Item) -> st.SearchStrategy[str]:
    """GOGC: "off" (the syntax's word), int32 decimals with their overflow, signs, spaces, underscores."""
    hi = _INT_RANGES["int32"][1]
    return st.one_of(
        st.sampled_from(["off", *_worked_examples(item)]),
        _decorated(st.one_of(_digits(0, hi, (100,)), st.sampled_from(["off", "OFF", "Off"]))),
    )


_UNITS = re.compile(r"\[([A-Za-z|]+)\]")


def gomemlimit_values(item: Item) -> st.SearchStrategy[str]:
    """GOMEMLIMIT: digits with every unit suffix the syntax names (and near-misses: PiB, KB, kib, Ki), int64
    overflow (also by the unit's multiplication), signs, spaces, underscores, "off"."""
    m = _UNITS.search(str(item.data.get("syntax") or ""))
    units = m.group(1).split("|") if m else ["B", "KiB", "MiB", "GiB", "TiB"]
    near = ["PiB", "KB", "kib", "Ki", "b", "iB"]
    hi = INT64[1]
    tib = hi >> 40  # the largest count of TiB that fits
    number = _digits(0, hi, (1024, tib, tib + 1))
    with_unit = st.builds(lambda n, u: n + u, number, st.sampled_from(["", *units, *near]))
    return st.one_of(st.sampled_from(["off", *_worked_examples(item)]), _decorated(with_unit))


def gomaxprocs_values(item: Item) -> st.SearchStrategy[str]:
    """GOMAXPROCS: small counts (what a program can afford), int32 boundaries and overflow, junk forms."""
    hi = _INT_RANGES["int32"][1]
    limit = DOMAIN_LIMITS[("env:GOMAXPROCS", "value")]
    small = st.integers(limit.lo, limit.hi).map(str)
    edges = st.sampled_from([str(x) for x in (0, 1, 2, hi + 1)])  # not hi: see DOMAIN_LIMITS
    affordable = [x for x in _worked_examples(item) if (_fits(x, 64) or 0) <= limit.hi or x == str(hi + 1)]
    return st.one_of(st.sampled_from(affordable), _decorated(st.one_of(small, edges, st.just("0x2"))))


def gotraceback_values(item: Item) -> st.SearchStrategy[str]:
    """GOTRACEBACK: the words of its syntax line, the numeric levels (with uint32 overflow), other case, junk."""
    syntax = str(item.data.get("syntax") or "")
    words = re.findall(r"[a-z]+", syntax.partition("=")[2].partition("(")[0])
    words = [w for w in words if w not in ("decimal", "level")] or ["none", "single", "all", "system", "crash"]
    levels = _digits(0, (1 << 32) - 1, (3, 4))
    return st.one_of(
        st.sampled_from(["", *words, *_worked_examples(item)]),
        _decorated(st.one_of(st.sampled_from(words).map(lambda w: w.upper() if len(w) % 2 else w), levels)),
    )


#: GODEBUG keys never generated, with why (so a blind spot is written down, as for DOMAIN_LIMITS).
GODEBUG_EXCLUDED: dict[str, str] = {
    "sbrk": "any value other than 0 replaces the allocator with a never-freeing one, which the oracle does not model "
    "(oracle/cutoffs.py sbrk-unmodelled: go1.24 hangs, go1.25+ may throw taggedPointerPack), and real Go's outcome "
    "is not repeatable: CI's tox -e fuzz saw GODEBUG=...,sbrk=2,... end a panic(nil) program with exit 2 and no "
    "output, marked flaky by the rerun, while 8 runs of the same program on an idle machine exited 0",
}


#: GODEBUG values not drawn on a release where the spec records a deviation of that key: real Go is known
#: to break the documented behaviour the oracle models, and the spec's deviation (with its evidence) is
#: the record, so drawing the value would only find it again. Other releases still draw it.
GODEBUG_DEVIATING: dict[str, frozenset[int]] = {
    "gcstoptheworld": frozenset({2}),  # go1.21: "fatal error: failed to set sweep barrier" (golang/go#53885)
}


def deviates(item: Item, go: GoVersion) -> bool:
    """Whether the spec records a deviation of any clause of ``item`` in release ``go`` (``until`` excluded)."""
    for clause in item.data.get("clauses") or []:
        for dev in clause.get("deviations") or []:
            until = dev.get("until")
            if GoVersion.parse(str(dev["go"])) <= go and (until is None or go < GoVersion.parse(str(until))):
                return True
    return False


def _deviating(spec: Spec, go: GoVersion) -> dict[str, frozenset[int]]:
    return {
        key: values
        for key, values in GODEBUG_DEVIATING.items()
        if f"godebug:{key}" in spec.items and deviates(spec.get(f"godebug:{key}"), go)
    }


def _drawable(fields: str, deviating: dict[str, frozenset[int]]) -> bool:
    """Whether no field of a GODEBUG value sets a deviating key to a deviating number (as the runtime's
    atoi reads it: a sign, then digits)."""
    for f in fields.split(","):
        key, _, value = f.partition("=")
        m = re.fullmatch(r"([+-]?)(\d+)", value)
        if key in deviating and m and int(m.group(2)) * (-1 if m.group(1) == "-" else 1) in deviating[key]:
            return False
    return True


def godebug_keys(spec: Spec, go: GoVersion) -> list[Item]:
    """Every GODEBUG key the release knows or once knew (removed keys are part of the grammar: go1.27
    refuses a removed key set to its old value)."""
    return [it for it in spec if it.kind == "godebug" and it.since <= go and it.data["name"] not in GODEBUG_EXCLUDED]


def documented_values(item: Item) -> list[str]:
    """A key's documented values: its default, its old value(s), and 0/1 for a runtime variable."""
    table = item.data.get("table") or {}
    vals = [item.data.get("default"), table.get("old"), *(table.get("old_values") or [])]
    if item.data.get("runtime_var"):
        vals += ["0", "1"]
    return sorted({str(v) for v in vals if v is not None})


def godebug_values(spec: Spec, go: GoVersion) -> st.SearchStrategy[str]:
    """GODEBUG: comma-separated fields from every key with its documented values, some undocumented
    values, duplicates (a key list drawn with repeats), empty fields, fields without '=', unknown keys,
    padded and upper-case keys; panicnil often, since the env probe observes it."""
    keys = godebug_keys(spec, go)
    known = st.sampled_from([f"{it.data['name']}={v}" for it in keys for v in documented_values(it) or ["0"]])
    undocumented = st.builds(
        lambda it, v: f"{it.data['name']}={v}", st.sampled_from(keys), st.sampled_from(["2", "-1", "+1", "x", ""])
    )
    panicnil = st.sampled_from(["panicnil=0", "panicnil=1", "panicnil=+1", "panicnil=2", "panicnil=abc"])
    odd = st.sampled_from(["", "junk", "=1", "panicnil", " panicnil=1", "PANICNIL=1", "nosuchkey=1", "x=1=2"])
    field_ = st.one_of(panicnil, known, odd, undocumented)
    values = st.lists(field_, min_size=1, max_size=6).map(",".join)
    deviating = _deviating(spec, go)
    return values.filter(lambda v: _drawable(v, deviating)) if deviating else values


# ---- the env area: one process per program (start-up state) -----------------------------------------

ENV_VARS = ("GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG", "GOTRACEBACK")


def _fits(text: str, bits: int) -> int | None:
    m = re.fullmatch(r"([+-]?)(\d+)", text)
    if not m:
        return None
    n = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
    return n if -(1 << (bits - 1)) <= n < (1 << (bits - 1)) else None


def env_clause(var: str, value: str, spec: Spec) -> str:
    """The clause of env:VAR that a value exercises (its class in the grammar): for a saved case's `covers`,
    and to tell one divergence from another."""
    if var == "GOGC":
        n = _fits(value, 32)
        clause = (
            "off-disables" if value == "off"
            else "default-100" if value == ""
            else "invalid-silently-100" if n is None
            else "plus-sign-126" if value.startswith("+")
            else "negative-disables" if n < 0
            else "sets-target"
        )  # fmt: skip
    elif var == "GOMEMLIMIT":
        m = re.fullmatch(r"(\+?)(\d+)(B|KiB|MiB|GiB|TiB)?", value)
        mult = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
        ok = m is not None and int(m.group(2)) * mult[m.group(3)] <= INT64[1]
        clause = (
            "off-or-empty" if value in ("", "off")
            else "malformed-is-fatal" if not ok or m is None
            else "plus-sign-126" if m.group(1)
            else "bytes-with-suffix" if m.group(3)
            else "soft-limit"
        )  # fmt: skip
    elif var == "GOMAXPROCS":
        clause = "plus-sign-126" if value.startswith("+") and _fits(value, 32) else "positive-only"
    elif var == "GOTRACEBACK":
        words = {"none": "none", "0": "none", "": "default-single", "single": "default-single", "all": "all"}
        words |= {"1": "all", "system": "system", "2": "system", "crash": "crash", "wer": "wer-non-windows"}
        plus = value.startswith("+") and _fits(value, 64) is not None  # go1.26+ reads "+1" as 1
        clause = words.get(value, "plus-sign-126" if plus else "unknown-is-level-zero")
    else:
        fields = value.split(",")
        names = [f.partition("=")[0] for f in fields if "=" in f]
        known = {it.data["name"] for it in spec if it.kind == "godebug"}
        clause = (
            "malformed-fields-ignored" if any("=" not in f or f.partition("=")[0] not in known for f in fields if f)
            else "last-wins-runtime" if len(names) != len(set(names))
            else "comma-separated-pairs"
        )  # fmt: skip
    cid = f"env:{var}#{clause}"
    return cid if cid in spec.clauses() else f"env:{var}#{_first_clause(spec.get(f'env:{var}'))}"


def _first_clause(item: Item) -> str:
    return str(next(c["id"] for c in item.data.get("clauses") or [] if not c.get("untestable")))


def env_programs(spec: Spec, go: GoVersion) -> st.SearchStrategy[Program]:
    """Programs that start with some of the five variables set and probe each one's effect:
    SetGCPercent(-1), SetMemoryLimit(-1), GOMAXPROCS(0), a recovered panic(nil) (GODEBUG's panicnil), and
    last an unrecovered panic on a goroutine, whose traceback shows GOTRACEBACK's level."""
    grammar: dict[str, st.SearchStrategy[str]] = {
        "GOGC": gogc_values(spec.get("env:GOGC")),
        "GOMEMLIMIT": gomemlimit_values(spec.get("env:GOMEMLIMIT")),
        "GOMAXPROCS": gomaxprocs_values(spec.get("env:GOMAXPROCS")),
        "GODEBUG": godebug_values(spec, go),
        "GOTRACEBACK": gotraceback_values(spec.get("env:GOTRACEBACK")),
    }
    probes: dict[str, dict[str, Any]] = {
        "GOGC": {"call": "runtime/debug.SetGCPercent", "args": [-1]},
        "GOMEMLIMIT": {"call": "runtime/debug.SetMemoryLimit", "args": [-1]},
        "GOMAXPROCS": {"call": "runtime.GOMAXPROCS", "args": [0]},
        "GODEBUG": {"op": "panic", "with": {"type": "nil"}},
        "GOTRACEBACK": {"op": "panic", "with": {"value": "fuzz", "recover": False, "goroutine": True}},
    }

    @st.composite
    def build(draw: Callable[..., Any]) -> Program:
        chosen = draw(st.lists(st.sampled_from(ENV_VARS), min_size=1, max_size=len(ENV_VARS), unique=True))
        p = Program(area="env")
        for var in ENV_VARS:  # a fixed order: the crashing probe last
            if var in chosen:
                value = draw(grammar[var])
                clause = env_clause(var, value, spec)
                p.env[var] = value
                p.covers.append(clause)
                p.add(probes[var], f"{var}:{clause.partition('#')[2]}")
        return p

    return build()


# ---- the debug area: a rule-based state machine over the setters that keep state --------------------

#: The setters the debug area drives: each keeps process-wide state its next call (or a crash) reveals,
#: and they are exactly the calls the driver's batch mode puts back between programs.
SETTERS = BATCH_CALLS
MEMPROFILERATE = "runtime.MemProfileRate"  # a variable: read and assigned through the runtime.memprofilerate op


def call_clause(spec: Spec, item_id: str) -> str:
    """The clause a call in a generated program exercises: `returns-previous` where the item has it (the
    setters' common promise), else its first testable clause."""
    item = spec.get(item_id)
    ids = [c["id"] for c in item.data.get("clauses") or [] if not c.get("untestable")]
    return f"{item_id}#{'returns-previous' if 'returns-previous' in ids else ids[0]}"


class SetterMachine(RuleBasedStateMachine):
    """Steps appended by rules (one per setter, generated from the spec); the program runs, on both
    implementations, at teardown. A process's state lives in that process, so the machine builds one
    program per run rather than stepping two live processes; Hypothesis still shrinks the rule sequence."""

    check: Callable[[Program], None] = staticmethod(lambda p: None)  # set per engine run
    spec: Spec

    def __init__(self) -> None:
        super().__init__()
        self.program = Program(area="debug")
        self.crash = False

    @initialize(crash=st.booleans(), gotraceback=st.none() | st.sampled_from(["none", "single", "all", "system"]))
    def start(self, crash: bool, gotraceback: str | None) -> None:
        """Whether the program ends in an unrecovered panic (SetTraceback's only observable effect), and the
        GOTRACEBACK it starts with (SetTraceback cannot lower it)."""
        self.crash = crash
        if crash and gotraceback is not None:
            self.program.env["GOTRACEBACK"] = gotraceback
            self.program.covers.append("env:GOTRACEBACK#settraceback-floor")

    def call(self, item_id: str, args: list[Any]) -> None:
        self.program.add({"call": item_id, "args": args}, item_id)
        self.program.cover(call_clause(self.spec, item_id))

    def teardown(self) -> None:
        if not self.program.steps and not self.crash:
            return
        if self.crash:
            self.program.add({"op": "panic", "with": {"value": "fuzz", "recover": False, "goroutine": True}}, "crash")
        if not self.program.covers:
            self.program.covers.append(call_clause(self.spec, "runtime/debug.SetTraceback"))
        type(self).check(self.program)


def setter_machine(spec: Spec, go: GoVersion, check: Callable[[Program], None]) -> type[SetterMachine]:
    """A state machine class with one rule per setter of :data:`SETTERS` that exists in ``go``, its
    arguments drawn from the setter's signature, plus MemProfileRate (read, then assigned)."""
    grammars = {"runtime/debug.SetTraceback(level)": gotraceback_values(spec.get("env:GOTRACEBACK"))}
    attrs: dict[str, Any] = {"check": staticmethod(check), "spec": spec}
    for item_id in SETTERS:
        item = spec.get(item_id)
        if not item.exists_in(go):
            continue

        def make(iid: str) -> Any:
            def step(self: SetterMachine, args: list[Any]) -> None:
                self.call(iid, args)

            step.__name__ = "call_" + re.sub(r"\W", "_", iid)
            return rule(args=call_arguments(spec.get(iid), grammars))(step)

        attrs["call_" + re.sub(r"\W", "_", item_id)] = make(item_id)
    var = spec.get(MEMPROFILERATE)
    rate_type = str(var.data.get("signature") or "var MemProfileRate int").split()[-1]

    def memprofilerate(self: SetterMachine, value: int) -> None:
        self.program.add({"op": "runtime.memprofilerate", "with": {"set": value}}, MEMPROFILERATE)
        self.program.cover(call_clause(spec, MEMPROFILERATE))

    attrs["set_memprofilerate"] = rule(value=integers(rate_type))(memprofilerate)
    return type("DebugSetters", (SetterMachine,), attrs)
