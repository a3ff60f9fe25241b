"""`rthooks fuzz`: differential testing of two implementations on programs generated from the spec.

The public surface is small: :func:`main` (the subcommand, which parses its own arguments so that the
CLI imports Hypothesis only when fuzzing), :class:`Fuzzer` and what it returns. The layers below:
``_strategies`` (programs from the spec), ``_compare`` (observations held against each other with the
case matchers), ``_save`` (a divergence as a case file), ``_engine`` (the search and its budget).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from rthooks.argtypes import positive, seconds
from rthooks.errors import RthooksError
from rthooks.harness.fuzz._compare import LOOSENED, TRACEBACK_SHAPE
from rthooks.harness.fuzz._engine import Divergence, Fuzzer, Summary, database
from rthooks.harness.fuzz._jobs import Channel, plan, run_workers, summary_event
from rthooks.harness.fuzz._save import case_id
from rthooks.harness.fuzz._strategies import DOMAIN_LIMITS, GODEBUG_EXCLUDED
from rthooks.harness.fuzz.areas import AREAS, loosened
from rthooks.text import printable

__all__ = [
    "AREAS",
    "DOMAIN_LIMITS",
    "GODEBUG_EXCLUDED",
    "LOOSENED",
    "TRACEBACK_SHAPE",
    "Divergence",
    "Fuzzer",
    "Summary",
    "loosened",
    "main",
]


class _Parser(argparse.ArgumentParser):
    """Bad usage is one line and exit 2, as everywhere in rthooks."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"rthooks fuzz: {printable(message, 300)} (see rthooks fuzz --help)\n")


def _seed(text: str) -> int:
    try:
        n = int(text) if len(text) <= 20 else -1
    except ValueError:
        n = -1
    if not 0 <= n < 1 << 32:
        raise argparse.ArgumentTypeError(f"want a seed from 0 to 2**32-1, not {text!r}")
    return n


