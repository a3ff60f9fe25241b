"""Running a protocol program in the model and describing what a process would have done.

The model runs inside the harness's process, so the limits the harness puts on a real
implementation (harness/process.py) cannot be put on it from outside; it keeps them itself and
ends the run the way the harness would have ended a process that broke them:

- the case's ``timeout_s``: checked before every step and inside every loop a case can make long
  (``rt.check_deadline``, ``rt.loop``); when it passes, the run ends ``timed_out`` and killed by
  SIGKILL, with the observations made so far;
- the observation channel's OBS_CAP bytes: each observation is charged as the JSON line a real
  implementation would write, and a step that would build more (``rt.reserve``) or a line that
  does not fit ends the run with the harness's protocol error, killed;
- OUTPUT_CAP bytes of stdout and of stderr: the rest is dropped and marked truncated.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle.envparse import (
    MAX_INT64,
    FatalStartup,
    read_gogc,
    read_gomaxprocs,
    read_gomemlimit,
    removed_godebug_fatal,
    startup_end,
)
from rthooks.oracle.godebugmodel import build_error
from rthooks.oracle.godebugops import startup_checks
from rthooks.oracle.state import (
    DeadlineExceeded,
    Exited,
    ObservationOverflow,
    OracleRuntime,
    PanicError,
    StepError,
    Unsupported,
)
from rthooks.protocol.results import OBS_CAP, OUTPUT_CAP, RawRun
from rthooks.protocol.until import has_target, met


def run_program(
    program: dict[str, Any], *, env: dict[str, str], release: GoVersion, workdir: Path, timeout_s: float | None = None
) -> RawRun:
    """Run ``program`` in the model; ``timeout_s`` is the case's deadline (None: no deadline)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    out = RawRun()
    out.build_error = build_error(dict(program.get("setup") or {}), release)
    if out.build_error is not None:
        return out
    launch = (program.get("setup") or {}).get("launch") or {}
    ncpu = len(launch["cpus"]) if launch.get("cpus") else len(os.sched_getaffinity(0))
    thrown: FatalStartup | None = None
    try:
        memlimit = read_gomemlimit(env.get("GOMEMLIMIT"), release)
    except FatalStartup as e:  # gcinit's throw, which comes after parsedebugvars' (startup_checks below)
        memlimit, thrown = MAX_INT64, e
    rt = OracleRuntime(
        release=release,
        gcpercent=read_gogc(env.get("GOGC"), release),
        memlimit=memlimit,
        gomaxprocs=read_gomaxprocs(env.get("GOMAXPROCS"), ncpu, release),
        env=env,
        workdir=workdir,
        setup=dict(program.get("setup") or {}),
        deadline=deadline,
    )
    try:
        startup_checks(rt)  # parsedebugvars refuses cgocheck > 1 before main, whatever the steps
    except Exited as e:
        out.stderr, out.exit_status = e.stderr, e.status
        return out
    if thrown is not None:
        out.stderr = str(thrown) + "\n"
        out.exit_status, out.signal = startup_end(env.get("GOTRACEBACK"))
        return out
    fatal = removed_godebug_fatal(env.get("GODEBUG") or "", release, env.get("GOTRACEBACK"))
    if fatal:  # runtime.main checks this before any user code runs
        out.stderr = fatal
        out.exit_status, out.signal = startup_end(env.get("GOTRACEBACK"))
        return out
    try:
        _run_steps(rt, program, out)
    except DeadlineExceeded:
        # What the harness sees of a process it killed at the deadline (harness/process.py _pump).
        out.timed_out, out.signal, out.exit_status = True, "SIGKILL", None
        out.stdout, out.stderr = rt.stdout, rt.stderr
    except ObservationOverflow:
        out.protocol_errors.append(f"observation channel exceeded {OBS_CAP} bytes")
        out.signal, out.exit_status = "SIGKILL", None
        out.stdout, out.stderr = rt.stdout, rt.stderr
    _cap_output(out)
    return out


def _run_steps(rt: OracleRuntime, program: dict[str, Any], out: RawRun) -> None:
    hello = {"impl": "rthooks-oracle", "version": f"go{rt.release}", "goos": "linux", "goarch": "amd64", "protocol": 1}
    _emit(rt, out, {"hello": hello})
    for i, step in enumerate(program["steps"]):
        obs: dict[str, Any]
        try:
            value, tries = _attempt(rt, step)
            obs = {"step": i, "status": "ok", "value": value}
            if tries:
                obs["tries"] = tries
        except Unsupported as e:
            obs = {"step": i, "status": "unsupported", "reason": str(e)}
        except StepError as e:
            obs = {"step": i, "status": "error", "error": str(e)}
            if e.value is not None:
                obs["value"] = e.value
        except Exited as e:
            if e.signal:
                out.signal = e.signal
            else:
                out.exit_status = e.status
            out.stdout, out.stderr = rt.stdout, rt.stderr + e.stderr
            return
        except PanicError as e:
            obs = {"step": i, "status": "panic", "panic": e.text, "panic_type": e.type}
        rt.trim_output()
        _emit(rt, out, obs)
    _emit(rt, out, {"done": True})
    out.stdout, out.stderr = rt.stdout, rt.stderr
    out.exit_status = 0


UNTIL_GCS = 16  # collections the model runs for an ``until`` step before it gives up (see _attempt)


def _attempt(rt: OracleRuntime, step: dict[str, Any]) -> tuple[Any, int]:
    """Run a step, repeating it as its ``until`` asks; the value and the tries (0 without until).

    The model has no clock of its own: between tries only a collection (``gc: true``) can change
    what a step sees (finalizers and cleanups run, weak pointers clear, cycles count). So a step
    whose target is unmet is retried after a modelled GC, at most UNTIL_GCS times, and without
    ``gc`` it runs once, as it would on a runtime where nothing else happens meanwhile.
    """
    until = step.get("until")
    value = rt.step(step)
    if not isinstance(until, dict):
        return value, 0
    tries = 1
    while has_target(until) and until.get("gc") and tries <= UNTIL_GCS and not met(_encoded(value), until):
        rt.step({"op": "gc"})
        value = rt.step(step)
        tries += 1
    return value, tries


def _encoded(value: Any) -> Any:
    """The value as its JSON observation reads (tuples as lists, keys as strings), as the driver judges it."""
    return json.loads(json.dumps(value, default=str))


def _emit(rt: OracleRuntime, out: RawRun, obs: dict[str, Any]) -> None:
    """Send one observation, charged as the JSON line a real implementation would write for it."""
    size = len(json.dumps(obs, separators=(",", ":"), ensure_ascii=False, default=str).encode(errors="replace")) + 1
    if size > rt.obs_room:
        raise ObservationOverflow()
    rt.obs_room -= size
    out.observations.append(obs)


def _cap_output(out: RawRun) -> None:
    """Keep OUTPUT_CAP bytes of stdout and of stderr and mark the rest dropped, as the harness does."""
    for name in ("stdout", "stderr"):
        text: str = getattr(out, name)
        if len(text) * 4 <= OUTPUT_CAP:  # no character takes more than 4 bytes of UTF-8
            continue
        data = text.encode("utf-8", "surrogatepass")
        if len(data) > OUTPUT_CAP:
            setattr(out, name, data[:OUTPUT_CAP].decode("utf-8", "replace"))
            setattr(out, f"{name}_truncated", True)
