"""Run records plus the spec, turned into the one view model every report format renders.

Reports read nothing but run records (harness/schema/result.schema.json, validated by
``rthooks.protocol.record.read``) and the spec. Records may come from several runs
(implementations x Go versions); each implementation gets a unique *key*: its name, or its
name and the record's file name when two records hold an implementation of the same name.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.protocol import record as record_mod
from rthooks.protocol.record import read_sized
from rthooks.protocol.results import CaseResult, Record
from rthooks.protocol.statuses import FAILING, STATUSES
from rthooks.spec.errata import errata
from rthooks.spec.load import Spec, default_spec
from rthooks.text import printable

#: How bad a status is: an item's status on an implementation is the worst of its cases'. A skip
#: (not applicable to that release, or unsupported) says nothing, so it ranks below pass: an item
#: is "skip" only when every case covering it was skipped.
SEVERITY = {"skip": 0, "pass": 1, "xfail": 2, "xpass": 3, "fail": 4, "timeout": 5, "error": 6, "crash": 7}
#: The cell of an item no case covers on that implementation; ABSENT: nor does the item exist there.
NO_CASE = "none"
ABSENT = "n/a"
#: The hook packages, listed first; items of other packages follow.
CORE_PACKAGES = ("runtime", "runtime/debug", "runtime/metrics", "runtime/pprof", "runtime/trace", "os/signal", "os")
#: Spec items that are not one package's API form an area of their own, named by their kind and listed
#: after the hook packages: environment variables, GODEBUG keys (the runtime's and every other
#: package's) and process behaviour. The spec files them under a package (``env:GOGC`` under
#: runtime, ``godebug:tlsrsakex`` under crypto/tls), which would hide them among that package's API.
AREAS = ("env", "godebug", "process")
UNKNOWN_PACKAGE = "(not in spec)"
KIND_ORDER = {"oracle": 0, "go": 1, "gccgo": 2, "cmd": 3}
#: The port reports show first: the one every release runs on.
HOST_PORT = "linux/amd64"
#: A report shows at most MAX_LINES expectations, steps or reasons per result, each cut to STEP_CHARS;
#: at most SHOWN clause ids a case covers, and SHOWN_CASES cases of a clause or item (with a count of the rest).
MAX_LINES = 4
STEP_CHARS = 100
SHOWN = 3
SHOWN_CASES = 2
#: Statuses of cases the Markdown and JSON reports give no per-outcome detail for (the HTML report
#: details every case; the run record holds everything).
QUIET = ("pass", "skip")


def worst(statuses: Iterable[str]) -> str | None:
    got = list(statuses)
    return max(got, key=lambda s: SEVERITY.get(s, 99)) if got else None


def package_order(pkg: str) -> tuple[int, int, str]:
    if pkg in CORE_PACKAGES:
        return (0, CORE_PACKAGES.index(pkg), pkg)
    if pkg in AREAS:
        return (1, AREAS.index(pkg), pkg)
    return (2 if pkg != UNKNOWN_PACKAGE else 3, 0, pkg)


def version_of(text: str) -> GoVersion | None:
    try:
        return GoVersion.parse(text)
    except ValueError:
        return None


def excerpt(text: Any, limit: int) -> str:
    """``text`` cut to about ``limit`` characters: its head and tail, with what was left out counted."""
    text = text if isinstance(text, str) else "" if text is None else json.dumps(text, sort_keys=True)
    assert isinstance(text, str)
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 3
    return f"{text[:head]}\n… [{len(text) - head - tail} characters left out] …\n{text[len(text) - tail :]}"


def compact(value: Any, limit: int) -> str:
    """A value as one line of JSON, cut to ``limit`` characters."""
    s = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return s if len(s) <= limit else s[: max(0, limit - 1)] + "…"


# --- observed values: what a diff or a trend compares --------------------------------------------

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_RELEASE = re.compile(r"(?<![\d.])1\.\d+(?:\.\d+)?")  # 1.21, go1.21.13
_NUM = re.compile(r"\d+(?:\.\d+)?")
STEP_FIELDS = ("status", "value", "error", "panic", "panic_type", "reason")


_MESSAGE = re.compile(r"^[A-Za-z][\w .-]*: \S")
#: The harness keeps the last 4000 characters of stderr; a text that long starts mid-line.
STDERR_TAIL = 4000


def stderr_messages(text: Any) -> str:
    """The message lines of stderr (``panic: ...``, ``fatal error: ...``, ``SIGSEGV: ...``), numbers masked.

    Stack frames, goroutine headers and timing lines are left out: their addresses and numbers
    change from run to run. At most 5 distinct lines, in order.
    """
    if not isinstance(text, str):
        return ""
    lines = text.splitlines()
    if len(text) >= STDERR_TAIL:
        lines = lines[1:]
    out: list[str] = []
    for line in lines:
        if _MESSAGE.match(line):
            masked = _NUM.sub("N", _HEX.sub("0x…", line.rstrip()))
            if masked not in out:
                out.append(masked)
        if len(out) == 5:
            break
    return "\n".join(out)


def fingerprint(observed: dict[str, Any]) -> dict[str, Any]:
    """The observed values that describe behaviour, flattened to ``path -> value`` (see stable()).

    Compared: exit status, signal, stdout, the message lines of stderr (stderr_messages) and each step's
    outcome (status, value, error, panic, panic_type; a histogram's buckets and the number of its
    counts). Not compared: the rest of stderr (stack traces), histogram counts, timings.
    """
    out: dict[str, Any] = {}
    if not isinstance(observed, dict) or not observed:
        return out
    for k in ("exit_status", "signal", "stdout"):
        if k in observed:
            out[k] = observed[k]
    if "stderr" in observed:
        out["stderr (messages)"] = stderr_messages(observed["stderr"])
    steps = observed.get("steps")
    if isinstance(steps, list):
        for i, st in enumerate(steps):
            if not isinstance(st, dict):
                _flatten(st, f"steps[{i}]", out)
                continue
            n = st.get("step", i)
            for k in STEP_FIELDS:
                if k in st:
                    _flatten(st[k], f"steps[{n}].{k}", out)
    return out


def _flatten(v: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(v, dict) and set(v) == {"counts", "buckets"} and isinstance(v["counts"], list):
        # A histogram: its buckets are behaviour, its counts are noise (they move from run to run).
        out[f"{path}.buckets"] = v["buckets"]
        out[f"{path}.counts"] = f"{len(v['counts'])} counts"
    elif isinstance(v, dict) and v:
        for k in sorted(v, key=str):
            _flatten(v[k], f"{path}[{json.dumps(str(k))}]" if not str(k).isidentifier() else f"{path}.{k}", out)
    elif isinstance(v, list) and any(isinstance(x, dict | list) for x in v):
        for i, x in enumerate(v):
            _flatten(x, f"{path}[{i}]", out)
    elif isinstance(v, list):  # a list of scalars, as one value
        out[path] = [stable(x) for x in v]
    else:
        out[path] = stable(v)


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")


def stable(v: Any) -> Any:
    """A scalar as a diff compares it: measurements by kind, everything else by value.

    Measurements change from run to run: floats (seconds, fractions), integers above 64 that are
    neither round (a multiple of 100) nor a power of two (counts, byte sizes, nanoseconds, line
    numbers; settings and defaults such as 100, 10000, 1000000000 or 4194304 are round),
    timestamps and addresses. In text, stack frames (lines that start with a tab) are left out.
    Integers from 2**53 on (math.MaxInt64, ...) are exact. Small integers, strings, statuses and
    exit statuses compare exactly.
    """
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, float):
        return v if v.is_integer() and abs(v) <= 4096 else "<float>"
    if isinstance(v, int):
        if 64 < abs(v) < 2**53 and v % 100 and abs(v) & (abs(v) - 1):
            return "<number>"
        return v
    if isinstance(v, str):
        if "\n" in v:
            v = "\n".join(line for line in v.split("\n") if not line.startswith("\t"))
        return _HEX.sub("0x…", _TIME.sub("<time>", v))
    return v


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new}

    def text(self, limit: int = 80) -> str:
        return f"{self.path}: {compact(self.old, limit)} -> {compact(self.new, limit)}"


_MISSING: Any = object()
#: How a diff shows a value one side does not have (a step that did not run, a field not reported).
ABSENT_VALUE = "<absent>"


def observed_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Where two results' observed values differ (an empty observation, a skip, compares to nothing)."""
    a, b = fingerprint(old), fingerprint(new)
    if not a or not b:
        return []
    out = []
    for path in sorted(set(a) | set(b)):
        va, vb = a.get(path, _MISSING), b.get(path, _MISSING)
        if va != vb:
            out.append(Change(path, ABSENT_VALUE if va is _MISSING else va, ABSENT_VALUE if vb is _MISSING else vb))
    return out


