"""Running a protocol program in the model and describing what a process would have done."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.harness.process import RawRun
from rthooks.oracle.envparse import FatalStartup, read_gogc, read_gomaxprocs, read_gomemlimit
from rthooks.oracle.state import Exited, OracleRuntime, PanicError, Unsupported


def run_program(program: dict[str, Any], *, env: dict[str, str], release: GoVersion, workdir: Path) -> RawRun:
    out = RawRun()
    out.observations.append(
        {
            "hello": {
                "impl": "rthooks-oracle",
                "version": f"go{release}",
                "goos": "linux",
                "goarch": "amd64",
                "protocol": 1,
            }
        }
    )
    try:
        rt = OracleRuntime(
            release=release,
            gcpercent=read_gogc(env.get("GOGC")),
            memlimit=read_gomemlimit(env.get("GOMEMLIMIT")),
            gomaxprocs=read_gomaxprocs(env.get("GOMAXPROCS"), len(os.sched_getaffinity(0))),
            env=env,
            workdir=workdir,
            setup=dict(program.get("setup") or {}),
        )
    except FatalStartup as e:
        out.stderr = str(e) + "\n"
        out.exit_status = 2
        return out
    for i, step in enumerate(program["steps"]):
        try:
            value = rt.step(step)
            out.observations.append({"step": i, "status": "ok", "value": value})
        except Unsupported as e:
            out.observations.append({"step": i, "status": "unsupported", "reason": str(e)})
        except Exited as e:
            if e.signal:
                out.signal = e.signal
            else:
                out.exit_status = e.status
            out.stdout, out.stderr = rt.stdout, rt.stderr + e.stderr
            return out
        except PanicError as e:
            out.observations.append({"step": i, "status": "panic", "panic": e.text, "panic_type": e.type})
    out.observations.append({"done": True})
    out.stdout, out.stderr = rt.stdout, rt.stderr
    out.exit_status = 0
    return out
