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
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.harness import sandbox
from rthooks.protocol.results import OBS_CAP, OUTPUT_CAP, RawRun
from rthooks.protocol.schemas import protocol_validator

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
    started = _launch(argv, env, cwd, launch, writable, out)
    if started is not None:
        started.finish(program, timeout_s, out)
    return out


@dataclass
class _Started:
    """A started implementation process that has not been given its program yet."""

    proc: subprocess.Popen[bytes]
    obs_r: int
    err_r: int
    held: contextlib.ExitStack  # its cgroup, removed once it is over
    start: float
    obs_fd: int  # the observation descriptor's number in the child

    def finish(self, program: Mapping[str, Any], timeout_s: float, out: RawRun, prefix: bytes = b"") -> None:
        """Feed it ``prefix`` and ``program`` and collect everything until it exits or ``timeout_s`` after
        ``start``."""
        try:
            payload = prefix + json.dumps(program).encode()
            _pump(self.proc, payload, self.obs_r, self.err_r, out, self.start + timeout_s)
        finally:
            self.discard()
        out.duration_s = time.monotonic() - self.start

    def discard(self) -> None:
        """Kill its group (whatever it is doing) and free what it holds."""
        os.close(self.obs_r)
        os.close(self.err_r)
        _kill_group(self.proc)
        with _live_lock:
            _live.discard(self.proc.pid)
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
        self.held.close()