def summarize_changes(changes: Sequence[Change], shown: int = 3, limit: int = 60) -> str:
    parts = [c.text(limit) for c in changes[:shown]]
    if len(changes) > shown:
        parts.append(f"(+{len(changes) - shown} more)")
    return "; ".join(parts)


# --- the records -----------------------------------------------------------------------------------


@dataclass
class Run:
    """One record file."""

    path: str
    record: Record

    def info(self) -> dict[str, Any]:
        r = self.record
        return {
            "file": self.path,
            "spec_revision": r["spec_revision"],
            "rthooks_version": r["rthooks_version"],
            "started": r["started"],
            "finished": r.get("finished"),
            "interrupted": bool(r.get("interrupted")),
            "shard": r.get("shard"),
            "implementations": [i["name"] for i in r["implementations"]],
            "results": len(r["results"]),
        }


@dataclass
class Impl:
    key: str
    name: str
    kind: str
    go_version: str
    source: str
    info: dict[str, Any]

    @property
    def version(self) -> GoVersion | None:
        return version_of(self.go_version)

    @property
    def port(self) -> str:
        """GOOS/GOARCH it ran on (records before ports existed were all linux/amd64)."""
        return f"{self.info.get('goos') or 'linux'}/{self.info.get('goarch') or 'amd64'}"

    @property
    def group(self) -> str:
        """The column group a report puts it in: the oracle's releases, a compiler on this machine's
        port, the same compiler on the other ports, and so on (consecutive in sort order)."""
        if self.kind == "go":
            return "gc on linux/amd64" if self.port == HOST_PORT else "gc on other ports"
        return {"oracle": "oracle", "gccgo": "gccgo", "cmd": "other implementations"}.get(self.kind, self.kind)

    def sort_key(self) -> tuple[Any, ...]:
        v = self.version
        return (KIND_ORDER.get(self.kind, 9), self.port != HOST_PORT, v is None, v or GoVersion(0), self.key)


