"""Containment of implementation processes: limits, namespaces, cgroups (contract 5).

Every implementation process (the Go driver, any ``cmd:`` program) starts through
``rthooks-sandbox`` (``harness/sandbox/sandbox.c``), so that from its first
instruction:

- its rlimits are in force (address space, file size, CPU time, no core files),
  applied before exec, not after it as ``prlimit`` on a running child would be;
- its signal dispositions are the defaults and its mask is empty, whatever the
  harness inherited (``nohup`` leaves SIGHUP ignored), except what the case's
  ``setup.launch`` asks for;
- it cannot outlive its case: it is pid 2 of a PID namespace whose init is the
  sandbox, so when the program ends the kernel kills every descendant, ``setsid``
  escapees included; it cannot see, stop or signal the harness, which lives in
  the parent namespace;
- it cannot write outside its case directory (and the Go build cache, for ops that
  run the toolchain): the rest of the filesystem is read-only in its mount
  namespace;
- its processes and threads are counted by a ``pids`` cgroup where one can be
  made (root ignores RLIMIT_NPROC, a cgroup does not).

Where namespaces cannot be made (no root, user namespaces disabled), the
sandbox falls back to a child subreaper: orphaned descendants are re-parented
to it and killed when the program ends. There a Landlock ruleset (Linux 5.13+,
no privilege needed) keeps writes to the case directory; from Landlock ABI 6 it
also keeps the program from signalling anything outside its own process tree,
the harness and the sandbox included. On a kernel without Landlock the fallback
limits neither (``describe()`` says which containment a run used). ``RTHOOKS_CONTAINMENT=subreaper`` forces the fallback,
so the tests exercise both paths.

Why C: the launcher runs once per case, and a Python launcher costs about 20 ms
of interpreter start-up; this one costs about a millisecond (README, "Running
untrusted cases"). It is compiled once per source hash into the rthooks cache
with the machine's C compiler.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import hashlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.toolchain import cache_dir

SOURCE = Path(__file__).parent / "sandbox" / "sandbox.c"

ADDRESS_SPACE = 4 << 30  # Go needs >= 768 MiB of address space to start; leave room
FILE_SIZE = 256 << 20  # the largest file a case's program may write (profiles, traces, dumps)
CPU_SECONDS = 120
OPEN_FILES = 4096
PIDS_MAX = 2048  # processes and threads of one case (a Go program has a dozen threads)


@dataclass(frozen=True)
class Containment:
    """How this machine contains a case: ``pidns`` (with or without a user namespace) or ``subreaper``."""

    mode: str
    userns: bool
    cgroup: str | None  # the pids cgroup folder cases are put in, or None
    landlock: int = 0  # the kernel's Landlock ABI (0: none); what the subreaper fallback relies on

    @property
    def confines_writes(self) -> bool:
        """Whether a program can write only in its case directory (and the listed writable folders)."""
        return self.mode == "pidns" or self.landlock >= 1

    @property
    def confines_signals(self) -> bool:
        """Whether a program can signal nothing outside its own process tree (the harness included)."""
        return self.mode == "pidns" or self.landlock >= 6

    def describe(self) -> str:
        if self.mode == "pidns":
            how = "pid+mount namespaces" + (" in a user namespace" if self.userns else "")
        elif self.landlock:
            scope = ", signals" if self.confines_signals else ""
            how = f"child subreaper (no namespaces here), Landlock ABI {self.landlock} (writes{scope})"
        else:
            how = "child subreaper (no namespaces here, no Landlock: writes and signals not limited)"
        return how + (", pids cgroup" if self.cgroup else "")


@functools.cache
def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers (0: none), asked the way the sandbox asks it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): 444 on every architecture
        version = libc.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


@functools.cache
def binary() -> Path:
    """The compiled sandbox, built once per source hash (one clear line when no C compiler exists)."""
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = cache_dir() / "sandbox" / digest / "rthooks-sandbox"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise RthooksError(
            "rthooks needs a C compiler to build its process sandbox (harness/sandbox/sandbox.c): "
            "install gcc (Debian: apt-get install gcc) or set CC"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".sandbox-", dir=target.parent)
    os.close(fd)
    try:
        # Static where the C library allows it: no dynamic loader to run for every case (~0.2 ms).
        for flags in (["-static"], []):
            p = subprocess.run(
                [cc, "-O2", *flags, "-o", tmp, str(SOURCE)], capture_output=True, text=True, timeout=120, check=False
            )
            if p.returncode == 0:
                break
        if p.returncode != 0:
            said = (p.stderr or p.stdout).strip().splitlines()
            raise RthooksError(f"cannot build the process sandbox with {cc}: {said[-1] if said else p.returncode}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def _works(args: Sequence[str]) -> bool:
    try:
        p = subprocess.run(
            [str(binary()), *args, "--", "/bin/sh", "-c", "exit 0"], capture_output=True, timeout=30, env={}
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0


@functools.cache
def containment() -> Containment:
    """Probe once which containment this machine allows (the strongest that works)."""
    forced = os.environ.get("RTHOOKS_CONTAINMENT", "")
    if forced not in ("", "pidns", "subreaper"):
        raise RthooksError(f"RTHOOKS_CONTAINMENT={forced!r}: want pidns or subreaper")
    cg = _pids_cgroup_root()
    if forced != "subreaper":
        for userns in (False, True):
            if _works(["-m", "pidns", *(["-u"] if userns else []), "-w", tempfile.gettempdir()]):
                return Containment("pidns", userns, cg)
        if forced == "pidns":
            raise RthooksError("RTHOOKS_CONTAINMENT=pidns, but this machine cannot make PID namespaces")
    return Containment("subreaper", False, cg, landlock_abi())


# ---- pids cgroups ------------------------------------------------------------------------------


def _pids_cgroup_root() -> str | None:
    """A cgroup folder of ours under which each case gets a pids-limited child, or None.

    cgroup v1 mounts the pids controller at /sys/fs/cgroup/pids; v2 has one tree
    whose pids controller must be enabled in our own cgroup's parent.
    """
    candidates = []
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists():
        candidates.append(v1)
    v2 = Path("/sys/fs/cgroup")
    with contextlib.suppress(OSError):
        if "pids" in (v2 / "cgroup.controllers").read_text().split():
            rel = Path("/proc/self/cgroup").read_text().splitlines()[0].split(":", 2)[2].lstrip("/")
            candidates.append(v2 / rel)
    for base in candidates:
        root = base / f"rthooks-{os.getpid()}"
        try:
            root.mkdir(exist_ok=True)
            probe = root / "probe"
            probe.mkdir(exist_ok=True)
            ok = (probe / "pids.max").exists()
            probe.rmdir()
        except OSError:
            continue
        if ok:
            atexit.register(_remove_tree, root)
            return str(root)
        with contextlib.suppress(OSError):
            root.rmdir()
    return None


def _remove_tree(root: Path) -> None:
    for child in root.glob("c*"):
        _empty_and_remove(child)
    with contextlib.suppress(OSError):
        root.rmdir()


def _empty_and_remove(cg: Path) -> list[int]:
    """Kill whatever is left in a case's cgroup, then remove it; return the pids that were left."""
    left: list[int] = []
    for _ in range(200):
        try:
            pids = [int(x) for x in (cg / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return left
        if not pids:
            break
        left.extend(p for p in pids if p not in left)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        threading.Event().wait(0.002)
    for _ in range(200):
        try:
            cg.rmdir()
            break
        except FileNotFoundError:
            break
        except OSError:
            threading.Event().wait(0.002)  # the kernel frees a dead task's cgroup membership asynchronously
    return left


_counter = itertools.count()


@contextlib.contextmanager
def case_cgroup() -> Iterator[Path | None]:
    """A fresh pids-limited cgroup for one case (None where cgroups cannot be made)."""
    root = containment().cgroup
    if root is None:
        yield None
        return
    cg = Path(root) / f"c{next(_counter)}"
    try:
        cg.mkdir()
        (cg / "pids.max").write_text(str(PIDS_MAX))
    except OSError:
        yield None
        return
    try:
        yield cg
    finally:
        _empty_and_remove(cg)


# ---- the command line --------------------------------------------------------------------------


def signal_numbers(names: Sequence[Any]) -> list[int]:
    """Signal names from a case's ``launch.ignore_signals`` as numbers (unknown names are refused)."""
    out = []
    for name in names:
        text = str(name)
        text = text if text.startswith("SIG") else "SIG" + text
        sig = getattr(signal, text, None)
        if not isinstance(sig, signal.Signals):
            raise RthooksError(f"unknown signal {name!r} in setup.launch.ignore_signals")
        out.append(int(sig))
    return out


def command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    obs_fd: int,
    err_fd: int,
    workdir: Path,
    writable: Sequence[Path] = (),
    launch: Mapping[str, Any] | None = None,
    cgroup: Path | None = None,
) -> list[str]:
    """The sandbox command line that runs ``argv`` with ``env`` for one case."""
    c = containment()
    prog = argv[0]
    if "/" not in prog:
        found = shutil.which(prog, path=env.get("PATH") or os.environ.get("PATH"))
        prog = found or prog
    prog = os.path.abspath(prog)
    out = [str(binary()), "-m", c.mode, "-e", str(err_fd), "-k", str(obs_fd)]
    if c.userns:
        out.append("-u")
    for w in (workdir, *writable):  # pidns: read-only mounts; subreaper: Landlock where the kernel has it
        out += ["-w", str(w)]
    if cgroup is not None:
        out += ["-g", str(cgroup / "cgroup.procs")]
    out += ["-a", str(ADDRESS_SPACE), "-f", str(FILE_SIZE), "-t", str(CPU_SECONDS), "-o", str(OPEN_FILES)]
    launch = launch or {}
    if launch.get("cpus"):
        out += ["-c", ",".join(str(int(x)) for x in launch["cpus"])]
    if launch.get("ignore_signals"):
        out += ["-i", ",".join(str(n) for n in signal_numbers(launch["ignore_signals"]))]
    for k, v in env.items():
        if "\0" in k or "\0" in v or "=" in k:
            raise RthooksError(f"environment key {k!r} cannot be passed to a process")
        out += ["-x", f"{k}={v}"]
    return [*out, "--", prog, *argv[1:]]


def overhead_ms(n: int = 200) -> tuple[float, float]:
    """Wall milliseconds per process of starting ``/bin/true`` directly and through the sandbox.

    Measured interleaved in one run (``rthooks bench`` prints it), so machine load
    weighs on both alike; the difference is what containment costs each case.
    """
    true = shutil.which("true") or "/bin/true"
    direct = contained = 0.0
    with tempfile.TemporaryDirectory(prefix="rthooks-bench-") as tmp:
        for _ in range(n):
            t0 = time.perf_counter()
            subprocess.run([true], cwd=tmp, env={}, check=False)
            t1 = time.perf_counter()
            with case_cgroup() as cg:
                r, w = os.pipe()
                try:
                    argv = command([true], env={}, obs_fd=w, err_fd=w, workdir=Path(tmp), cgroup=cg)
                    subprocess.run(argv, cwd=tmp, env={}, pass_fds=(w,), check=False)
                finally:
                    os.close(r)
                    os.close(w)
            t2 = time.perf_counter()
            direct += t1 - t0
            contained += t2 - t1
    return direct / n * 1000, contained / n * 1000
