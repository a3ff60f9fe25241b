"""`rthooks report merge SHARD.json... --out MERGED.json`: shard records into one record.

The shards must come from the same spec and cases (same spec_revision). Implementations are
deduplicated by name and must describe the same toolchain in every shard (the toolchain's path may
differ from machine to machine; its version, platform, hash, go line and command may not). Results
are concatenated and sorted by (impl, case); a (case, impl) pair in two shards is an error.
"""

from __future__ import annotations

import sys
from typing import Any

from rthooks.errors import RthooksError
from rthooks.harness.record import SCHEMA_VERSION
from rthooks.reports.model import Run

#: What must agree between two shards' descriptions of one implementation.
IDENTITY = ("kind", "go_version", "goos", "goarch", "toolchain_hash", "goline", "command")


def merge(runs: list[Run]) -> dict[str, Any]:
    if not runs:
        raise RthooksError("merge needs at least one record")
    first = runs[0]
    rev = first.record["spec_revision"]
    for run in runs[1:]:
        if run.record["spec_revision"] != rev:
            raise RthooksError(
                f"spec revision {run.record['spec_revision']} differs from {rev} of {first.path} "
                "(shards must run the same spec and cases)",
                where=run.path,
            )
    impls: dict[str, tuple[dict[str, Any], str]] = {}
    for run in runs:
        for i in run.record["implementations"]:
            if i["name"] not in impls:
                impls[i["name"]] = (i, run.path)
                continue
            seen, where = impls[i["name"]]
            diffs = [k for k in IDENTITY if seen.get(k) != i.get(k)]
            if diffs:
                k = diffs[0]
                raise RthooksError(
                    f"implementation {i['name']} is not the one in {where} ({k} {i.get(k)!r} vs {seen.get(k)!r})",
                    where=run.path,
                )
    results: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    for run in runs:
        for r in run.record["results"]:
            pair = (r["case"], r["impl"])
            if pair in results:
                raise RthooksError(
                    f"case {r['case']} on {r['impl']} is in both {results[pair][1]} and {run.path}", where="merge"
                )
            results[pair] = (r, run.path)
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


def _warn_missing_shards(runs: list[Run]) -> None:
    """A note on stderr when the inputs are K/N shards and some K is missing (not an error)."""
    shards = [run.record.get("shard") for run in runs]
    if not all(shards):
        return
    ns = {str(s).split("/")[1] for s in shards}
    if len(ns) != 1:
        return
    n = int(ns.pop())
    missing = sorted(set(range(1, n + 1)) - {int(str(s).split("/")[0]) for s in shards})
    if missing:
        print(f"rthooks: note: shard(s) {', '.join(f'{k}/{n}' for k in missing)} not given", file=sys.stderr)