@dataclass
class Result:
    case: str
    impl: str  # the Impl key
    status: str
    reasons: list[str]
    expected: list[Any]
    observed: dict[str, Any]
    covers: list[str]
    known: str | None
    duration_s: float
    process_s: float | None
    source: str

    @classmethod
    def from_record(cls, r: CaseResult, impl_key: str, source: str) -> Result:
        obs = r.get("observed")
        return cls(
            case=r["case"],
            impl=impl_key,
            status=r["status"],
            reasons=[str(x) for x in r.get("reasons") or []],
            expected=list(r.get("expected") or []),
            observed=obs if isinstance(obs, dict) else {},
            covers=[str(x) for x in r.get("covers") or []],
            known=r.get("known"),
            duration_s=float(r.get("duration_s") or 0),
            process_s=r.get("process_s"),
            source=source,
        )


#: Implementations in the records of one command together (a report has a column, a trend a point,
#: for each). Their bytes together are capped as one record's are (MAX_RECORD_BYTES).
MAX_VIEW_IMPLS = 256
#: A report's tables: at most this many matrix cells (spec items x implementations) and case cells
#: (cases x implementations); and at most MAX_WORK (case, spec item) pairs x implementations, the
#: work of the matrix and of a trend. The published matrix has about 5,000, 7,000 and 100,000.
MAX_CELLS = 1_000_000
MAX_WORK = 5_000_000


