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
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.harness import sandbox
from rthooks.protocol.results import OBS_CAP, OUTPUT_CAP, RawRun

SETUP_CAP = 4096  # bytes of a sandbox setup failure kept


def run_process(
    argv: Sequence[str],
    program: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout_s: float,
    launch: Mapping[str, Any] | None = None,
    writable: Sequence[Path] = (),
) -> RawRun:
    """Start ``argv`` in the sandbox, feed it ``program``, collect everything until it exits or the deadline.

    The sandbox (harness/sandbox.py) applies limits, signal state and ``launch``
    before the program's first instruction, and ends every descendant with it.
    """
    out = RawRun()
    try:
        with sandbox.case_cgroup() as cgroup:
            _run_contained(argv, program, env, cwd, timeout_s, launch, writable, cgroup, out)
    except RthooksError as e:
        out.start_error = e.message
    return out


def _run_contained(
    argv: Sequence[str],
    program: Mapping[str, Any],
    env: Mapping[str, str],
    cwd: Path,
    timeout_s: float,
    launch: Mapping[str, Any] | None,
    writable: Sequence[Path],
    cgroup: Path | None,
    out: RawRun,
) -> None:
    obs_r, obs_w = os.pipe()
    err_r, err_w = os.pipe()
    child_env = dict(env)
    child_env["RTHOOKS_OBS_FD"] = str(obs_w)
    start = time.monotonic()
    try:
        full = sandbox.command(
            argv, env=child_env, obs_fd=obs_w, err_fd=err_w, workdir=cwd, writable=writable, launch=launch,
            cgroup=cgroup,
        )
        proc = subprocess.Popen(
            full,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={},
            start_new_session=True,
            pass_fds=(obs_w, err_w),
        )
    except (RthooksError, OSError) as e:
        for fd in (obs_r, obs_w, err_r, err_w):
            os.close(fd)
        if isinstance(e, RthooksError):
            raise
        out.start_error = f"cannot start {argv[0]}: {e.strerror or e}"
        return
    os.close(obs_w)
    os.close(err_w)
    with _live_lock:
        _live.add(proc.pid)
    payload = json.dumps(program).encode()
    try:
        _pump(proc, payload, obs_r, err_r, out, start + timeout_s)
    finally:
        os.close(obs_r)
        os.close(err_r)
        _kill_group(proc)
        with _live_lock:
            _live.discard(proc.pid)
    out.duration_s = time.monotonic() - start


def _pump(
    proc: subprocess.Popen[bytes], payload: bytes, obs_r: int, err_r: int, out: RawRun, deadline: float
) -> None:
    assert proc.stdin and proc.stdout and proc.stderr
    sel = selectors.DefaultSelector()
    bufs: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray(), "obs": bytearray(), "setup": bytearray()}
    caps = {"stdout": OUTPUT_CAP, "stderr": OUTPUT_CAP, "obs": OBS_CAP, "setup": SETUP_CAP}
    over = {"stdout": False, "stderr": False, "obs": False, "setup": False}
    os.set_blocking(proc.stdin.fileno(), False)
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    sel.register(obs_r, selectors.EVENT_READ, "obs")
    sel.register(err_r, selectors.EVENT_READ, "setup")
    sel.register(proc.stdin, selectors.EVENT_WRITE, "stdin")
    pending = memoryview(payload)
    open_readers = 4
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
                except BlockingIOError:
                    continue
                except OSError:
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
    if not out.timed_out:
        # Every channel is closed. A process that closed them and lives on is not a crash: wait for
        # it until the deadline, and say what it did if it is still there then.
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            out.timed_out = True
            out.protocol_errors.append("closed stdout, stderr and the observation channel but did not exit")
    if out.timed_out:
        _kill_group(proc)
    status = proc.wait()
    setup = bytes(bufs["setup"]).decode("utf-8", "replace").strip()
    if setup:
        out.start_error = f"the sandbox could not start the implementation: {setup}"
    if status < 0:
        out.signal = signal.Signals(-status).name
    else:
        out.exit_status = status
    out.stdout = bufs["stdout"].decode("utf-8", "replace")
    out.stderr = bufs["stderr"].decode("utf-8", "replace")
    out.stdout_truncated, out.stderr_truncated = over["stdout"], over["stderr"]
    _parse_observations(bytes(bufs["obs"]), out)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_observations(data: bytes, out: RawRun) -> None:
    """One strict JSON object per line: NaN and Infinity are protocol errors, as in any other JSON reader."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        # A last line without its newline: the process died mid-write, or never flushed.
        out.protocol_errors.append("observation channel ended in the middle of a line")
        lines.pop()
    for n, raw in enumerate(lines, 1):
        try:
            obj = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as e:
            shown = raw[:80].decode("utf-8", "replace")
            why = str(e) if "is not JSON" in str(e) else "is not JSON"
            out.protocol_errors.append(f"observation line {n} {why}: {shown!r}")
            continue
        if not isinstance(obj, dict):
            out.protocol_errors.append(f"observation line {n} is not an object")
            continue
        out.observations.append(obj)  # lone surrogates are replaced where results enter the record


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
