"""Running one implementation process for one case, whatever it does.

The harness owns the process (PROTOCOL.md): program on stdin, observations on
an inherited descriptor, stdout and stderr captured separately and capped, its own process group
with rlimits, and a deadline after which the *whole group* is killed (a plain
``subprocess.run(timeout=)`` leaves grandchildren running). Nothing an
implementation does here may raise: every outcome is data in :class:`RawRun`.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTPUT_CAP = 1 << 20  # bytes kept of stdout and of stderr
OBS_CAP = 8 << 20  # bytes accepted on the observation channel
ADDRESS_SPACE = 4 << 30  # Go needs >= 768 MiB of address space to start; leave room
CPU_SECONDS = 120


@dataclass
class RawRun:
    """What one process did: observations, output, how it ended, how long it took."""

    observations: list[dict[str, Any]] = field(default_factory=list)
    protocol_errors: list[str] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    exit_status: int | None = None
    signal: str | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    start_error: str | None = None
    build_error: str | None = None  # the program's build failed (for cases that expect it): the toolchain's output


def _limit(pid: int) -> None:
    """Apply rlimits to a started child (no preexec_fn: it is unsafe with worker threads).

    Python's subprocess already restores SIGPIPE to its default in the child
    (restore_signals=True), so the runtime's SIGPIPE rules stay observable.
    """
    with contextlib.suppress(OSError, ValueError):
        resource.prlimit(pid, resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
        resource.prlimit(pid, resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 5))


# Applies a case's `setup.launch` to the implementation's process and then execs it, so that
# the state is what the program inherits at startup (ignored signals, CPU affinity).
# Python itself is the launcher: no preexec_fn (unsafe with worker threads), no taskset
# dependency. SIGPIPE/SIGXFSZ go back to default: the interpreter ignores them itself.
_LAUNCHER = """
import os, signal, sys
cpus, ignore = sys.argv[1], sys.argv[2]
if cpus:
    os.sched_setaffinity(0, [int(c) for c in cpus.split(",")])
for s in (signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(s, signal.SIG_DFL)
for name in filter(None, ignore.split(",")):
    signal.signal(getattr(signal, name), signal.SIG_IGN)
os.execvp(sys.argv[3], sys.argv[3:])
"""


def launch_argv(argv: Sequence[str], launch: Mapping[str, Any] | None) -> list[str]:
    """``argv`` wrapped so the process starts with the case's `setup.launch` state applied."""
    if not launch:
        return list(argv)
    cpus = ",".join(str(int(c)) for c in launch.get("cpus") or [])
    ignore = ",".join(("" if str(s).startswith("SIG") else "SIG") + str(s) for s in launch.get("ignore_signals") or [])
    return [sys.executable, "-c", _LAUNCHER, cpus, ignore, *argv]


def run_process(
    argv: Sequence[str],
    program: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout_s: float,
) -> RawRun:
    """Start ``argv``, feed it ``program``, collect everything until it exits or the deadline."""
    out = RawRun()
    obs_r, obs_w = os.pipe()
    child_env = dict(env)
    child_env["RTHOOKS_OBS_FD"] = str(obs_w)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=child_env,
            start_new_session=True,
            pass_fds=(obs_w,),
        )
    except OSError as e:
        os.close(obs_r)
        os.close(obs_w)
        out.start_error = f"cannot start {argv[0]}: {e.strerror or e}"
        return out
    os.close(obs_w)
    with _live_lock:
        _live.add(proc.pid)
    _limit(proc.pid)
    payload = json.dumps(program).encode()
    try:
        _pump(proc, payload, obs_r, out, start + timeout_s)
    finally:
        os.close(obs_r)
        _kill_group(proc)
        with _live_lock:
            _live.discard(proc.pid)
    out.duration_s = time.monotonic() - start
    return out


def _pump(proc: subprocess.Popen[bytes], payload: bytes, obs_r: int, out: RawRun, deadline: float) -> None:
    assert proc.stdin and proc.stdout and proc.stderr
    sel = selectors.DefaultSelector()
    bufs: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray(), "obs": bytearray()}
    caps = {"stdout": OUTPUT_CAP, "stderr": OUTPUT_CAP, "obs": OBS_CAP}
    over = {"stdout": False, "stderr": False, "obs": False}
    os.set_blocking(proc.stdin.fileno(), False)
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    sel.register(obs_r, selectors.EVENT_READ, "obs")
    sel.register(proc.stdin, selectors.EVENT_WRITE, "stdin")
    pending = memoryview(payload)
    open_readers = 3
    while open_readers:
        left = deadline - time.monotonic()
        if left <= 0:
            out.timed_out = True
            break
        for key, _ in sel.select(timeout=min(left, 0.5)):
            name = key.data
            if name == "stdin":
                try:
                    n = os.write(proc.stdin.fileno(), pending[:65536])
                    pending = pending[n:]
                except (BrokenPipeError, BlockingIOError, OSError) as e:
                    if isinstance(e, BlockingIOError):
                        continue
                    pending = pending[:0]
                if not pending:
                    sel.unregister(proc.stdin)
                    with contextlib.suppress(OSError):
                        proc.stdin.close()
                continue
            fd = key.fd
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(key.fileobj)
                open_readers -= 1
                continue
            room = caps[name] - len(bufs[name])
            if room > 0:
                bufs[name] += chunk[:room]
            if len(chunk) > room:
                over[name] = True
                if name == "obs" and out.protocol_errors[-1:] != [f"observation channel exceeded {OBS_CAP} bytes"]:
                    # An implementation flooding its observation channel is broken; stop it now.
                    out.protocol_errors.append(f"observation channel exceeded {OBS_CAP} bytes")
                    _kill_group(proc)
    sel.close()
    if out.timed_out:
        _kill_group(proc)
    try:
        status = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        status = proc.wait()
    if status < 0:
        out.signal = signal.Signals(-status).name
    else:
        out.exit_status = status
    out.stdout = bufs["stdout"].decode("utf-8", "replace")
    out.stderr = bufs["stderr"].decode("utf-8", "replace")
    out.stdout_truncated, out.stderr_truncated = over["stdout"], over["stderr"]
    _parse_observations(bytes(bufs["obs"]), out)


def _parse_observations(data: bytes, out: RawRun) -> None:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        # A last line without its newline: the process died mid-write, or never flushed.
        out.protocol_errors.append("observation channel ended in the middle of a line")
        lines.pop()
    for n, raw in enumerate(lines, 1):
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            shown = raw[:80].decode("utf-8", "replace")
            out.protocol_errors.append(f"observation line {n} is not JSON: {shown!r}")
            continue
        if not isinstance(obj, dict):
            out.protocol_errors.append(f"observation line {n} is not an object")
            continue
        out.observations.append(obj)


_live: set[int] = set()
_live_lock = threading.Lock()


def kill_all() -> None:
    """Kill every process group still running (on Ctrl-C): no child outlives the harness."""
    with _live_lock:
        pids = list(_live)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
