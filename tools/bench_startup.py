"""CPU time of the everyday rthooks commands, each beside its target.

Usage: python tools/bench_startup.py [--repeat 3] [--only NAME ...] [--cold]

Run from the repository root, with the interpreter of the environment to measure (one with the
checkout installed editable measures the checkout). Each command runs as a child process
(``python -m rthooks.cli``); its CPU time is user + sys of that child and of the children it
waited for, read from ``os.wait4`` (wall time would measure the other jobs on a shared machine). The table shows the best and the median of the repeats: the best
is the figure least disturbed by neighbours, the median shows how noisy the machine was.
Without --cold the runs share the user's rthooks cache (so after the first run, YAML comes from
the loader's on-disk cache, as for anyone running commands repeatedly); --cold gives each run an
empty cache folder, the cost of a first command after a change to every YAML file.

A measurement, not a test: nothing here fails on a slow figure, and no test asserts timings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Command:
    """One benchmarked command: a short name, its arguments after ``rthooks``, the CPU target."""

    name: str
    args: tuple[str, ...]
    target_s: float


def commands(out_dir: Path) -> list[Command]:
    """The commands the YAML loader work is judged on (targets from the loader brief)."""
    return [
        Command("validate", ("validate",), 1.0),
        Command("coverage --summary", ("coverage", "--summary"), 1.0),
        Command("spec list", ("spec", "list", "--go", "1.27", "--kind", "metric"), 0.3),
        Command("spec show", ("spec", "show", "runtime/debug.SetGCPercent"), 0.3),
        Command(
            "run oracle, one case",
            (
                "run",
                "--impl",
                "oracle",
                "-k",
                "debug-setgcpercent-returns-previous",
                "--jobs",
                "1",
                "--out",
                str(out_dir / "run.json"),
            ),
            0.5,
        ),
    ]


def cpu_seconds(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run ``argv`` to completion; return the child's user+sys CPU seconds and its exit status."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting again
    return usage.ru_utime + usage.ru_stime, proc.returncode


def main() -> int:
    """Print one row per command: best and median CPU seconds over the repeats, and the target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    ap.add_argument("--only", nargs="*", help="benchmark only the commands whose name contains one of these")
    ap.add_argument(
        "--cold",
        action="store_true",
        help="give every run an empty RTHOOKS_CACHE, so nothing parsed by an earlier run is reused",
    )
    args = ap.parse_args()
    if not (Path("spec") / "releases.yaml").is_file():
        print("run from the repository root (spec/releases.yaml not found)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as d:
        cmds = [c for c in commands(Path(d)) if not args.only or any(o in c.name for o in args.only)]
        width = max(len(c.name) for c in cmds)
        print(f"{'command':<{width}}  {'best s':>7}  {'median s':>8}  {'target s':>8}  status")
        for c in cmds:
            runs = []
            for i in range(args.repeat):
                env = None
                if args.cold:
                    env = {**os.environ, "RTHOOKS_CACHE": str(Path(d) / f"cache-{c.name}-{i}".replace(" ", "_"))}
                runs.append(cpu_seconds([sys.executable, "-m", "rthooks.cli", *c.args], env))
            times = [t for t, _ in runs]
            codes = sorted({rc for _, rc in runs})
            best, median = min(times), statistics.median(times)
            verdict = "ok" if best <= c.target_s else "OVER"
            exits = "" if codes == [0] else f"  (exit {','.join(map(str, codes))})"
            print(f"{c.name:<{width}}  {best:7.2f}  {median:8.2f}  {c.target_s:8.2f}  {verdict}{exits}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