def load_runs(paths: Sequence[Path | str]) -> list[Run]:
    """Read and validate every record (rthooks.protocol.record.read); a problem is an RthooksError naming
    the file. Together the records may hold MAX_RECORD_BYTES bytes (decompressed) and MAX_VIEW_IMPLS
    implementations."""
    runs = []
    left = record_mod.MAX_RECORD_BYTES
    impls = 0
    for p in paths:
        if left <= 0:
            raise RthooksError(
                f"cannot read: the records before it hold {record_mod.MAX_RECORD_BYTES} bytes, the most one command reads",
                where=printable(str(p)),
            )
        try:
            record, size = read_sized(p, limit=min(record_mod.MAX_RECORD_BYTES, left))
        except RthooksError as e:
            if left >= record_mod.MAX_RECORD_BYTES or not e.message.startswith("too large"):
                raise
            raise RthooksError(
                f"too large: with the records before it, over {record_mod.MAX_RECORD_BYTES} bytes, "
                "the most one command reads",
                where=e.where,
            ) from None
        left -= size
        impls += len({i["name"] for i in record["implementations"]} | {r["impl"] for r in record["results"]})
        if impls > MAX_VIEW_IMPLS:
            raise RthooksError(
                f"too many implementations: over {MAX_VIEW_IMPLS} in the records up to this one",
                where=printable(str(p)),
            )
        runs.append(Run(printable(str(p)), record))
    return runs


def impls_and_results(runs: Sequence[Run]) -> tuple[list[Impl], list[Result]]:
    """Every implementation (with a unique key) and every result, across the records."""
    names = Counter(i["name"] for run in runs for i in run.record["implementations"])
    impls: list[Impl] = []
    results: list[Result] = []
    seen: set[str] = set()
    for run in runs:
        keys: dict[str, str] = {}
        for i in run.record["implementations"]:
            key = i["name"] if names[i["name"]] == 1 else f"{i['name']} ({Path(run.path).name})"
            n = 2
            while key in seen:  # the same file given twice
                key, n = f"{i['name']} ({Path(run.path).name} #{n})", n + 1
            seen.add(key)
            keys[i["name"]] = key
            impls.append(Impl(key, i["name"], i["kind"], str(i["go_version"]), run.path, dict(i)))
        for r in run.record["results"]:
            if r["impl"] not in keys:  # a result of an implementation the record does not describe
                key = r["impl"] if r["impl"] not in seen else f"{r['impl']} ({Path(run.path).name})"
                seen.add(key)
                keys[r["impl"]] = key
                impls.append(Impl(key, r["impl"], "cmd", "?", run.path, {"name": r["impl"]}))
            results.append(Result.from_record(r, keys[r["impl"]], run.path))
    impls.sort(key=Impl.sort_key)
    return impls, results


@dataclass
class ItemRow:
    """One spec item (a row of the matrix)."""

    id: str
    package: str
    kind: str
    clauses: list[str]
    in_spec: bool
    cases: list[str] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)  # impl key -> worst status | NO_CASE | ABSENT
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # impl key -> status -> n


