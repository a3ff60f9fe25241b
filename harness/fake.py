"""A fake implementation for testing the harness itself (Bowtie's model).

    python -m rthooks.harness.fake --mode MODE

It speaks PROTOCOL.md correctly in mode `ok` (every step answers with the
value given in the step's `with.answer`, or null) and misbehaves on purpose
in every other mode, so tests can prove that each fault becomes a status in
the record, with no traceback and no process left behind.
"""

from __future__ import annotations

import argparse
import json
import os
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
)


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
        emit({"step": i, "status": "ok", "value": answer})
    if mode == "wrong-count":
        emit({"step": len(steps), "status": "ok", "value": None})
    emit({"done": True})


if __name__ == "__main__":
    main()