def _launch(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    launch: Mapping[str, Any] | None,
    writable: Sequence[Path],
    out: RawRun,
) -> _Started | None:
    """Start ``argv`` in the sandbox, in a cgroup of its own; None (and ``out.start_error``) if it cannot be."""
    held = contextlib.ExitStack()
    obs_r, obs_w = os.pipe()
    err_r, err_w = os.pipe()
    child_env = dict(env)
    child_env["RTHOOKS_OBS_FD"] = str(obs_w)
    start = time.monotonic()
    try:
        cgroup = held.enter_context(sandbox.case_cgroup())
        full = sandbox.command(
            argv,
            env=child_env,
            obs_fd=obs_w,
            err_fd=err_w,
            workdir=cwd,
            writable=writable,
            launch=launch,
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
        _start_failed(e, (obs_r, obs_w, err_r, err_w), held.close, argv[0], out)
        return None
    os.close(obs_w)
    os.close(err_w)
    with _live_lock:
        _live.add(proc.pid)
    return _Started(proc, obs_r, err_r, held, start, obs_w)


def _pump(proc: subprocess.Popen[bytes], payload: bytes, obs_r: int, err_r: int, out: RawRun, deadline: float) -> None:
    assert proc.stdin and proc.stdout and proc.stderr
    sel = selectors.DefaultSelector()
    bufs: dict[str, bytearray] = {
        "stdout": bytearray(),
        "stderr": bytearray(),
        "obs": bytearray(),
        "setup": bytearray(),
    }
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
                pending = _feed(proc, sel, pending, close=True)  # one program: end-of-file after it
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
            _wait(proc, max(0.0, deadline - time.monotonic()))
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


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """``proc.wait(timeout)`` without its polling: Popen sleeps between polls (0.5 ms, then doubling),
    which costs a few milliseconds per process; a pidfd (Linux 5.3+) says at once when it has exited."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return proc.wait(timeout=timeout)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            if not sel.select(timeout=timeout):
                raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    return proc.wait()


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


# ---- batch mode ----------------------------------------------------------------------------------


def batch_marker(nonce: str, k: int) -> bytes:
    """What ends program ``k``'s output on stdout and on stderr (PROTOCOL.md, "Batch mode")."""
    return f"\x1erthooks-batch {nonce} {k}\x1e".encode()


class _Split:
    """One output channel of a batch process, cut into programs at their markers.

    Bytes before program k's marker are program k's (the first ``cap`` kept); the last few bytes
    read are held back until it is clear they do not begin the marker, so a marker split across
    two reads is still found."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept = bytearray()
        self.window = bytearray()
        self.over = False
        self.found = False

    def feed(self, chunk: bytes, marker: bytes) -> None:
        self.window += chunk
        self.scan(marker)

    def scan(self, marker: bytes) -> None:
        if self.found:
            return
        i = self.window.find(marker)
        if i >= 0:
            self._keep(self.window[:i])
            del self.window[: i + len(marker)]
            self.found = True
            return
        cut = len(self.window) - (len(marker) - 1)
        if cut > 0:
            self._keep(self.window[:cut])
            del self.window[:cut]

    def _keep(self, data: bytes | bytearray) -> None:
        room = self.cap - len(self.kept)
        if room > 0:
            self.kept += data[:room]
        if len(data) > room:
            self.over = True

    def take(self, *, rest: bool) -> tuple[str, bool]:
        """This program's text and whether it was cut at the cap; with ``rest`` (the process died),
        what was held back too. The channel is then ready for the next program."""
        if rest:
            self._keep(self.window)
            self.window.clear()
        text, over = self.kept.decode("utf-8", "replace"), self.over
        self.kept, self.over, self.found = bytearray(), False, False
        return text, over


class BatchProcess:
    """One implementation process that runs many programs in turn (PROTOCOL.md, "Batch mode").

    :meth:`run` gives each program the :class:`RawRun` a process of its own would have given: its
    observations (after the process's one hello), its stdout and stderr (cut at the markers the
    implementation writes), and exit status 0 once it reported ``done`` and the end of the program.
    A process that dies, times out or says it cannot go on is ended; the program it was running is
    reported as that process left it, and the next :meth:`run` starts a fresh process. The process
    runs in its own working directory, removed by :meth:`close`, so only programs that need no files,
    no environment of their own and no launch state belong in a batch; the caller chooses them.
    """

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], writable: Sequence[Path] = ()) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.writable = list(writable)
        self.started = 0  # processes started so far
        self.programs = 0  # programs run so far
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stack: contextlib.ExitStack | None = None
        self._fds: dict[str, int] = {}
        self._nonce = ""
        self._k = 0
        self._hello = b""
        self._partial = bytearray()
        self._out = _Split(OUTPUT_CAP)
        self._err = _Split(OUTPUT_CAP)
        self._workdir: Path | None = None

    # -- the process ------------------------------------------------------------------------------

    def _start(self, out: RawRun) -> bool:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="rthooks-batch-"))
        self._nonce = secrets.token_hex(8)
        self._k = 0
        self._hello = b""
        self._partial = bytearray()
        self._out, self._err = _Split(OUTPUT_CAP), _Split(OUTPUT_CAP)
        stack = contextlib.ExitStack()
        obs_r, obs_w = os.pipe()
        err_r, err_w = os.pipe()
        env = {**self.env, "TMPDIR": str(self._workdir), "RTHOOKS_OBS_FD": str(obs_w)}
        try:
            cgroup = stack.enter_context(sandbox.case_cgroup())
            full = sandbox.command(
                [*self.argv, f"--batch={self._nonce}"],
                env=env,
                obs_fd=obs_w,
                err_fd=err_w,
                workdir=self._workdir,
                writable=self.writable,
                cgroup=cgroup,
            )
            proc = subprocess.Popen(
                full,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self._workdir,
                env={},
                start_new_session=True,
                pass_fds=(obs_w, err_w),
            )
        except (RthooksError, OSError) as e:
            _start_failed(e, (obs_r, obs_w, err_r, err_w), stack.close, self.argv[0], out)
            return False
        os.close(obs_w)
        os.close(err_w)
        assert proc.stdin and proc.stdout and proc.stderr
        os.set_blocking(proc.stdin.fileno(), False)
        with _live_lock:
            _live.add(proc.pid)
        self._proc, self._stack, self.started = proc, stack, self.started + 1
        self._fds = {"obs": obs_r, "setup": err_r, "stdout": proc.stdout.fileno(), "stderr": proc.stderr.fileno()}
        return True

    def _end(self) -> int | None:
        """Kill the process's group and free what it held; its wait status (None if there was none)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        _kill_group(proc)
        status = proc.wait()
        with _live_lock:
            _live.discard(proc.pid)
        for name in ("obs", "setup"):
            with contextlib.suppress(OSError):
                os.close(self._fds[name])
        for f in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                if f is not None:
                    f.close()
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        return status

    def close(self) -> None:
        """End the process (if any) and remove the working directory."""
        with self._lock:
            self._end()
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    # -- one program ------------------------------------------------------------------------------

    def run(self, program: Mapping[str, Any], timeout_s: float) -> RawRun:
        """Run one program in the batch process (started, or started afresh, as needed)."""
        with self._lock:
            out = RawRun()
            start = time.monotonic()
            self.programs += 1
            if self._proc is not None and self._proc.poll() is not None:
                self._end()  # it died after its last program ended: this one gets a fresh process
            if self._proc is None and not self._start(out):
                return out
            self._exchange(json.dumps(program).encode() + b"\n", start + timeout_s, out)
            out.duration_s = time.monotonic() - start
            return out

    def _exchange(self, payload: bytes, deadline: float, out: RawRun) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        marker = batch_marker(self._nonce, self._k)
        self._out.scan(marker)
        self._err.scan(marker)
        lines: list[bytes] = []
        size = 0
        setup = bytearray()
        ended: dict[str, Any] | None = None
        sel = selectors.DefaultSelector()
        for name, fd in self._fds.items():
            sel.register(fd, selectors.EVENT_READ, name)
        sel.register(proc.stdin, selectors.EVENT_WRITE, "stdin")
        pending = memoryview(payload)
        open_readers = len(self._fds)
        while open_readers and not (ended is not None and self._out.found and self._err.found):
            left = deadline - time.monotonic()
            if left <= 0:
                out.timed_out = True
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                name = key.data
                if name == "stdin":
                    pending = _feed(proc, sel, pending, close=False)  # stdin stays open for the next program
                    continue
                try:
                    chunk = os.read(key.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    sel.unregister(key.fd)
                    open_readers -= 1
                elif name == "stdout":
                    self._out.feed(chunk, marker)
                elif name == "stderr":
                    self._err.feed(chunk, marker)
                elif name == "setup":
                    setup += chunk[: SETUP_CAP - len(setup)]
                else:
                    self._partial += chunk
                    *complete, rest = self._partial.split(b"\n")
                    self._partial = bytearray(rest)
                    for line in complete:
                        if not self._hello and line.startswith(b'{"hello"'):
                            self._hello = bytes(line)
                        elif line.startswith(b'{"batch"') and ended is None:
                            ended = _batch_end(bytes(line))
                        else:
                            lines.append(bytes(line))
                            size += len(line) + 1
                    if size > OBS_CAP:
                        out.protocol_errors.append(f"observation channel exceeded {OBS_CAP} bytes")
                        _kill_group(proc)
        sel.close()
        finished = ended is not None and self._out.found and self._err.found
        dead = not finished
        if finished:
            out.exit_status = 0  # what the process would have exited with after done (PROTOCOL.md)
            dead = ended is None or not ended.get("continues", False)
        if dead and not finished and not out.timed_out:
            # It died: its channels are closed, and its exit status is what the program did.
            try:
                _wait(proc, max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                out.timed_out = True
                out.protocol_errors.append("closed stdout, stderr and the observation channel but did not exit")
        status = self._end() if dead else None
        if dead and not finished and status is not None:
            if status < 0:
                out.signal = signal.Signals(-status).name
            else:
                out.exit_status = status
        text = bytes(setup).decode("utf-8", "replace").strip()
        if text:
            out.start_error = f"the sandbox could not start the implementation: {text}"
        out.stdout, out.stdout_truncated = self._out.take(rest=dead)
        out.stderr, out.stderr_truncated = self._err.take(rest=dead)
        data = b"".join(x + b"\n" for x in ([self._hello] if self._hello else []) + lines)
        if dead and not finished and self._partial:
            data += bytes(self._partial)  # the last line, cut short: _parse_observations says so
        _parse_observations(data, out)
        self._k += 1
        if dead:
            # The next program's process, started now: its start-up overlaps the caller's own work. A
            # failure to start is reported to that program, by run, which tries again.
            self._start(RawRun())


def _feed(
    proc: subprocess.Popen[bytes], sel: selectors.BaseSelector, pending: memoryview, *, close: bool
) -> memoryview:
    """Write what stdin can take of ``pending`` without blocking; what is left. Once all is written (or the
    process stopped reading: the readers say how it ended) stdin leaves the selector, and with ``close``
    it is closed, which tells a one-program implementation that no more input comes."""
    assert proc.stdin is not None
    try:
        pending = pending[os.write(proc.stdin.fileno(), pending[:65536]) :]
    except BlockingIOError:
        return pending
    except OSError:
        pending = pending[:0]
    if not pending:
        sel.unregister(proc.stdin)
        if close:
            with contextlib.suppress(OSError):
                proc.stdin.close()
    return pending


def _start_failed(
    e: RthooksError | OSError, fds: tuple[int, ...], release: Callable[[], None], program: str, out: RawRun
) -> None:
    """A process that could not be started: its pipes closed, what it held released, and one line saying why."""
    for fd in fds:
        os.close(fd)
    release()
    out.start_error = e.message if isinstance(e, RthooksError) else f"cannot start {program}: {e.strerror or e}"


def _plain_batch_end(obj: object) -> bool:
    """``{"batch": {"program": K, "continues": B}}`` exactly, K a non-negative integer and B a boolean."""
    if not isinstance(obj, dict) or obj.keys() != {"batch"}:
        return False
    end = obj["batch"]
    if not isinstance(end, dict) or end.keys() != {"program", "continues"}:
        return False
    k = end["program"]
    return type(k) is int and k >= 0 and type(end["continues"]) is bool


def _batch_end(line: bytes) -> dict[str, Any]:
    """The ``{"batch": {...}}`` line that ends a program (an unreadable one: the batch does not go on)."""
    try:
        obj = json.loads(line)
    except ValueError:
        return {}
    # harness/schema/protocol.schema.json, $defs/batch_end: the usual shape is checked here (the schema took
    # 0.6 ms a program, a third of a batched program's round trip), anything else by the schema, which stays
    # normative (this accepts only what it accepts)
    if not _plain_batch_end(obj) and not protocol_validator().is_valid(obj):
        return {}
    end = obj.get("batch") if isinstance(obj, dict) else None
    return end if isinstance(end, dict) else {}


# ---- processes started ahead --------------------------------------------------------------------


class WarmStarts:
    """One-program processes started before their program, and its environment, is known: most of a small
    program's cost is its process's start-up (the sandbox's namespaces and cgroup, then the runtime), and
    the harness's own work on the previous program overlaps it. rthooks fuzz uses it.

    A process waits in the implementation's start-up-ahead mode (PROTOCOL.md, "Started ahead"); given
    the program's environment it replaces itself with the implementation started normally with exactly
    that environment, in the sandbox it already has, and runs the program as :func:`run_process` would.
    Only the working directory differs from the caller's (each process has a fresh one of its own), so
    the caller gives here only programs that use no files and need no launch state. After each program
    the next process is started ahead."""

    FLAG = "--exec-env"

    def __init__(self) -> None:
        self.hits = 0  # programs that found their process started
        self.runs = 0
        self._ready: dict[tuple[Any, ...], tuple[_Started, Path]] = {}
        self._lock = threading.Lock()

    def run(
        self,
        argv: Sequence[str],
        program: Mapping[str, Any],
        *,
        env: Mapping[str, str],
        timeout_s: float,
        writable: Sequence[Path] = (),
    ) -> RawRun:
        """What :func:`run_process` would give (without ``launch``), in a process started ahead if one is ready."""
        key = (tuple(argv), tuple(str(w) for w in writable))
        passable = all("=" not in k and "\0" not in k + v for k, v in env.items())
        with self._lock:
            self.runs += 1
            ready = self._ready.pop(key, None) if passable else None
        out = RawRun()
        prefix = b""
        if ready is not None and ready[0].proc.poll() is None:
            self.hits += 1
            started, workdir = ready
            started.start = time.monotonic()  # its deadline and duration count from its program
            final = {**env, "TMPDIR": str(workdir), "RTHOOKS_OBS_FD": str(started.obs_fd)}
            data = json.dumps({"env": [f"{k}={v}" for k, v in final.items()]}).encode()
            prefix = f"{len(data)}\n".encode() + data
        else:
            if ready is not None:
                self._drop(ready)
            workdir = Path(tempfile.mkdtemp(prefix="rthooks-warm-"))
            got = _launch(argv, {**env, "TMPDIR": str(workdir)}, workdir, None, writable, out)
            if got is None:
                shutil.rmtree(workdir, ignore_errors=True)
                return out
            started = got
        try:
            started.finish(program, timeout_s, out, prefix)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self._start_ahead(key, argv, writable)
        return out

    def _start_ahead(self, key: tuple[Any, ...], argv: Sequence[str], writable: Sequence[Path]) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="rthooks-warm-"))
        ahead = [argv[0], self.FLAG, *argv[1:]]
        got = _launch(ahead, {"TMPDIR": str(workdir)}, workdir, None, writable, RawRun())
        if got is None:
            shutil.rmtree(workdir, ignore_errors=True)
            return
        with self._lock:
            old = self._ready.pop(key, None)
            self._ready[key] = (got, workdir)
        if old is not None:
            self._drop(old)

    @staticmethod
    def _drop(item: tuple[_Started, Path]) -> None:
        started, workdir = item
        started.discard()
        shutil.rmtree(workdir, ignore_errors=True)

    def close(self) -> None:
        """Kill every process still waiting for a program."""
        with self._lock:
            items, self._ready = list(self._ready.values()), {}
        for item in items:
            self._drop(item)