class View:
    """Everything a report shows, computed once from the records and the spec."""

    def __init__(self, runs: Sequence[Run], spec: Spec) -> None:
        self.runs = list(runs)
        self.spec = spec
        self.impls, self.results = impls_and_results(self.runs)
        self.by_key: dict[tuple[str, str], Result] = {(r.case, r.impl): r for r in self.results}
        self.impl_groups: list[tuple[str, list[Impl]]] = []  # (label, its implementations), in column order
        for i in self.impls:
            if self.impl_groups and self.impl_groups[-1][0] == i.group:
                self.impl_groups[-1][1].append(i)
            else:
                self.impl_groups.append((i.group, [i]))
        self.by_impl: dict[str, list[Result]] = {i.key: [] for i in self.impls}
        for r in self.results:
            self.by_impl[r.impl].append(r)
        self._clauses = spec.clauses()
        self._check_size()

    def _check_size(self) -> None:
        """Refuse, before any of it is done, work that grows as a product (records can be built to ask
        for billions of cells): the case table, the matrix, and the matrix's and a trend's work."""
        n = len(self.impls)
        big = []
        if len(self.cases) * n > MAX_CELLS:
            big.append(f"{len(self.cases)} cases x {n} implementations is over {MAX_CELLS:,} cells")
        items = {item.id for item in self.spec} | {self.item_of(c) for c in self.cases_by_clause}
        if len(items) * n > MAX_CELLS:
            big.append(f"{len(items)} spec items x {n} implementations is over {MAX_CELLS:,} cells")
        pairs = sum(len({self.item_of(c) for c in covers}) for covers in self.cases.values())
        if pairs * n > MAX_WORK:
            big.append(f"{pairs} (case, spec item) pairs x {n} implementations is over {MAX_WORK:,}")
        if big:
            raise RthooksError(f"too large to report: {big[0]}")

    # ---- spec lookups
    def item_of(self, clause: str) -> str:
        return clause.split("#", 1)[0]

    def package_of_item(self, item_id: str) -> str:
        """The group an item is listed in: its area (AREAS) if it has one, else its package."""
        item = self.spec.items.get(item_id)
        if item is None:
            return UNKNOWN_PACKAGE
        if item.kind in AREAS:
            return str(item.kind)
        return str(item.data.get("package") or UNKNOWN_PACKAGE)

    def package_of(self, clause: str) -> str:
        return self.package_of_item(self.item_of(clause))

    # ---- cases
    @cached_property
    def cases(self) -> dict[str, list[str]]:
        """Case id -> the clauses it covers (the union over its results), sorted by case id."""
        out: dict[str, set[str]] = {}
        for r in self.results:
            out.setdefault(r.case, set()).update(r.covers)
        return {c: sorted(out[c]) for c in sorted(out)}

    def case_packages(self, case: str) -> list[str]:
        got = self._case_packages.get(case)
        if got is None:
            got = sorted({self.package_of(c) for c in self.cases[case]}, key=package_order) or [UNKNOWN_PACKAGE]
            self._case_packages[case] = got
        return got

    @cached_property
    def _case_packages(self) -> dict[str, list[str]]:
        return {}

    def expected(self, case: str) -> list[Any]:
        """What the case expects (the same on every implementation; the first result that says)."""
        for i in self.impls:
            r = self.by_key.get((case, i.key))
            if r is not None and r.expected:
                return r.expected
        return []

    def outcomes(self, case: str) -> list[Outcome]:
        """The case's results grouped by outcome, in implementation order."""
        groups: dict[str, Outcome] = {}
        for i in self.impls:
            r = self.by_key.get((case, i.key))
            if r is None:
                continue
            reasons = [_RELEASE.sub("1.N", x) for x in r.reasons]  # "models 1.21" and "models 1.22" alike
            key = json.dumps([r.status, reasons, r.known, fingerprint(r.observed)], sort_keys=True, default=str)
            groups.setdefault(key, Outcome([], [])).impls.append(i)
            groups[key].results.append(r)
        return list(groups.values())

    def notable(self, case: str) -> bool:
        """Whether some implementation ended the case other than by pass or skip."""
        return any(r.status not in QUIET for i in self.impls if (r := self.by_key.get((case, i.key))))

    def case_worst(self, case: str) -> str | None:
        return worst(r.status for i in self.impls if (r := self.by_key.get((case, i.key))))

    @cached_property
    def cases_by_clause(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for case, covers in self.cases.items():
            for c in covers:
                out.setdefault(c, []).append(case)
        return out

    # ---- the matrix
    @cached_property
    def items(self) -> list[ItemRow]:
        rows: dict[str, ItemRow] = {}
        for item in self.spec:
            rows[item.id] = ItemRow(item.id, self.package_of_item(item.id), item.kind, item.clause_ids(), True)
        for clause in self.cases_by_clause:  # clauses the records name that the spec does not have
            iid = self.item_of(clause)
            if iid not in rows:
                rows[iid] = ItemRow(iid, UNKNOWN_PACKAGE, "?", [], False)
            if clause not in rows[iid].clauses:
                rows[iid].clauses.append(clause)
        for row in rows.values():
            row.cases = sorted({case for c in row.clauses for case in self.cases_by_clause.get(c, [])})
            for impl in self.impls:
                got = [r.status for case in row.cases if (r := self.by_key.get((case, impl.key)))]
                row.counts[impl.key] = dict(Counter(got))
                w = worst(got)
                if w in (None, "skip"):
                    # Not in that release: n/a, even where its cases were run and skipped (they say so
                    # because the item is absent). A case that did run there keeps its status.
                    found = self.spec.items.get(row.id)
                    v = impl.version
                    if found is not None and v is not None and not found.exists_in(v):
                        w = ABSENT
                row.cells[impl.key] = w or NO_CASE
        return sorted(rows.values(), key=lambda r: (package_order(r.package), r.id))

    @cached_property
    def packages(self) -> list[str]:
        return sorted({r.package for r in self.items}, key=package_order)

    # ---- summaries
    def totals(self, impl: str) -> dict[str, int]:
        c = Counter(r.status for r in self.by_impl.get(impl, []))
        return {s: c.get(s, 0) for s in STATUSES}

    def by_package(self, impl: str) -> dict[str, dict[str, int]]:
        """Package -> status -> number of cases (a case covering clauses of two packages counts in both)."""
        if impl not in self._by_package:
            self._by_package[impl] = self._count_by_package(impl)
        return self._by_package[impl]

    @cached_property
    def _by_package(self) -> dict[str, dict[str, dict[str, int]]]:
        return {}

    def _count_by_package(self, impl: str) -> dict[str, dict[str, int]]:
        out: dict[str, Counter[str]] = {}
        for r in self.by_impl.get(impl, []):
            for pkg in self.case_packages(r.case):
                out.setdefault(pkg, Counter())[r.status] += 1
        return {p: dict(out[p]) for p in sorted(out, key=package_order)}

    def headline(self, impl: str) -> dict[str, Any]:
        """The verdict on one implementation: of the cases that applied to it (not skipped), how many
        passed, and its deviations: known ones (xfail) and failures (fail, xpass, error, timeout, crash)."""
        t = self.totals(impl)
        applicable = sum(t.values()) - t["skip"]
        failures = sum(t[s] for s in FAILING)
        return {
            "applicable": applicable,
            "pass": t["pass"],
            "percent": round(100 * t["pass"] / applicable, 1) if applicable else 0.0,
            "known": t["xfail"],
            "failures": failures,
            "skipped": t["skip"],
        }

    @cached_property
    def deviations(self) -> list[Deviation]:
        """Every result that did not pass and was not skipped, grouped by case, status and reason (the
        same deviation on several releases is one entry), the worst first."""
        groups: dict[str, Deviation] = {}
        for case in self.cases:
            for i in self.impls:
                r = self.by_key.get((case, i.key))
                if r is None or r.status in ("pass", "skip"):
                    continue
                reasons = [_RELEASE.sub("1.N", x) for x in r.reasons]
                key = json.dumps([case, r.status, reasons, r.known])
                if key not in groups:
                    groups[key] = Deviation(case, r.status, r.reasons, r.known, self.cases[case], [])
                groups[key].impls.append(i.key)
        return sorted(groups.values(), key=lambda d: (-SEVERITY.get(d.status, 99), d.case, d.impls))

    def worst_cases(self, row: ItemRow, impl: str | None = None) -> list[str]:
        """The item's cases, worst status first (on ``impl``, or on any implementation): the case to link."""

        def rank(case: str) -> int:
            keys = [impl] if impl else [i.key for i in self.impls]
            got = [r.status for k in keys if (r := self.by_key.get((case, k)))]
            return -max((SEVERITY.get(s, 99) for s in got), default=-1)

        return sorted(row.cases, key=lambda c: (rank(c), c))

    def items_by_status(self, impl: str) -> dict[str, int]:
        """Status (worst of the item's cases), or none / n/a -> number of spec items."""
        c = Counter(row.cells[impl] for row in self.items if row.in_spec)
        return {s: c[s] for s in (*STATUSES, NO_CASE, ABSENT) if c.get(s)}

    # ---- coverage
    @cached_property
    def coverage(self) -> list[dict[str, Any]]:
        """Per package: the clauses, how many have a case, the percentage; the clauses with their cases, the rest."""
        per: dict[str, list[str]] = {}
        for cid in self._clauses:
            if cid not in self.untestable:
                per.setdefault(self.package_of(cid), []).append(cid)
        for cid in self.cases_by_clause:
            if cid not in self._clauses:
                per.setdefault(self.package_of(cid), []).append(cid)
        out = []
        for pkg in sorted(per, key=package_order):
            clauses = sorted(per[pkg])
            covered = [c for c in clauses if c in self.cases_by_clause]
            out.append(
                {
                    "package": pkg,
                    "clauses": len(clauses),
                    "covered": len(covered),
                    "percent": round(100 * len(covered) / len(clauses), 1) if clauses else 0.0,
                    "with_cases": [{"clause": c, "cases": self.cases_by_clause[c]} for c in covered],
                    "without_cases": [c for c in clauses if c not in self.cases_by_clause],
                }
            )
        return out

    @cached_property
    def untestable(self) -> dict[str, dict[str, str]]:
        """Clauses the spec marks untestable (left out of the figure): id -> {reason, detail}."""
        return {
            cid: {"reason": str(c["untestable"]["reason"]), "detail": str(c["untestable"]["detail"])}
            for cid, (_item, c) in sorted(self._clauses.items())
            if c.get("untestable")
        }

    def coverage_total(self) -> dict[str, Any]:
        n = sum(p["clauses"] for p in self.coverage)
        k = sum(p["covered"] for p in self.coverage)
        return {"clauses": n, "covered": k, "percent": round(100 * k / n, 1) if n else 0.0}

    # ---- errata
    @cached_property
    def errata(self) -> list[dict[str, Any]]:
        return errata(self.spec)

    def title(self) -> str:
        return "rthooks conformance report"


def load_view(paths: Sequence[Path | str], spec: Spec | None = None) -> View:
    return View(load_runs(paths), spec or default_spec())


# --- per-result detail, shared by the formats ------------------------------------------------------


def _cap(lines: list[str], most: int, what: str) -> list[str]:
    return lines if len(lines) <= most else [*lines[:most], f"… and {len(lines) - most} more {what}"]


def step_lines(observed: dict[str, Any], limit: int = STEP_CHARS, most: int = MAX_LINES) -> list[str]:
    """Each observed step as one line (``[0] ok 100``, ``[1] panic *runtime.PanicNilError: ...``), capped."""
    steps = observed.get("steps") if isinstance(observed, dict) else None
    if not isinstance(steps, list):
        return []
    out = []
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            out.append(f"[{i}] {compact(st, limit)}")
            continue
        n, status = st.get("step", i), st.get("status", "?")
        if status == "ok":
            body = compact(st.get("value"), limit)
        elif status == "panic":
            body = f"{st.get('panic_type', '?')}: {excerpt(st.get('panic'), limit)}"
        elif status == "error":
            body = excerpt(st.get("error"), limit)
        else:
            body = excerpt(st.get("reason", ""), limit) or compact({k: v for k, v in st.items() if k != "step"}, limit)
        out.append(f"[{n}] {status} {body}".rstrip())
    return _cap(out, most, "steps")


def expectation_text(e: Any) -> str:
    """One expectation in a compact form: ``$prev equals 50``, ``stderr regex "^panic: boom"``, ``exit_status 2``."""
    if not isinstance(e, dict):
        return compact(e, 10_000)
    head = [str(e["of"])] if isinstance(e.get("of"), str) else []
    return " ".join(
        head
        + [f"{k} {json.dumps(v, sort_keys=True, ensure_ascii=False)}" for k, v in e.items() if k != "of" or not head]
    )


def expected_lines(expected: list[Any], limit: int = STEP_CHARS, most: int = MAX_LINES) -> list[str]:
    lines = [expectation_text(e) for e in expected]
    return _cap([x if len(x) <= limit else x[: limit - 1] + "…" for x in lines], most, "expectations")


def detail(r: Result, limit: int) -> dict[str, Any]:
    """One result for display: status, reasons, exit, timings and excerpts of its output."""
    obs = r.observed
    return {
        "status": r.status,
        "reasons": _cap([excerpt(x, limit) for x in r.reasons], MAX_LINES, "reasons"),
        "known": r.known,
        "exit_status": obs.get("exit_status"),
        "signal": obs.get("signal"),
        "steps": step_lines(obs),
        "stdout": excerpt(obs.get("stdout") or "", limit),
        "stderr": excerpt(obs.get("stderr") or "", limit),
        "duration_s": r.duration_s,
        "process_s": r.process_s,
        "record": r.source,
    }


@dataclass
class Deviation:
    """A case that failed or failed as predicted (xfail), with the same reason, on some implementations."""

    case: str
    status: str
    reasons: list[str]
    known: str | None
    covers: list[str]
    impls: list[str]


@dataclass
class Outcome:
    """Implementations that ended a case the same way (status, reasons and observed values alike)."""

    impls: list[Impl]
    results: list[Result]

    def detail(self, limit: int) -> dict[str, Any]:
        d = detail(self.results[0], limit)
        del d["duration_s"], d["process_s"], d["record"]
        d["implementations"] = [i.key for i in self.impls]
        d["duration_s"] = [r.duration_s for r in self.results]
        d["process_s"] = [r.process_s for r in self.results]
        d["output_of"] = self.impls[0].key
        if any(r.reasons != self.results[0].reasons for r in self.results[1:]):
            d["reasons"] = [*d["reasons"], f"(reasons of {self.impls[0].key}; the others alike, for their release)"]
        return d


def who(keys: Sequence[str], every: Sequence[str]) -> str:
    """A list of implementation keys, as ``all``, ``all but go1.25`` or ``go1.21, go1.22``."""
    if len(every) > 1 and list(keys) == list(every):
        return "all"
    rest = [k for k in every if k not in keys]
    if len(keys) > 3 and len(rest) <= 2:
        return "all but " + ", ".join(rest)
    return ", ".join(keys)


def span(values: Sequence[float | None]) -> str:
    """Timings of a group as ``0.012`` or ``0.012-0.034`` (— when none)."""
    got = [v for v in values if v is not None]
    if not got:
        return "—"
    lo, hi = min(got), max(got)
    return f"{lo:.3f}" if f"{lo:.3f}" == f"{hi:.3f}" else f"{lo:.3f}-{hi:.3f}"
