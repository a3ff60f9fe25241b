"""`rthooks report merge SHARD.json... --out MERGED.json`: shard records into one record.

The shards must come from the same spec and cases (same spec_revision). Implementations are
deduplicated by name and must describe the same toolchain in every shard (the toolchain's path may
differ from machine to machine; its version, platform, hash, go line and command may not). Results
are concatenated and sorted by (impl, case); a (case, impl) pair in two shards is an error.

A merged record is made to travel (CI artefacts, the published matrix), so it carries no machine
paths: toolchain paths, and paths in observed values, are rewritten relative to the rthooks cache,
the Go build cache, the temporary folder or the home folder (rthooks.reports.paths). Merging one
record does just that.
"""

from __future__ import annotations

import sys

from rthooks.errors import RthooksError
from rthooks.protocol.record import MAX_IMPLS, MAX_RESULTS, MAX_SHARDS, SCHEMA_VERSION
from rthooks.protocol.results import CaseResult, Implementation, Record
from rthooks.reports.model import Run
from rthooks.reports.paths import relativise, relativiser

#: What must agree between two shards' descriptions of one implementation.
IDENTITY = ("kind", "go_version", "goos", "goarch", "toolchain_hash", "goline", "command")


def merge(runs: list[Run]) -> Record:
    if not runs:
        raise RthooksError("merge needs at least one record")
    first = runs[0]
    rev = first.record["spec_revision"]
    for run in runs[1:]:
        if run.record["spec_revision"] != rev:
            raise RthooksError(
                f"spec revision {_short(run.record['spec_revision'])} differs from {_short(rev)} of {first.path} "
                "(shards must run the same spec and cases)",
                where=run.path,
            )
    rewrite = relativiser()
    impls: dict[str, tuple[Implementation, str]] = {}
    for run in runs:
        # Relativised before they are compared: a `cmd` implementation run from two machines' checkouts
        # is the same implementation.
        for i in relativise(run.record["implementations"], rewrite):
            if i["name"] not in impls:
                impls[i["name"]] = (i, run.path)
                continue
            seen, where = impls[i["name"]]
            diffs = [k for k in IDENTITY if seen.get(k) != i.get(k)]
            if diffs:
                k = diffs[0]
                raise RthooksError(
                    f"implementation {_short(i['name'])} is not the one in {where} "
                    f"({k} {_short(repr(i.get(k)))} vs {_short(repr(seen.get(k)))})",
                    where=run.path,
                )
    results: dict[tuple[str, str], tuple[CaseResult, str]] = {}
    for run in runs:
        for r in run.record["results"]:
            pair = (r["case"], r["impl"])
            if pair in results:
                raise RthooksError(
                    f"case {_short(r['case'])} on {_short(r['impl'])} is in both {results[pair][1]} and {run.path}",
                    where="merge",
                )
            results[pair] = (relativise(r, rewrite), run.path)
    names = set(impls) | {impl for _, impl in results}
    if len(names) > MAX_IMPLS:  # each shard within the bound, together over it: the merge would be unreadable
        raise RthooksError(f"the records hold {len(names)} implementations together; a record may hold {MAX_IMPLS}")
    if len(results) > MAX_RESULTS:
        raise RthooksError(f"the records hold {len(results)} results together; a record may hold {MAX_RESULTS}")
    finished = [run.record.get("finished") for run in runs]
    _warn_missing_shards(runs)
    return {
        "schema_version": SCHEMA_VERSION,
        "rthooks_version": first.record["rthooks_version"],
        "spec_revision": rev,
        "started": min(run.record["started"] for run in runs),
        "finished": None if None in finished else max(str(f) for f in finished),
        "interrupted": any(bool(run.record.get("interrupted")) for run in runs),
        "shard": None,
        "implementations": [i for i, _ in impls.values()],
        "results": [r for _, (r, _) in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0]))],
    }


def _short(text: str) -> str:
    """A value from a record, cut for a one-line message (the CLI escapes its control characters)."""
    return text if len(text) <= 120 else text[:119] + "…"


def _warn_missing_shards(runs: list[Run]) -> None:
    """A note on stderr when the inputs are K/N shards and some K is missing (not an error).

    The reader holds N to MAX_SHARDS; the note lists at most 10 missing shards all the same.
    """
    shards = [run.record.get("shard") for run in runs]
    if not all(shards):
        return
    ns = {str(s).split("/")[1] for s in shards}
    if len(ns) != 1:
        return
    n = int(ns.pop())
    if not 1 <= n <= MAX_SHARDS:
        return
    given = {int(str(s).split("/")[0]) for s in shards}
    missing = [k for k in range(1, n + 1) if k not in given]
    if missing:
        listed = ", ".join(f"{k}/{n}" for k in missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        print(f"rthooks: note: shard(s) {listed} not given", file=sys.stderr)
