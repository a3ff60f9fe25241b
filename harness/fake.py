"""A fake implementation for testing the harness itself (Bowtie's model).

    python -m rthooks.harness.fake --mode MODE

It speaks PROTOCOL.md correctly in mode `ok` (every step answers with the
value given in the step's `with.answer`, or null) and misbehaves on purpose
in every other mode, so tests can prove that each fault becomes a status in
the record, with no traceback and no process left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from typing import Any

MODES = (
    "ok",
    "lie",
    "hang",
    "hang-with-grandchild",
    "crash-mid-step",
    "garbage",
    "flood-stdout",
    "flood-observations",
    "exit0-early",
    "wrong-count",
    "no-hello",
    "unsupported",
    "partial-line",
    "build-error",
    # hostile modes (issue 10): each one attacks the harness or the machine in one way
    "escape-setsid",
    "fork-at-once",
    "fork-bomb",
    "big-file",
    "write-outside",
    "signal-parent-int",
    "signal-parent-term",
    "signal-parent-stop",
    "signal-harness",
    "nan",
    "surrogate",
    "huge-value",
    "escape-codes",
    "close-and-linger",
    "plant-files",
)

MARKER = "rthooks-fake-escapee"


def _escape_setsid() -> None:
    """Double fork, new session: a daemon that a process-group kill does not reach."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [MARKER, "-c", "import time; time.sleep(3600)"])
        os._exit(0)
    os.wait()


def _fork_at_once() -> None:
    """A child forked before anything else reports the limits it runs under (they must already hold)."""
    r, w = os.pipe()
    if os.fork() == 0:
        limits = [resource.getrlimit(x)[0] for x in (resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_CPU)]
        os.write(w, json.dumps(limits).encode())
        os._exit(0)
    os.close(w)
    os.wait()
    with os.fdopen(r) as f:
        sys.stderr.write("limits " + f.read() + "\n")


def _fork_bomb() -> None:
    """Fork until the process-count limit says no (bounded here too, for machines without one)."""
    made = 0
    for _ in range(3000):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(3600)
            os._exit(0)
        made += 1
    sys.stderr.write(f"forked {made}\n")


def _write_outside() -> None:
    """Try to leave a file where no case may write: home, /tmp, /dev/shm, beside the case directory."""
    tag = os.environ.get("RTHOOKS_FAKE_TAG", "x")
    for d in (os.environ.get("HOME", "/root"), "/tmp", "/dev/shm", os.path.dirname(os.getcwd())):
        try:
            with open(os.path.join(d, f"rthooks-fake-outside-{tag}"), "w") as f:
                f.write("escaped\n")
            sys.stderr.write(f"wrote {d}\n")
        except OSError as e:
            sys.stderr.write(f"refused {d}: {e.strerror}\n")


def _signal_harness() -> None:
    """Signal every process whose command line mentions rthooks, and everything we may signal."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"rthooks" in cmd and b"rthooks.harness.fake" not in cmd:
            with contextlib.suppress(OSError):
                os.kill(int(entry), signal.SIGTERM)
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGTERM)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=MODES, default="ok")
    mode = ap.parse_args().mode
    program = json.load(sys.stdin)
    fd = int(os.environ.get("RTHOOKS_OBS_FD", "3"))
    obs = os.fdopen(fd, "w", buffering=1)

    def emit(obj: Any) -> None:
        obs.write(json.dumps(obj) + "\n")
        obs.flush()

    if mode == "escape-setsid":
        _escape_setsid()
    if mode == "fork-at-once":
        _fork_at_once()
    if mode == "fork-bomb":
        _fork_bomb()
    if mode == "write-outside":
        _write_outside()
    if mode.startswith("signal-parent-"):
        sig = {"int": signal.SIGINT, "term": signal.SIGTERM, "stop": signal.SIGSTOP}[mode.rsplit("-", 1)[1]]
        with contextlib.suppress(OSError):
            os.kill(os.getppid(), sig)
    if mode == "signal-harness":
        _signal_harness()
    if mode == "big-file":
        with open("big.bin", "wb") as f:  # over the sandbox's file-size limit: SIGXFSZ
            for _ in range(512):
                f.write(b"\0" * (1 << 20))
    if mode == "plant-files":  # bait for the judge's file matcher: it must read none of these
        os.symlink("/etc/passwd", "passwd.txt")
        os.symlink("/dev/zero", "zero.txt")
        os.mkfifo("fifo.txt")
        os.mkdir("sub")
        os.symlink("/etc", "sub/etc")
    if mode == "close-and-linger":
        for n in (0, 1, 2, fd):
            with contextlib.suppress(OSError):
                os.close(n)
        time.sleep(3600)
    if mode == "nan":
        obs.write('{"hello": {"impl": "fake-nan", "version": "go1.27", "protocol": 1}}\n')
        obs.write('{"step": 0, "status": "ok", "value": NaN}\n{"step": 1, "status": "ok", "value": Infinity}\n')
        obs.write('{"done": true}\n')
        obs.flush()
        return
    if mode == "build-error":  # models a toolchain that rejects the build configuration
        key = sorted(program["setup"].get("directives") or {"x": 1})[0]
        emit({"build_error": f"invalid //go:debug: unknown //go:debug setting {json.dumps(key)}"})
        return
    if mode != "no-hello":
        emit({"hello": {"impl": f"fake-{mode}", "version": f"go{program['go']}", "protocol": 1}})
    steps = program["steps"]
    for i, step in enumerate(steps):
        if mode == "hang" and i == 0:
            time.sleep(3600)
        if mode == "hang-with-grandchild" and i == 0:
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
            time.sleep(3600)
        if mode == "crash-mid-step" and i == 1:
            os.kill(os.getpid(), signal.SIGSEGV)
        if mode == "exit0-early" and i == 1:
            os._exit(0)
        if mode == "garbage":
            obs.write("this is not JSON\n")
            obs.flush()
            continue
        if mode == "partial-line":
            obs.write('{"step": 0, "sta')
            obs.flush()
            os._exit(0)
        if mode == "flood-stdout":
            chunk = "x" * 65536
            for _ in range(64):  # 4 MiB, over the 1 MiB cap
                sys.stdout.write(chunk)
            sys.stdout.flush()
        if mode == "flood-observations":
            line = json.dumps({"step": i, "status": "ok", "value": "y" * 1000}) + "\n"
            for _ in range(20000):  # 20 MB, over the 8 MiB cap
                obs.write(line)
        if mode == "unsupported":
            emit({"step": i, "status": "unsupported", "reason": "the fake does not do this"})
            continue
        answer = (step.get("with") or {}).get("answer")
        if mode == "lie" and isinstance(answer, int):
            answer += 1
        if mode == "surrogate":
            sys.stdout.buffer.write(b"\xff\xfe not UTF-8 \xed\xa0\x80\n")
            sys.stdout.flush()
            obs.write('{"step": ' + str(i) + ', "status": "ok", "value": "lone \\ud800 surrogate"}\n')
            obs.flush()
            continue
        if mode == "huge-value" and i == 0:
            answer = "v" * (7 << 20)  # under the channel's 8 MiB, over what a record keeps
        if mode == "escape-codes":
            sys.stderr.write("\x1b[2J\x1b[31mred\x1b]0;title\x07\n")
            answer = "\x1b[2J\x1b[1;1Hgotcha"
        emit({"step": i, "status": "ok", "value": answer})
    if mode == "wrong-count":
        emit({"step": len(steps), "status": "ok", "value": None})
    emit({"done": True})


if __name__ == "__main__":
    main()
