"""``rthooks fuzz --jobs N``: worker processes with seeds derived from the user's, merged into one run.

The workers are real ``rthooks fuzz --worker`` processes (the oracle against itself, or the fake
implementation, so no Go toolchain is needed); each test points RTHOOKS_CACHE at its own folder so the
workers' example database is not the user's."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from rthooks.harness.fuzz import AREAS, PARALLEL_AREAS, default_jobs
from rthooks.harness.fuzz._jobs import Worker, merge, plan, run_workers, shares, worker_seed
from rthooks.harness.impls import python_command
from rthooks.spec.lint import lint_paths
from tests.conftest import run_cli
from tests.test_fuzz import FINAL
from tests.test_fuzz_throughput import CLASSES

ORACLES = ["oracle", "oracle"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private rthooks cache for the workers (they inherit the environment)."""
    monkeypatch.setenv("RTHOOKS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_seeds_and_shares() -> None:
    assert worker_seed(7, 1, 0) == 7  # one job: the user's seed, so --jobs 1 is the one-process run
    seeds = [worker_seed(7, 3, i) for i in range(3)]
    assert len(set(seeds)) == 3 and seeds == [worker_seed(7, 3, i) for i in range(3)]
    assert seeds != [worker_seed(8, 3, i) for i in range(3)]
    assert all(0 <= s < 1 << 32 for s in seeds)
    assert shares(10, 3) == [4, 3, 3] and shares(2, 4) == [1, 1] and sum(shares(3001, 2)) == 3001


def _summary(ran: list[tuple[str, bool]], **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "programs": len(ran),
        "seconds": 10.0,
        "skipped": 0,
        "invalid": 0,
        "notes": [],
        "slow": [],
        "processes": [],
        "batched": sum(b for _, b in ran),
        "batched_seconds": 3.0,
        "alone": sum(not b for _, b in ran),
        "alone_seconds": 7.0,
        "repeated": 2,
        "divergences": [],
        "ran": ran,
    }
    return {**base, **kw}


def test_merge_counts_a_program_run_by_two_workers_once() -> None:
    a = _summary([("p1", True), ("p2", False), ("p3", True)])
    b = _summary([("p1", True), ("p4", False)], batched_seconds=1.0, alone_seconds=9.0, skipped=1)
    s = merge([a, b], wall=6.0)
    assert (s.programs, s.batched, s.alone) == (4, 2, 2)  # p1 once
    assert s.repeated == 2 + 2 + 1 and s.skipped == 1
    assert s.seconds == 6.0  # the wall time, not the workers' sum
    assert s.batched_seconds == pytest.approx(6.0 * 4 / 20) and s.batched_seconds + s.alone_seconds == 6.0


def _ran(workers: list[Worker]) -> list[list[list[object]]]:
    assert all(w.summary is not None for w in workers)
    return [w.summary["ran"] for w in workers if w.summary is not None]


def test_the_program_streams_repeat_for_a_seed_and_a_job_count(cache: Path) -> None:
    said: list[str] = []
    streams = []
    for _ in range(2):
        workers = plan(ORACLES, "debug", 5, 2, examples=30, seconds=None, save=None)
        merged = run_workers(workers, area="debug", say=said.append)
        assert merged.failures == [] and merged.divergences == []
        streams.append(_ran(workers))
    assert streams[0] == streams[1]  # each worker ran the same programs both times
    first, second = ({pid for pid, _ in ran} for ran in streams[0])
    assert len(first) == 15 and len(second) == 15 and first != second  # the budget split, two searches
    other = plan(ORACLES, "debug", 6, 2, examples=30, seconds=None, save=None)
    run_workers(other, area="debug", say=said.append)
    assert _ran(other) != streams[0]


def test_cli_jobs_prints_the_merged_lines(cache: Path) -> None:
    proc = run_cli(
        "fuzz", "--impl", "oracle", "--impl", "oracle", "--area", "debug", "--examples", "40", "--seed", "1",
        "--jobs", "2", env={"RTHOOKS_CACHE": str(cache)},
    )  # fmt: skip
    err = proc.stderr.splitlines()
    assert proc.returncode == 0, proc.stderr
    assert "2 workers" in err[0]
    final, classes = FINAL.match(err[-1]), CLASSES.match(err[-2])
    assert final and classes, err[-2:]
    n = int(final.group(1))
    assert int(classes.group(1)) + int(classes.group(4)) == n
    repeats = re.search(r"fuzz: (\d+) generated programs repeated", proc.stderr)
    assert 35 <= n <= 40 and repeats  # a program both workers generated counts once
    assert "Traceback" not in proc.stderr


def test_a_divergence_two_workers_find_is_saved_and_counted_once(cache: Path, tmp_path: Path) -> None:
    """The fake in lie mode answers null where the oracle answers the runtime's values: both workers diverge
    and shrink to the same minimal env program, one file, one divergence."""
    fake = python_command("rthooks.harness.fake", "--mode", "lie")
    saved = tmp_path / "saved"
    proc = run_cli(
        "fuzz", "--impl", "oracle", "--impl", f"cmd:fake={fake}", "--area", "env", "--examples", "4", "--seed", "1",
        "--jobs", "2", "--save", str(saved), env={"RTHOOKS_CACHE": str(cache)},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    files = sorted(saved.glob("*.yaml"))
    reports = re.findall(r"^fuzz: divergence ", proc.stderr, re.M)
    final = FINAL.match(proc.stderr.splitlines()[-1])
    assert final and int(final.group(2)) == len(reports) == len(files) >= 1, proc.stderr
    assert len({f.stem for f in files}) == len(files) and lint_paths(files) == []
    assert not [p for p in saved.iterdir() if p.name.startswith(".")]  # no draft left behind


def test_a_worker_that_dies_is_one_line_and_the_others_results_are_kept(cache: Path) -> None:
    workers = plan(ORACLES, "debug", 3, 2, examples=20, seconds=None, save=None)
    workers[0].argv = plan(ORACLES, "debug", 3, 2, examples=None, seconds=60.0, save=None)[0].argv  # long-lived

    def kill_first() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            w = workers[0]
            if w.proc is not None and w.progress:  # it is searching: kill it mid-run
                os.kill(w.proc.pid, signal.SIGKILL)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_first)
    killer.start()
    said: list[str] = []
    merged = run_workers(workers, area="debug", say=said.append, every=0.5)
    killer.join()
    assert len(merged.failures) == 1, merged.failures
    assert re.fullmatch(r"worker 1 of 2 \(--seed \d+\) failed \(killed by signal 9\): .+", merged.failures[0])
    assert merged.summary.programs == 10  # the other worker's share, merged


def test_default_jobs_parallel_only_where_measured() -> None:
    """The short-program areas get a search per CPU plus one (capped), the waiting areas one; one CPU, one."""
    assert set(AREAS) >= PARALLEL_AREAS
    assert default_jobs("debug", cpus=2) == 3 and default_jobs("env", cpus=2) == 3
    assert default_jobs("debug", cpus=16) == 4
    assert default_jobs("debug", cpus=1) == 1
    assert all(default_jobs(a, cpus=2) == 1 for a in set(AREAS) - PARALLEL_AREAS)
