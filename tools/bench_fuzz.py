"""Where a fuzz run's time goes: Hypothesis's generation, the oracle, run_one's own work, the comparison,
the driver's round trip and process starts, split by wall time and by the main thread's CPU time.

Usage: python tools/bench_fuzz.py [--impl go=1.27] [--area debug] [--examples 1000] [--seed 1] [--batched-only]

Run from the repository root with the environment's interpreter. It runs ``rthooks fuzz``'s engine in
this process (no example database) with each component wrapped in a timer, then prints the table and
fuzz's own last two lines (the two classes of programs, and the whole run). Wall time measures the
neighbours too on a shared machine; the CPU column (``time.thread_time`` of the thread that did the
work) does not, so it is the figure to compare between two runs when the load average is high.
Components nest (a run_one includes its oracle run and its judge): the table is not a sum. The last
line but two is the CPU of every process (this one, both threads, and the Go driver's processes, which
have all ended when the run ends): the figure behind a programs/s target (200 programs/s on 2 cores needs
at most 10 ms of CPU per program). ``--batched-only`` (debug area) generates no program that needs a
process of its own (no crash at the end), so the figures are the batched class's alone.

A measurement, not a test: nothing here fails on a slow figure, and no test asserts timings.
"""

from __future__ import annotations

import argparse
import collections
import functools
import io
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


class Timers:
    """Wall and thread-CPU seconds per component and thread, and call counts."""

    def __init__(self) -> None:
        self.wall: collections.Counter[str] = collections.Counter()
        self.cpu: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def wrap(self, owner: Any, name: str, key: str) -> None:
        """Replace ``owner.name`` by a timed call of it, counted under ``key`` and the calling thread."""
        inner: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            w, c = time.perf_counter(), time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                where = "main" if threading.current_thread() is threading.main_thread() else "worker"
                with self._lock:
                    self.wall[f"{key} [{where}]"] += time.perf_counter() - w
                    self.cpu[f"{key} [{where}]"] += time.thread_time() - c
                    self.calls[f"{key} [{where}]"] += 1

        setattr(owner, name, timed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--impl", default="go=1.27", help="the implementation compared with the oracle")
    ap.add_argument("--area", default="debug")
    ap.add_argument("--examples", type=int, default=1000, help="generated programs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-example", type=int, default=None, help="programs per Hypothesis example")
    ap.add_argument("--batched-only", action="store_true", help="debug area: no program ends in a crash")
    args = ap.parse_args(argv)

    from rthooks import casepolicy
    from rthooks.harness import impls, process, runner
    from rthooks.harness.fuzz import Fuzzer, _engine
    from rthooks.spec.load import default_spec

    if args.batched_only:
        _batched_only()
    spec = default_spec()
    newest = spec.releases[-1]
    oracle = impls.parse_impl("oracle", newest, spec.releases)
    other = impls.parse_impl(args.impl, newest, spec.releases)
    t = Timers()
    t.wrap(_engine.Fuzzer, "check_all", "example (run + compare)")
    t.wrap(_engine.Fuzzer, "_case", "case + policy check")
    t.wrap(casepolicy, "check_case", "  policy check")
    t.wrap(_engine, "compare", "compare")
    t.wrap(_engine.Fuzzer, "_run_one", "run_one")
    t.wrap(runner, "compile_case", "  compile")
    t.wrap(runner, "judge", "  judge")
    t.wrap(impls.OracleImpl, "run", "  oracle's run")
    t.wrap(process.BatchProcess, "run", "  batch round trip")
    t.wrap(process.BatchProcess, "_start", "    batch process start")
    t.wrap(process.WarmStarts, "run", "  process of its own")
    t.wrap(process.WarmStarts, "_start_ahead", "    start ahead")
    t.wrap(process, "run_process", "  process started for it")
    fz = Fuzzer(
        (oracle, other),
        spec,
        area=args.area,
        examples=args.examples,
        seed=args.seed,
        db=None,
        stream=io.StringIO(),
        per_example=args.per_example,
    )
    w0, c0, all0 = time.perf_counter(), time.thread_time(), _all_cpu()
    s = fz.run()
    wall, cpu, all_cpu = time.perf_counter() - w0, time.thread_time() - c0, _all_cpu() - all0
    load = os.getloadavg()[0]
    n = max(1, s.programs)
    print(f"{args.area} area, oracle against {other.name}, seed {args.seed}, load average {load:.1f}")
    print(f"{'component [thread]':44s} {'calls':>6s} {'wall s':>8s} {'ms/prog':>8s} {'cpu s':>8s} {'ms/prog':>8s}")
    gen_w = wall - t.wall["example (run + compare) [main]"]
    gen_c = cpu - t.cpu["example (run + compare) [main]"]
    print(f"{'generation and engine (outside examples)':44s} {'':6s} {gen_w:8.2f} {1000 * gen_w / n:8.2f} "
          f"{gen_c:8.2f} {1000 * gen_c / n:8.2f}")  # fmt: skip
    for key in sorted(t.wall, key=lambda k: (k.split(" [")[1], list(t.wall).index(k))):
        print(
            f"{key:44s} {t.calls[key]:6d} {t.wall[key]:8.2f} {1000 * t.wall[key] / n:8.2f} "
            f"{t.cpu[key]:8.2f} {1000 * t.cpu[key] / n:8.2f}"
        )
    print(f"{'whole run [main]':44s} {'':6s} {wall:8.2f} {1000 * wall / n:8.2f} {cpu:8.2f} {1000 * cpu / n:8.2f}")
    print(f"{'whole run [every process]':44s} {'':6s} {'':8s} {'':8s} {all_cpu:8.2f} {1000 * all_cpu / n:8.2f}")
    for line in s.processes:
        print(f"fuzz: {line}")
    print(s.classes_line())
    print(s.final_line())
    return 0


def _all_cpu() -> float:
    """User and system CPU seconds of this process and of its children that have ended."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _batched_only() -> None:
    """Make the debug area's machine never end its program in a crash (nor start with GOTRACEBACK): every
    program is then a setter sequence that runs in the batch process."""
    from hypothesis import strategies as st
    from hypothesis.stateful import initialize

    from rthooks.harness.fuzz import _strategies

    @initialize(crash=st.just(False))
    def start(self: Any, crash: bool) -> None:
        self.crash = crash

    _strategies.SetterMachine.start = start  # type: ignore[method-assign]


if __name__ == "__main__":
    sys.exit(main())
