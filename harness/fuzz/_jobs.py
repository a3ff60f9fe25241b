"""``rthooks fuzz --jobs N``: N worker processes, each its own Hypothesis search, merged into one run.

Why processes of ``rthooks fuzz`` itself (``python -m rthooks.cli fuzz ... --worker``) rather than
multiprocessing: a worker is exactly the one-process fuzz run (same code, same budget checks, same batch and
started-ahead processes), started the way a user starts it; its death (a signal, an out-of-memory kill, a
bug) is an exit status the parent reads, with its stderr kept for the one line that says why; and nothing
has to be pickled (areas build Hypothesis state machine classes at run time).

The channel: a worker writes one JSON object per line on its stdout (``progress``, ``divergence``,
``summary``) and keeps stderr for what is not the protocol (a traceback, if it ever crashes). Worker ``i``
of ``N`` searches with :func:`worker_seed` of the user's seed, so a given seed and N always run the same
programs (with a fresh example database), and gets an ``--examples`` share (the total is the user's; the
first ``examples % N`` workers take one more) or the whole ``--seconds`` (the wall budget). The workers
share the example database in the rthooks cache. A divergence is shrunk and saved by the worker that
found it (a saved case's file name is its content's id, written atomically, so two workers finding the same
minimal program write one file) and reported once by the parent, by that id.

Merging: counts add up, except that a program that several workers generated is counted once (the others
as repeats; each worker reports the id and class of every program it searched); the seconds are the
parent's wall time from the first worker's search (as a one-process run's clock starts after its imports
and the spec's load) to the last worker's end, split between the two classes in proportion to the
workers' own class seconds. Ctrl-C stops every worker; a worker that fails is one line and exit 1, and the
others' results are still merged and printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rthooks.harness.fuzz._engine import Summary
from rthooks.text import printable

CHANNEL_PREFIX = "rthooks-fuzz-worker "  # every channel line starts with this (anything else is not the protocol)


def worker_seed(base: int, jobs: int, index: int) -> int:
    """Worker ``index``'s seed (0 <= index < jobs): the user's seed itself for one job, else a 32-bit digest of
    (seed, jobs, index), so the workers' searches differ and a given seed and job count always repeat."""
    if jobs == 1:
        return base
    digest = hashlib.sha256(f"rthooks-fuzz:{base}:{jobs}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def shares(examples: int, jobs: int) -> list[int]:
    """``examples`` split among ``jobs`` workers (the first ones take the remainder); no empty share."""
    return [n for n in (examples // jobs + (i < examples % jobs) for i in range(jobs)) if n > 0]


# ---- the worker side -------------------------------------------------------------------------------------


class Channel:
    """The worker's end: JSON lines on stdout (flushed at once, so the parent's progress is current)."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self._out = out if out is not None else sys.stdout
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = CHANNEL_PREFIX + json.dumps(event, separators=(",", ":"))
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._out.write(line + "\n")
            self._out.flush()


def summary_event(s: Summary, ran: dict[str, bool], divergences: list[str]) -> dict[str, Any]:
    """A worker's last event: its summary, the id and class (batched or not) of each program it searched, and
    the ids of its divergences."""
    return {
        "summary": {
            "programs": s.programs,
            "seconds": s.seconds,
            "skipped": s.skipped,
            "invalid": s.invalid,
            "notes": s.notes,
            "slow": s.slow,
            "processes": s.processes,
            "batched": s.batched,
            "batched_seconds": s.batched_seconds,
            "alone": s.alone,
            "alone_seconds": s.alone_seconds,
            "repeated": s.repeated,
            "divergences": divergences,
            "ran": sorted(ran.items()),
        }
    }


# ---- the parent side -------------------------------------------------------------------------------------


@dataclass
class Worker:
    """One worker process, as the parent sees it."""

    index: int
    seed: int
    argv: list[str]
    proc: subprocess.Popen[str] | None = None
    stderr: IO[str] | None = None
    summary: dict[str, Any] | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None

    def label(self, jobs: int) -> str:
        return f"worker {self.index + 1} of {jobs} (--seed {self.seed})"


@dataclass
class Merged:
    """What the parent prints: the merged summary, divergence count (by saved case id), failed workers."""

    summary: Summary
    divergences: list[str]
    failures: list[str]


def merge(summaries: list[dict[str, Any]], wall: float) -> Summary:
    """Add up the workers' summaries (see the module's text): distinct programs across workers, wall seconds."""
    out = Summary(seconds=wall)
    seen: set[str] = set()
    class_s = [0.0, 0.0]
    for s in summaries:
        out.programs += s["programs"]
        out.batched += s["batched"]
        out.alone += s["alone"]
        out.skipped += s["skipped"]
        out.invalid += s["invalid"]
        out.repeated += s["repeated"]
        out.notes += s["notes"]
        out.slow += s["slow"]
        out.processes += s["processes"]
        class_s[0] += s["batched_seconds"]
        class_s[1] += s["alone_seconds"]
        for pid, batched in s["ran"]:
            if pid in seen:  # another worker ran it first: a repeat, not a distinct program
                out.programs -= 1
                out.repeated += 1
                if batched:
                    out.batched -= 1
                else:
                    out.alone -= 1
            seen.add(pid)
    out.notes, out.slow = out.notes[:10], out.slow[:5]
    total = class_s[0] + class_s[1]
    if total > 0:
        out.batched_seconds = wall * class_s[0] / total
        out.alone_seconds = wall - out.batched_seconds
    elif out.programs:
        out.alone_seconds = wall
    return out


def _reader(w: Worker, events: queue.Queue[tuple[Worker, dict[str, Any] | None]]) -> None:
    """Forward a worker's channel lines to the parent's queue; None when its stdout ends."""
    assert w.proc is not None and w.proc.stdout is not None
    try:
        for line in w.proc.stdout:
            if line.startswith(CHANNEL_PREFIX):
                with contextlib.suppress(ValueError):
                    events.put((w, json.loads(line[len(CHANNEL_PREFIX) :])))
    finally:
        events.put((w, None))


def _last_line(f: IO[str] | None) -> str:
    if f is None:
        return ""
    with contextlib.suppress(OSError, ValueError):
        f.seek(0)
        lines = [line.strip() for line in f.read().splitlines() if line.strip()]
        return lines[-1] if lines else ""
    return ""


def run_workers(
    workers: list[Worker],
    *,
    area: str,
    say: Callable[[str], None],
    every: float = 5.0,
    python: str = sys.executable,
) -> Merged:
    """Start the workers, print merged progress and each divergence once, and merge their summaries."""
    jobs = len(workers)
    events: queue.Queue[tuple[Worker, dict[str, Any] | None]] = queue.Queue()
    reported: list[str] = []
    start = last = time.monotonic()
    searching = False
    threads: list[threading.Thread] = []
    try:
        for w in workers:
            w.stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
            w.proc = subprocess.Popen(
                [python, "-m", "rthooks.cli", *w.argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=w.stderr,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
            t = threading.Thread(target=_reader, args=(w, events), daemon=True, name=f"rthooks-fuzz-job{w.index}")
            t.start()
            threads.append(t)
        running = jobs
        while running:
            try:
                got: tuple[Worker, dict[str, Any] | None] | None = events.get(timeout=max(0.1, every))
            except queue.Empty:
                got = None
            if got is not None:
                w, event = got
                if event is None:  # its stdout ended
                    running -= 1
                    continue
                if "started" in event and not searching:
                    searching, start = True, time.monotonic()  # the seconds count from the first search
                elif "progress" in event:
                    w.progress = event["progress"]
                elif "divergence" in event:
                    d = event["divergence"]
                    if d["id"] not in reported:  # two workers that shrank to the same program: one divergence
                        reported.append(d["id"])
                        say(str(d["report"]))
                elif "summary" in event:
                    w.summary = event["summary"]
                    for did in event["summary"]["divergences"]:
                        if did not in reported:
                            reported.append(did)
            now = time.monotonic()
            if now - last >= every:
                last = now
                p = [w.progress for w in workers]
                shrinking = " (shrinking)" if any(x.get("shrinking") for x in p) else ""
                say(
                    f"fuzz: [{area}] {sum(x.get('programs', 0) for x in p)} programs in {now - start:.0f} s, "
                    f"{len(reported)} divergences, {sum(x.get('skipped', 0) for x in p)} skipped, "
                    f"{jobs} workers{shrinking}"
                )
        for w in workers:
            assert w.proc is not None
            w.proc.wait()
    except BaseException:  # Ctrl-C (or any failure here): stop every worker, then let it go on
        stop(workers)
        raise
    finally:
        for t in threads:
            t.join(timeout=5)
    wall = time.monotonic() - start
    failures = []
    for w in workers:
        assert w.proc is not None
        status = w.proc.returncode
        if w.summary is None or status not in (0, 1):
            why = _last_line(w.stderr) or "no message"
            how = f"killed by signal {-status}" if status is not None and status < 0 else f"exit {status}"
            failures.append(f"{w.label(jobs)} failed ({how}): {printable(why, 300)}")
        if w.stderr is not None:
            w.stderr.close()
    merged = merge([w.summary for w in workers if w.summary is not None], wall)
    return Merged(merged, reported, failures)


def stop(workers: list[Worker], grace: float = 10.0) -> None:
    """Interrupt every live worker (each ends its own processes, as on Ctrl-C), then kill what is left."""
    live = [w.proc for w in workers if w.proc is not None and w.proc.poll() is None]
    for p in live:
        with contextlib.suppress(OSError):
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    for p in live:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                p.kill()
            p.wait()


def worker_argv(impls: list[str], area: str, seed: int, budget: tuple[str, str], save: Path | None) -> list[str]:
    """A worker's command line (after ``python -m rthooks.cli``)."""
    argv = ["fuzz", "--impl", impls[0], "--impl", impls[1], "--area", area, "--seed", str(seed), *budget]
    if save is not None:
        argv += ["--save", os.fspath(save)]
    return [*argv, "--jobs", "1", "--worker"]


def plan(
    impls: list[str],
    area: str,
    base: int,
    jobs: int,
    *,
    examples: int | None,
    seconds: float | None,
    save: Path | None,
) -> list[Worker]:
    """The workers of ``--jobs`` for the user's seed ``base``: each with its seed and its share of the budget
    (fewer workers than ``jobs`` when there are fewer examples than jobs)."""
    budgets: list[tuple[str, str]] = (
        [("--examples", str(n)) for n in shares(examples, jobs)]
        if examples is not None
        else [("--seconds", repr(seconds if seconds is not None else 60.0))] * jobs
    )
    n = len(budgets)
    return [
        Worker(i, worker_seed(base, n, i), worker_argv(impls, area, worker_seed(base, n, i), b, save))
        for i, b in enumerate(budgets)
    ]
