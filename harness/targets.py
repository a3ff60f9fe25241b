"""Where a Go implementation runs: GOOS/GOARCH and how its binaries are executed (one sorted table).

The runtime's hook code differs per port (signals, stacks, threads, profiling timers, 32-bit
defaults), so ``--impl go=1.27@linux/arm64`` builds the same driver for that port and runs it the
way this machine can: natively (linux/amd64, and linux/386 on an amd64 kernel), through
qemu-user (linux/arm64, linux/riscv64: the harness runs the emulator itself, no binfmt
registration needed), or in the wasmtime WASI runtime (wasip1/wasm). What a port cannot offer
is a capability it lacks, which makes a case N/A with that reason, never a failure.

The facts here were checked by hand on this project's machines (issue 13): 386 binaries crash
under qemu-i386 but run natively; qemu-user costs about 50 ms of start-up per process; a
program run by qemu-user cannot exec another foreign binary without binfmt registration.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass

from rthooks.errors import RthooksError
from rthooks.harness import wasirun


@dataclass(frozen=True)
class Target:
    """One port: the GOOS/GOARCH pair, how its binaries run, and what they cannot do."""

    goos: str
    goarch: str
    runner: str  # "native" | "qemu" | "wasmtime"
    emulator: str | None  # the command that runs a binary of this port, when not native
    package: str | None  # where the emulator or runtime comes from (one line when it is missing)
    lacks: frozenset[str]  # capabilities (case `requires.capabilities`) this port cannot offer
    timeout_scale: float  # emulation is slower: case timeouts are multiplied by this
    why: str  # the reason shown for N/A cases

    @property
    def name(self) -> str:
        return f"{self.goos}/{self.goarch}"

    @property
    def suffix(self) -> str:
        """What an implementation's name gets for this port ('' for the machine's own)."""
        return "" if self.name == HOST else f"-{self.goos}-{self.goarch}"

    def launcher(self) -> list[str]:
        """The argv prefix that runs a binary of this port here (empty when native)."""
        if self.runner == "native":
            return []
        if self.runner == "wasmtime":
            if not wasirun.available():
                raise RthooksError(f"{self.name} needs the wasmtime runtime: install {self.package}")
            return [sys.executable, "-m", "rthooks.harness.wasirun"]
        assert self.emulator is not None
        found = shutil.which(self.emulator)
        if not found:
            raise RthooksError(f"{self.name} needs {self.emulator}: install {self.package}")
        return [found]


HOST = "linux/amd64"

# Sorted by GOOS/GOARCH. "exec" is starting another program (the go command); "reexec" is starting
# a copy of itself, which under qemu-user without binfmt is a foreign binary the kernel cannot run.
TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "linux", "386", "native", None, None, frozenset({"cgo", "go-tool"}), 1.0,
            "linux/386 runs natively on the amd64 kernel; cgo would need a 32-bit C toolchain, and programs"
            " the go command builds would be the host's port",
        ),
        Target("linux", "amd64", "native", None, None, frozenset(), 1.0, "the machine's own port"),
        Target(
            "linux", "arm64", "qemu", "qemu-aarch64-static", "Debian's qemu-user-static",
            frozenset({"cgo", "go-tool", "reexec"}), 4.0,
            "linux/arm64 runs under qemu-user: no cross C compiler, no re-exec of itself (a foreign binary"
            " without binfmt), and programs the go command builds would be the host's port",
        ),
        Target(
            "linux", "riscv64", "qemu", "qemu-riscv64-static", "Debian's qemu-user-static",
            frozenset({"cgo", "go-tool", "reexec"}), 4.0,
            "linux/riscv64 runs under qemu-user: no cross C compiler, no re-exec of itself (a foreign binary"
            " without binfmt), and programs the go command builds would be the host's port",
        ),
        Target(
            "wasip1", "wasm", "wasmtime", None, "PyPI's wasmtime (pip install wasmtime)",
            frozenset({"cgo", "exec", "go-tool", "reexec", "signals", "threads"}), 2.0,
            "wasip1 runs in the wasmtime WASI runtime: no signals, no threads, no processes, no C",
        ),
    )
}


def parse(text: str) -> Target:
    """``linux/arm64`` → its Target; one clear line for anything else."""
    t = TARGETS.get(text.strip())
    if t is None:
        raise RthooksError(f"unknown target {text!r} (known: {', '.join(TARGETS)})")
    return t


def host() -> Target:
    return TARGETS[HOST]


def build_env(t: Target) -> dict[str, str]:
    """GOOS/GOARCH (and no cgo off the host) for building the driver for ``t``."""
    env = {"GOOS": t.goos, "GOARCH": t.goarch}
    if t.name != HOST:
        env["CGO_ENABLED"] = "0"
    return env