def _folder(text: str) -> Path:
    if not text:
        raise argparse.ArgumentTypeError("the folder name is empty")
    return Path(text)


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="rthooks fuzz",
        description="Run programs generated from the spec on two implementations and compare what they observe.",
        epilog="areas: " + "; ".join(f"{name}: {AREAS[name].description}" for name in sorted(AREAS)),
    )
    p.add_argument(
        "--impl",
        action="append",
        required=True,
        help="twice: oracle[=1.N] and the implementation to compare it with (go=1.N, go=PATH, cmd=COMMAND)",
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--seconds", type=seconds, help="search for this long (default 60 when --examples is not given)"
    )
    budget.add_argument("--examples", type=positive, help="search this many generated programs (shrinking not counted)")
    p.add_argument("--seed", type=_seed, help="the search's seed (default: random, printed)")
    p.add_argument("--area", choices=sorted(AREAS), default="env", help="what to generate (default env)")
    p.add_argument("--save", type=_folder, help="write each shrunk divergence here as a case file")
    p.add_argument(
        "--jobs",
        type=positive,
        help="worker processes, each its own search (seeds derived from --seed; --examples is their total, "
        "--seconds the wall time); default: a search per CPU plus one (at most 4) for debug and env on 2 or more CPUs, "
        "else 1",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a --jobs worker: JSON events on stdout
    return p


#: Areas whose programs are many and short (the debug area's batched setters, env's start-up programs): each
#: search waits for its Go side part of the time, so one search per CPU plus one keeps both the Python side
#: and the Go processes busy. Measured on 2 idle cores against go1.27 (seeds 1-3): debug's batched class
#: 177-189 programs/s with 2 jobs, 201-218 with 3; env 46 with 2, 49-51 with 3 (35 with 1). The other
#: areas' programs wait out receive timeouts, thread exits and GC cycles, which more searches would
#: only crowd.
PARALLEL_AREAS = frozenset({"debug", "env"})


def default_jobs(area: str, cpus: int | None = None) -> int:
    """What pays by default: for the areas of PARALLEL_AREAS, a search per CPU plus one (at most 4) on a
    machine with 2 or more CPUs; one search elsewhere (README, "Fuzzing")."""
    n = cpus if cpus is not None else (os.cpu_count() or 1)
    return min(n + 1, 4) if area in PARALLEL_AREAS and n >= 2 else 1


def main(argv: Sequence[str]) -> int:
    """``rthooks fuzz ARGS``: exit 0 with no divergence, 1 with any, 2 for bad usage."""
    args = parser().parse_args(list(argv))
    if len(args.impl) != 2:
        parser().error(
            f"--impl is needed exactly twice (the oracle and another implementation), not {len(args.impl)} times"
        )
    if not args.impl[0].startswith("oracle") and not args.impl[1].startswith("oracle"):
        parser().error("one --impl must be the oracle (oracle or oracle=1.N)")
    if args.save is not None and args.save.exists() and not args.save.is_dir():
        parser().error(f"--save {printable(str(args.save), 200)}: not a folder")
    # deferred for start-up speed: bad usage above is reported before the spec and the harness load
    from rthooks.harness.impls import parse_impl
    from rthooks.spec.load import default_spec
    from rthooks.toolchain import cache_dir

    spec = default_spec()
    newest = spec.releases[-1]
    texts = sorted(args.impl, key=lambda t: not t.startswith("oracle"))  # the oracle first, the reference second
    impls = (parse_impl(texts[0], newest, spec.releases), parse_impl(texts[1], newest, spec.releases))
    if impls[0].name == impls[1].name and texts[0] != texts[1]:
        raise RthooksError(f"--impl {texts[0]} and --impl {texts[1]} name the same implementation")
    seconds = args.seconds if args.seconds is not None or args.examples is not None else 60.0
    jobs = args.jobs if args.jobs is not None else default_jobs(args.area)
    if jobs > 1 and not args.worker:
        return _parent(args, texts, (impls[0].name, impls[1].name), seconds, jobs)
    emit = None
    if args.worker:
        emit = Channel()
    fuzzer = Fuzzer(
        impls,
        spec,
        area=args.area,
        seconds=seconds,
        examples=args.examples,
        seed=args.seed,
        save=args.save,
        db=database(cache_dir() / "fuzz"),
        emit=emit,
        every=1.0 if emit is not None else 5.0,
    )
    if emit is not None:
        result = fuzzer.run()
        emit(summary_event(result, fuzzer.ran, [case_id(d.program) for d in result.divergences]))
        return 1 if result.divergences else 0
    print(f"fuzz: {args.area} area, {impls[0].name} against {impls[1].name}", file=sys.stderr)
    result = fuzzer.run()
    return _finish(result)


def _finish(result: Summary, failures: Sequence[str] = ()) -> int:
    """The run's last lines (both one process and --jobs); the exit status."""
    for note in result.slow:
        print(f"fuzz: slow program: {printable(note, 400)}", file=sys.stderr)
    if result.repeated:
        print(
            f"fuzz: {result.repeated} generated programs repeated one already run and were not run again",
            file=sys.stderr,
        )
    for note in result.notes + result.processes:
        print(f"fuzz: {printable(note, 400)}", file=sys.stderr)
    if result.skipped or result.invalid:
        print(f"fuzz: {result.skipped} programs skipped (unsupported), {result.invalid} invalid", file=sys.stderr)
    for line in failures:
        print(f"fuzz: {printable(line, 400)}", file=sys.stderr)
    print(result.classes_line(), file=sys.stderr)
    print(result.final_line(), file=sys.stderr)
    return 1 if result.diverged or failures else 0


def _parent(
    args: argparse.Namespace, texts: list[str], names: tuple[str, str], seconds: float | None, jobs: int
) -> int:
    """``--jobs N``: run N workers (rthooks.harness.fuzz._jobs) and print their merged results."""
    base = args.seed if args.seed is not None else secrets.randbits(32)
    if args.seed is None:
        print(f"fuzz: seed {base} (rerun with --seed {base} --jobs {jobs})", file=sys.stderr)
    workers = plan(texts, args.area, base, jobs, examples=args.examples, seconds=seconds, save=args.save)
    print(f"fuzz: {args.area} area, {names[0]} against {names[1]}, {len(workers)} workers", file=sys.stderr)
    merged = run_workers(workers, area=args.area, say=lambda text: print(text, file=sys.stderr, flush=True))
    merged.summary.remote = merged.divergences
    return _finish(merged.summary, merged.failures)
