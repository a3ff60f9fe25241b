"""Running the suite against mutants and recording which cases kill them (``rthooks mutate``).

A case kills a mutant when it passes on the real toolchain and fails (fail, error, crash, timeout,
xpass) on the mutated one. The baseline is measured in the same run, on the same machine, so a
case that is already failing or N/A here cannot be credited with a kill. Each mutant's edits
are applied to a hard-linked copy of GOROOT with a build cache and driver folder of its own, all
removed when it is done; the real toolchain is never written.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.harness import driver_build, runner
from rthooks.harness.cases import Case
from rthooks.harness.impls import GoImpl
from rthooks.harness.mutate.catalogue import Mutant, problems_in
from rthooks.harness.mutate.goroot import apply, linked_copy
from rthooks.protocol import record as rec
from rthooks.protocol.results import Record
from rthooks.protocol.schemas import harness_schema, validator
from rthooks.protocol.statuses import FAILING
from rthooks.spec.load import Spec
from rthooks.toolchain import Toolchain

KIND = "rthooks-kills"
VERSION = 1
#: Statuses of a mutant in the kill record.
#: unjudged: not run, the host lacks what its killing cases need (the catalogue's ``needs``).
MUTANT_STATUSES = ("killed", "survived", "equivalent", "unjudged", "stillborn", "stale")
#: A mutant build cache above this size is emptied before the next mutant (a runtime edit makes
#: every package stale anyway; an os/signal edit reuses the runtime compiled for the last one).
CACHE_CAP = 2 << 30


def related_cases(mutant: Mutant, cases: Sequence[Case], mode: str) -> list[Case]:
    """The cases to run against ``mutant``: all of them (``mode == "all"``), or those covering a
    clause of an item whose clauses it breaks, and the ones it names."""
    if mode == "all":
        return list(cases)
    items = mutant.items
    return [c for c in cases if c.id in mutant.cases or any(cl.partition("#")[0] in items for cl in c.covers)]


def run_mutants(
    mutants: Sequence[Mutant],
    tc: Toolchain,
    spec: Spec,
    cases: Sequence[Case],
    *,
    mode: str = "related",
    out: Path | None = None,
    shard: str | None = None,
    jobs: int | None = None,
    stream: TextIO = sys.stderr,
    run_cases: Callable[..., Record] | None = None,
) -> dict[str, Any]:
    """Run each mutant's cases on the mutated toolchain; return (and keep writing to ``out``) the
    kill record. ``run_cases`` is the harness runner (``rthooks.harness.runner.run``), injectable so
    the tests can count what it is asked."""
    if run_cases is None:
        run_cases = runner.run
    known = {c.id for c in cases}
    for m in mutants:
        for cid in m.cases:
            if cid not in known:
                raise RthooksError(f"mutant {m.id} names case {cid!r}, which does not exist", where=m.where)
    record: dict[str, Any] = {
        "kind": KIND,
        "version": VERSION,
        "release": str(tc.release),
        "go_version": str(tc.version),
        "cases_mode": mode,
        "shard": shard,
        "started": rec.now(),
        "finished": None,
        "interrupted": False,
        "mutants": [],
    }
    plans = {m.id: related_cases(m, cases, mode) for m in mutants}
    wanted = sorted({c.id for cs in plans.values() for c in cs})
    by_id = {c.id: c for c in cases}
    say(stream, f"baseline: {len(wanted)} case(s) on unmutated go{tc.version}")
    baseline = _statuses(run_cases([GoImpl(tc)], [by_id[i] for i in wanted], spec, out=None, jobs=jobs))
    record["baseline_passing"] = sum(1 for s in baseline.values() if s == "pass")
    try:
        for n, m in enumerate(mutants, 1):
            start = time.monotonic()
            entry = _one(m, tc, spec, plans[m.id], baseline, jobs, run_cases)
            entry["seconds"] = round(time.monotonic() - start, 1)
            record["mutants"].append(entry)
            say(stream, f"[{n}/{len(mutants)}] {m.id}: {_said(entry)} ({entry['seconds']:.0f} s)")
            if out:
                write(record, out)
    except KeyboardInterrupt:
        record["interrupted"] = True
        raise
    finally:
        record["finished"] = rec.now()
        if out:
            write(record, out)
    return record


def _one(
    m: Mutant,
    tc: Toolchain,
    spec: Spec,
    cases: list[Case],
    baseline: dict[str, str],
    jobs: int | None,
    run_cases: Callable[..., Record],
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": m.id, "breaks": list(m.breaks), "killed_by": [], "evidence": {}}
    stale = problems_in(tc.goroot, m)
    if stale:
        return {**entry, "status": "stale", "detail": "; ".join(stale), "cases_run": 0}
    if m.needs is not None:
        lacking = m.needs.unmet(_cpus(), GoImpl(tc).capabilities)
        if lacking:
            why = f"this host lacks {', '.join(lacking)}: {m.needs.why}"
            return {**entry, "status": "unjudged", "detail": why, "cases_run": 0}
    runnable = [c for c in cases if baseline.get(c.id) == "pass"]
    entry["cases_run"] = len(runnable)
    entry["cases_not_passing_unmutated"] = len(cases) - len(runnable)
    with tempfile.TemporaryDirectory(prefix="rthooks-mutant-") as d:
        work = Path(d)
        goroot = linked_copy(tc.goroot, work / "go")
        apply(goroot, m)
        mutated = replace(tc, go=goroot / "bin" / "go", goroot=goroot, gocache=_gocache())
        impl = GoImpl(mutated)
        with driver_build.builds_under(work / "driver"):
            try:
                impl.build(driver_build.BuildConfig(str(mutated.release)))
            except RthooksError as e:
                said = [ln for ln in (getattr(e, "output", "") or str(e)).splitlines() if not ln.startswith("#")]
                text = " | ".join(said[:3]).replace(str(work), "$MUTANT")
                return {**entry, "status": "stillborn", "detail": f"the driver does not build: {text}"[:500]}
            results = run_cases([impl], runnable, spec, out=None, jobs=jobs)["results"] if runnable else []
    for r in results:
        if r.get("status") in FAILING:
            entry["killed_by"].append(r["case"])
            why = "; ".join(str(x) for x in r.get("reasons") or [])
            entry["evidence"][r["case"]] = _unplaced(f"{r['status']}: {why}")[:300]
    entry["killed_by"].sort()
    if entry["killed_by"]:
        entry["status"] = "killed"
        if m.equivalent:
            entry["detail"] = "marked equivalent in the catalogue, yet killed: the claim is wrong"
    elif m.equivalent:
        entry["status"] = "equivalent"
        entry["detail"] = m.equivalent
    else:
        entry["status"] = "survived"
    return entry


def _cpus() -> int:
    """The CPUs this process may run on (its affinity mask, as the runtime's NumCPU counts them)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_cache_dir: list[Path] = []


def _gocache() -> Path:
    """The mutants' shared build cache: a temporary folder for this process, emptied when it
    outgrows CACHE_CAP."""
    if not _cache_dir:
        _cache_dir.append(Path(tempfile.mkdtemp(prefix="rthooks-mutant-cache-")))
        atexit.register(shutil.rmtree, _cache_dir[0], True)
    d = _cache_dir[0]
    if _size(d) > CACHE_CAP:
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    return d


def _size(d: Path) -> int:
    total = 0
    for root, _, files in os.walk(d):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


def _unplaced(text: str) -> str:
    """Evidence without this machine's folders: kill records are published."""
    for folder, name in ((tempfile.gettempdir(), "$TMP"), (os.path.expanduser("~"), "~")):
        if len(folder) > 1:
            text = text.replace(folder, name)
    return text


def _statuses(record: Record) -> dict[str, str]:
    return {str(r["case"]): str(r["status"]) for r in record["results"]}


def _said(entry: dict[str, Any]) -> str:
    s = entry["status"]
    if s == "killed":
        k = entry["killed_by"]
        return (
            f"killed by {k[0]}"
            + (f" (+{len(k) - 1})" if len(k) > 1 else "")
            + (" [equivalent claim wrong]" if entry.get("detail") else "")
        )
    if s == "survived":
        return f"SURVIVED {entry['cases_run']} case(s)"
    if s in ("stillborn", "stale"):
        return f"{s.upper()}: {entry['detail'][:200]}"
    if s == "unjudged":
        return f"unjudged: {entry['detail'][:200]}"
    return f"equivalent ({entry['cases_run']} case(s) ran)"


def say(stream: TextIO, text: str) -> None:
    try:
        stream.write(f"mutate: {text}\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def write(record: dict[str, Any], out: Path) -> None:
    """Write the kill record atomically (a reader never sees half a file)."""
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    tmp.replace(out)


def read(path: Path) -> dict[str, Any]:
    """A kill record, checked against harness/schema/kills.schema.json; a bad one is one line."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RthooksError(f"not a kill record: {e}", where=str(path)) from None
    errors = list(validator(harness_schema("kills.schema.json")).iter_errors(data))
    if errors:
        first = errors[0]
        loc = "/".join(str(p) for p in first.absolute_path) or "record"
        raise RthooksError(f"not a kill record: {loc}: {first.message[:200]}", where=str(path))
    return data


def summary(record: dict[str, Any]) -> str:
    """The last line of ``rthooks mutate``."""
    counts = {s: 0 for s in MUTANT_STATUSES}
    for m in record["mutants"]:
        counts[m["status"]] += 1
    judged = counts["killed"] + counts["survived"]
    rate = f"{100 * counts['killed'] / judged:.1f}%" if judged else "n/a"
    return (
        f"{len(record['mutants'])} mutants on go{record['go_version']}: {counts['killed']} killed, "
        f"{counts['survived']} survived, {counts['equivalent']} equivalent, {counts['unjudged']} unjudged (host), "
        f"{counts['stillborn']} stillborn, "
        f"{counts['stale']} stale; kill rate {rate} (killed of killed+survived)"
    )


def failed(record: dict[str, Any]) -> bool:
    """Whether the run leaves work to do: a survivor, a mutant that does not build or apply, or a
    wrong equivalence claim."""
    return record["interrupted"] or any(
        m["status"] in ("survived", "stillborn", "stale") or (m["status"] == "killed" and m.get("detail"))
        for m in record["mutants"]
    )


def merge(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One kill record of one release from several (shards, reruns of some mutants): a mutant's
    latest entry wins, in catalogue order of first appearance. Records of different releases or
    toolchains are refused, since a kill on go1.26 says nothing of go1.27."""
    if not records:
        raise RthooksError("nothing to merge")
    first = records[0]
    for r in records[1:]:
        if (r["release"], r["go_version"]) != (first["release"], first["go_version"]):
            raise RthooksError(f"cannot merge kill records of go{first['go_version']} and go{r['go_version']}")
    by_id: dict[str, dict[str, Any]] = {}
    for r in records:
        for m in r["mutants"]:
            by_id.pop(m["id"], None)
            by_id[m["id"]] = m
    modes = {r["cases_mode"] for r in records}
    return {
        **first,
        "cases_mode": "all" if modes == {"all"} else "related",
        "shard": None,
        "started": min(r["started"] for r in records),
        "finished": max((r["finished"] or "") for r in records) or None,
        "interrupted": any(r["interrupted"] for r in records),
        "baseline_passing": max(r.get("baseline_passing", 0) for r in records),
        "mutants": list(by_id.values()),
    }


def release_of(record: dict[str, Any]) -> GoVersion:
    return GoVersion.parse(record["release"])
