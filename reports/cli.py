"""`rthooks report ...`: its own argument parser (the main CLI hands it everything after `report`).

rthooks report RUN.json... [--format html|md|junit|json]... [--out DIR]
rthooks report diff OLD.json NEW.json [--by impl|case] [--format text|json]
rthooks report merge SHARD.json... --out MERGED.json
rthooks report trend RUN.json... [--format text|md|json]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rthooks.errors import RthooksError

SUBCOMMANDS = ("diff", "merge", "trend")


def _render_parser() -> argparse.ArgumentParser:
    from rthooks.reports import EXCERPT, FILES

    p = argparse.ArgumentParser(
        prog="rthooks report",
        description="Render run records (implementations x Go versions) as reports. Also: "
        "`rthooks report diff|merge|trend --help`.",
        epilog="Files written: " + ", ".join(f"{k} -> {v}" for k, v in FILES.items()),
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN.json", help="run records (rthooks run --out)")
    p.add_argument("--format", action="append", choices=list(FILES), help="repeatable (default: html)", dest="formats")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports/)")
    p.add_argument(
        "--excerpt", type=int, default=EXCERPT, help=f"characters kept of stdout, stderr, reasons (default {EXCERPT})"
    )
    return p


def _sub_parser(name: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"rthooks report {name}")
    if name == "diff":
        p.description = (
            "Classify each (case, implementation) as regression, fix, changed, new, removed or unchanged; "
            "exit 1 on any regression."
        )
        p.add_argument("old", type=Path, metavar="OLD.json")
        p.add_argument("new", type=Path, metavar="NEW.json")
        p.add_argument(
            "--by",
            choices=["impl", "case"],
            default="impl",
            help="match results by case and implementation name (default), or by case alone "
            "(records of one implementation each, e.g. two Go releases)",
        )
        p.add_argument("--format", choices=["text", "json"], default="text")
    elif name == "merge":
        p.description = (
            "Combine shard records (rthooks run --shard K/N) into one record (compressed if OUT ends in .xz or "
            ".gz; every report command reads compressed records too)."
        )
        p.add_argument("shards", nargs="+", type=Path, metavar="SHARD.json")
        p.add_argument("--out", type=Path, required=True, metavar="MERGED.json")
    else:
        p.description = "Per case and spec item, the Go release where each behaviour appeared or changed."
        p.add_argument("runs", nargs="+", type=Path, metavar="RUN.json")
        p.add_argument("--format", choices=["text", "md", "json"], default="text")
    return p


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        args = _sub_parser(argv[0]).parse_args(argv[1:])
        return {"diff": _diff, "merge": _merge, "trend": _trend}[argv[0]](args)
    args = _render_parser().parse_args(argv)
    return _render(args)


def _render(args: argparse.Namespace) -> int:
    from rthooks.reports import write_reports

    if args.excerpt < 100:
        raise RthooksError("--excerpt must be at least 100")
    for path in write_reports(args.runs, args.formats or ["html"], args.out, args.excerpt):
        print(f"rthooks: wrote {path}", file=sys.stderr)
    return 0


def _diff(args: argparse.Namespace) -> int:
    from rthooks.reports import diff
    from rthooks.reports.model import load_runs

    old, new = load_runs([args.old, args.new])
    d = diff.diff(old, new, args.by)
    sys.stdout.write(diff.render_json(d) if args.format == "json" else diff.render_text(d))
    return 1 if d.regressions else 0


def _merge(args: argparse.Namespace) -> int:
    from rthooks.reports.merge import merge
    from rthooks.reports.model import load_runs, write_record

    merged = merge(load_runs(args.shards))
    write_record(merged, args.out)
    print(
        f"rthooks: merged {len(args.shards)} record(s): {len(merged['implementations'])} implementation(s), "
        f"{len(merged['results'])} result(s) -> {args.out}",
        file=sys.stderr,
    )
    return 0


def _trend(args: argparse.Namespace) -> int:
    from rthooks.reports import trend
    from rthooks.reports.model import load_view

    view = load_view(args.runs)
    render = {"text": trend.render_text, "md": trend.render_md, "json": trend.render_json}[args.format]
    sys.stdout.write(render(view))
    return 0
