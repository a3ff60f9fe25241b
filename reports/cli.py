"""`rthooks report ...`: its own argument parser (the main CLI hands it everything after `report`).

rthooks report RUN.json... [--format html|md|junit|json]... [--out DIR]
rthooks report diff OLD.json NEW.json [--by impl|case] [--observed] [--only regressions|fixes|changes]
                    [--format text|json]
rthooks report merge SHARD.json... --out MERGED.json
rthooks report trend RUN.json... [--observed] [--format text|md|json]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rthooks.cli import Parser
from rthooks.errors import RthooksError
from rthooks.reports import EXCERPT, FILES, write_reports
from rthooks.text import json_for_console, printable

SUBCOMMANDS = ("diff", "merge", "trend")


def _render_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="rthooks report",
        description="Render run records (implementations x Go versions) as reports. Also: "
        "`rthooks report diff|merge|trend --help`.",
        epilog="Files written: " + ", ".join(f"{k} -> {v}" for k, v in FILES.items()),
    )
    p.add_argument("runs", nargs="+", metavar="RUN.json", help="run records (rthooks run --out)")
    p.add_argument("--format", action="append", choices=list(FILES), help="repeatable (default: html)", dest="formats")
    p.add_argument(
        "--out", default="out", help="output folder (default: out/, which git ignores; never the renderer's own folder)"
    )
    p.add_argument(
        "--excerpt", type=int, default=EXCERPT, help=f"characters kept of stdout, stderr, reasons (default {EXCERPT})"
    )
    return p


def _sub_parser(name: str) -> argparse.ArgumentParser:
    p = Parser(prog=f"rthooks report {name}")
    if name == "diff":
        p.description = (
            "Classify each (case, implementation) as regression, fix, changed, new, removed or unchanged; "
            "exit 1 on any regression."
        )
        p.add_argument("old", metavar="OLD.json")
        p.add_argument("new", metavar="NEW.json")
        p.add_argument(
            "--by",
            choices=["impl", "case"],
            default="impl",
            help="match results by case and implementation name (default), or by case alone "
            "(records of one implementation each, e.g. two Go releases)",
        )
        p.add_argument(
            "--only",
            choices=["regressions", "fixes", "changes"],
            help="list only these (the summary still counts everything; the exit status is still 1 on a regression)",
        )
        _observed_flag(p)
        p.add_argument("--format", choices=["text", "json"], default="text")
    elif name == "merge":
        p.description = (
            "Combine shard records (rthooks run --shard K/N) into one record (compressed if OUT ends in .xz or "
            ".gz; every report command reads compressed records too). Machine paths (toolchains, the Go build "
            "cache, temporary folders, home folders) are rewritten as $RTHOOKS_CACHE/..., $GOCACHE/..., "
            "$TMPDIR/..., ~/...: a merged record travels."
        )
        p.add_argument("shards", nargs="+", metavar="SHARD.json")
        p.add_argument("--out", required=True, metavar="MERGED.json")
    else:
        p.description = "Per case and spec item, the Go release where each behaviour appeared or changed."
        p.add_argument("runs", nargs="+", metavar="RUN.json")
        _observed_flag(p)
        p.add_argument("--format", choices=["text", "md", "json"], default="text")
    return p


def _observed_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--observed",
        action="store_true",
        help="compare every observed value; by default only statuses and stable values (exit status, signal, "
        "step outcomes, values a case matches with `equals`) are, so seeds, paths, sizes and timings are not "
        "reported as changes",
    )


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        args = _sub_parser(argv[0]).parse_args(argv[1:])
        return {"diff": _diff, "merge": _merge, "trend": _trend}[argv[0]](args)
    args = _render_parser().parse_args(argv)
    return _render(args)


def _render(args: argparse.Namespace) -> int:
    if args.excerpt < 100:
        raise RthooksError("--excerpt must be at least 100")
    _check_folder(args.out)
    for path in write_reports(args.runs, args.formats or ["html"], Path(args.out), args.excerpt):
        print(f"rthooks: wrote {printable(str(path))}", file=sys.stderr)
    return 0


def _check_folder(text: str) -> None:
    """The report folder: checked before the records are read (which can take a while)."""
    if not text:
        raise RthooksError("--out: the folder name is empty")
    if "\0" in text:
        raise RthooksError("--out: the folder name holds a NUL byte")
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise RthooksError(f"--out {printable(text, 200)}: exists and is not a folder")
    for part in out.parts:
        if len(os.fsencode(part)) > 255:
            raise RthooksError("--out: a folder name is longer than 255 bytes")


def _console(text: str, fmt: str) -> str:
    """Output for the terminal: what implementations wrote (case ids, reasons, observed values) cannot
    drive it. JSON stays JSON (the code points are written as \\u escapes)."""
    return json_for_console(text) if fmt == "json" else printable(text, lines=True)


def _diff(args: argparse.Namespace) -> int:
    # deferred for start-up speed: each subcommand imports only what it uses
    from rthooks.reports import diff
    from rthooks.reports.model import load_runs

    old, new = load_runs([args.old, args.new])
    d = diff.diff(old, new, args.by, observed=args.observed)
    text = diff.render_json(d, args.only) if args.format == "json" else diff.render_text(d, args.only)
    sys.stdout.write(_console(text, args.format))
    return 1 if d.regressions else 0


def _merge(args: argparse.Namespace) -> int:
    # deferred for start-up speed: each subcommand imports only what it uses
    from rthooks.protocol.record import check_out, write
    from rthooks.reports.merge import merge
    from rthooks.reports.model import load_runs

    check_out(args.out)
    merged = merge(load_runs(args.shards))
    write(merged, args.out)
    print(
        f"rthooks: merged {len(args.shards)} record(s): {len(merged['implementations'])} implementation(s), "
        f"{len(merged['results'])} result(s) -> {printable(str(args.out))}",
        file=sys.stderr,
    )
    return 0


def _trend(args: argparse.Namespace) -> int:
    # deferred for start-up speed: each subcommand imports only what it uses
    from rthooks.reports import trend
    from rthooks.reports.model import load_view

    view = load_view(args.runs)
    render = {"text": trend.render_text, "md": trend.render_md, "json": trend.render_json}[args.format]
    sys.stdout.write(_console(render(view, observed=args.observed), args.format))
    return 0
