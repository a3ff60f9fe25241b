"""Running a protocol program in the model and describing what a process would have done."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.harness.process import RawRun
from rthooks.oracle.envparse import FatalStartup, read_gogc, read_gomaxprocs, read_gomemlimit, removed_godebug_fatal
from rthooks.oracle.godebugmodel import build_error
from rthooks.oracle.state import Exited, OracleRuntime, PanicError, StepError, Unsupported


def run_program(program: dict[str, Any], *, env: dict[str, str], release: GoVersion, workdir: Path) -> RawRun:
    out = RawRun()
    out.build_error = build_error(dict(program.get("setup") or {}), release)
    if out.build_error is not None:
        return out
    launch = (program.get("setup") or {}).get("launch") or {}
    ncpu = len(launch["cpus"]) if launch.get("cpus") else len(os.sched_getaffinity(0))
    try:
        rt = OracleRuntime(
            release=release,
            gcpercent=read_gogc(env.get("GOGC"), release),
            memlimit=read_gomemlimit(env.get("GOMEMLIMIT"), release),
            gomaxprocs=read_gomaxprocs(env.get("GOMAXPROCS"), ncpu, release),
            env=env,
            workdir=workdir,
            setup=dict(program.get("setup") or {}),
        )
    except FatalStartup as e:
        out.stderr = str(e) + "\n"
        out.exit_status = 2
        return out
    fatal = removed_godebug_fatal(env.get("GODEBUG") or "", release)
    if fatal:  # runtime.main checks this before any user code runs
        out.stderr, out.exit_status = fatal, 2
        return out
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
    for i, step in enumerate(program["steps"]):
        try:
            value = rt.step(step)
            out.observations.append({"step": i, "status": "ok", "value": value})
        except Unsupported as e:
            out.observations.append({"step": i, "status": "unsupported", "reason": str(e)})
        except StepError as e:
            obs: dict[str, Any] = {"step": i, "status": "error", "error": str(e)}
            if e.value is not None:
                obs["value"] = e.value
            out.observations.append(obs)
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
