"""The scheduler and the process's identity: GOMAXPROCS and its default, CPU affinity, Version, CPU work.

GOMAXPROCS (runtime/debug.go, from 1.25): without a custom value (a positive GOMAXPROCS
variable, or a GOMAXPROCS(n) call with n >= 1) the default is the CPU affinity count, lowered
to a cgroup quota (rounded up, never below 2) unless containermaxprocs=0; while the default is
in effect and updatemaxprocs is on, the runtime re-checks it at most once per second.

The model keeps a virtual clock for those updates: an update the program waits for happens at
the next whole-second check, so the gap between two updates is a second.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle import godebugops, signals
from rthooks.oracle.envparse import read_gomaxprocs
from rthooks.oracle.registry import step
from rthooks.oracle.releases import in_spec, spec_since
from rthooks.oracle.state import OracleRuntime, Unsupported
from rthooks.spec.load import default_spec, godebug_default


@dataclass
class Sched:
    started: bool = False
    ncpu_startup: int = 1
    affinity: list[int] = field(default_factory=list)
    custom: bool = False
    clock: float = 0.0  # virtual seconds since start
    last_update: float = 0.0
    stopwatches: dict[str, float] = field(default_factory=dict)


def sched(rt: OracleRuntime) -> Sched:
    s: Sched = rt.area("sched", Sched)
    if not s.started:
        s.started = True
        launch = rt.setup.get("launch") or {}
        cpus = [int(c) for c in launch.get("cpus") or []] or sorted(os.sched_getaffinity(0))
        s.affinity = cpus
        s.ncpu_startup = len(cpus)
        s.custom = read_gomaxprocs(rt.env.get("GOMAXPROCS"), 0, rt.release) > 0
    return s


def cgroup_default(procs: int, quota_cpus: float | None) -> int:
    """adjustCgroupGOMAXPROCS: a CPU limit, rounded up and raised to 2, lowers procs."""
    if quota_cpus is None:
        return procs
    limit = max(2, math.ceil(quota_cpus))
    return min(procs, limit)


def default_gomaxprocs(rt: OracleRuntime) -> int:
    """The runtime's default as of now: the affinity count (the model runs in no CPU-limited cgroup)."""
    return len(sched(rt).affinity)


def _auto_updates(rt: OracleRuntime) -> bool:
    if not in_spec(rt.release, "godebug:updatemaxprocs") or sched(rt).custom:
        return False
    return (rt.env_godebug("updatemaxprocs") or "1") != "0"


def _settle(rt: OracleRuntime) -> list[int]:
    """Apply the automatic update a waiting program would see; the values GOMAXPROCS took."""
    s = sched(rt)
    seen = [rt.gomaxprocs]
    if _auto_updates(rt):
        want = default_gomaxprocs(rt)
        if want != rt.gomaxprocs:
            s.clock = max(s.clock, s.last_update + 1.0)
            s.last_update = s.clock
            rt.gomaxprocs = want
            seen.append(want)
    return seen


@step("runtime.GOMAXPROCS")
def gomaxprocs_call(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> int:
    s = sched(rt)
    if int(args[0]) < 1:
        _settle(rt)
        return rt.gomaxprocs
    prev = rt.gomaxprocs
    rt.gomaxprocs = int(args[0])
    s.custom = True
    return prev


@step("runtime.SetDefaultGOMAXPROCS")
def set_default_gomaxprocs(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    s = sched(rt)
    rt.gomaxprocs = default_gomaxprocs(rt)
    s.custom = False
    s.last_update = s.clock


@step("op:runtime.gomaxprocs.watch")
def gomaxprocs_watch(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    s = sched(rt)
    within = float(w.get("within_s", 1.5))
    start = s.clock
    seen = _settle(rt)
    s.clock = max(s.clock, start + within)
    return {"values": seen, "seconds": within}


@step("op:runtime.affinity")
def affinity(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    cpus = w.get("cpus")
    if not isinstance(cpus, list) or not cpus:
        raise Unsupported("bad arguments: with.cpus must be a non-empty list of CPU numbers")
    avail = set(os.sched_getaffinity(0))
    s = sched(rt)
    s.affinity = sorted({int(c) for c in cpus if int(c) in avail})
    if not s.affinity:
        raise Unsupported("op runtime.affinity: none of these CPUs is available")
    return len(s.affinity)


@step("op:runtime.stopwatch")
def stopwatch(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> float:
    s = sched(rt)
    name = str(w.get("name", ""))
    prev = s.stopwatches.get(name)
    s.stopwatches[name] = s.clock
    return 0.0 if prev is None else s.clock - prev


@step("op:runtime.cgroup.child")
def cgroup_child(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    """A child started in a cgroup with the quota: its GOMAXPROCS and NumCPU at start."""
    s = sched(rt)
    ncpu = len(s.affinity)
    env = {str(k): str(v) for k, v in (w.get("env") or {}).items()}
    child = OracleRuntime(
        release=rt.release, gcpercent=rt.gcpercent, memlimit=rt.memlimit, gomaxprocs=ncpu,
        env={**rt.env, **env}, workdir=rt.workdir, setup=rt.setup,
    )  # fmt: skip
    custom = read_gomaxprocs(child.env.get("GOMAXPROCS"), 0, rt.release)
    if custom > 0:
        return {"GOMAXPROCS": custom, "NumCPU": ncpu}
    quota = float(w.get("quota_us", 100000)) / float(w.get("period_us", 100000))
    cgroups = in_spec(rt.release, "godebug:containermaxprocs")  # cgroup-aware GOMAXPROCS came with the setting
    aware = cgroups and (child.env_godebug("containermaxprocs") or "1") != "0"
    out = {"GOMAXPROCS": cgroup_default(ncpu, quota if aware else None), "NumCPU": ncpu}
    if cgroups:
        # With the setting off the runtime still checks the cgroup once and counts (after
        # internal/godebug's init) whether cgroup awareness would have changed the default.
        differs = not aware and cgroup_default(ncpu, quota) != ncpu
        out["containermaxprocs_events"] = 1 if differs else 0
    return out


@dataclass
class CgoCalls:
    """The calls from Go to C so far: the sum of every M's ncgocall (runtime/debug.go NumCgoCall). Kept here,
    with the Ms, so that runtime.NumCgoCall (callers) and /cgo/go-to-c-calls:calls (metricsmodel) read one
    count without either importing the other."""

    n: int = 0


def cgo_calls(rt: OracleRuntime) -> int:
    """The Go-to-C calls counted so far."""
    c: CgoCalls = rt.area("cgo-calls", CgoCalls)
    return c.n


def count_cgo_calls(rt: OracleRuntime, n: int) -> int:
    """n calls from Go to C: cgocall (runtime/cgocall.go) adds one to mp.ncgocall for each. The count so far."""
    c: CgoCalls = rt.area("cgo-calls", CgoCalls)
    c.n += n
    return c.n


# forcePreemptNS (runtime/proc.go): sysmon's retake preempts a goroutine that has held its P this long.
FORCE_PREEMPT_MS = 10.0


def async_preemption(rt: OracleRuntime) -> bool:
    """preemptMSupported && debug.asyncpreemptoff == 0 (runtime/preempt.go, proc.go preemptone): on
    linux/amd64 only GODEBUG asyncpreemptoff turns it off, and from go1.25 gccheckmark > 0 forces it off
    (parseRuntimeDebugVars)."""
    off = godebugops.startup_int(rt, "asyncpreemptoff") != 0
    if rt.release >= spec_since("godebug:asyncpreemptoff#forced-by-gccheckmark"):
        off = off or godebugops.startup_int(rt, "gccheckmark") > 0
    return not off


def hold_p(rt: OracleRuntime, ms: float) -> int:
    """A goroutine runs for ``ms`` without giving up its P; the preemption requests sysmon makes meanwhile.

    sysmon's retake (runtime/proc.go) calls preemptone for a P that has run the same schedtick for
    forcePreemptNS; with asynchronous preemption on, preemptone's preemptM signals the thread with
    SIGURG (signalM(mp, sigPreempt), runtime/signal_unix.go), which reaches the os/signal channels that
    want SIGURG. The goroutine is then preempted, rescheduled, and asked again a time slice later, so
    the model counts one request per whole time slice (a real run may make fewer, as sysmon can notice
    up to one of its 10 ms sleeps late, or more, as a collection's stack scan preempts through suspendG
    too: cases await the first only). Without asynchronous preemption no signal is sent.
    """
    if not async_preemption(rt) or ms < FORCE_PREEMPT_MS:
        return 0
    n = int(ms // FORCE_PREEMPT_MS)
    signals.from_runtime(rt, "SIGURG", n)
    return n


@step("op:busy")
def busy(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """CPU work on the calling goroutine (the driver's busy: arithmetic between clock reads) holds its P."""
    hold_p(rt, float(w.get("ms", 0) or 0))


@step("runtime.Version")
@step("op:version")
def version(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    return f"go{rt.release}"


@step("op:runtime.consts")
def consts(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, str]:
    return {"Compiler": "gc", "GOOS": "linux", "GOARCH": "amd64"}


@step("op:runtime.setenv")
def setenv(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """os.Setenv: later env.get sees it; the runtime's start-up copy (GOROOT) does not."""
    startup_env(rt)
    rt.env[str(w["name"])] = str(w.get("value", ""))


def startup_env(rt: OracleRuntime) -> dict[str, str]:
    env: dict[str, str] = rt.area("startup_env", lambda: dict(rt.env))
    return env


def nondefault_events(rt: OracleRuntime) -> dict[str, int]:
    """/godebug/non-default-behavior counters of the scheduler's keys, as the documentation describes them.

    updatemaxprocs=0 (when that is not the go line's default) disables updates for the whole run, which
    the runtime counts once at start-up; containermaxprocs=0 counts only when a cgroup limit would have
    changed the default, and the model runs in no CPU-limited cgroup.
    """
    if not in_spec(rt.release, "godebug:updatemaxprocs"):
        return {}
    item = default_spec().items.get("godebug:updatemaxprocs")
    if item is None:
        return {}
    goline = GoVersion.parse(rt.setup.get("goline") or str(rt.release))
    default = godebug_default(item, rt.release, goline)
    value = rt.env_godebug("updatemaxprocs") or "1"
    n = 1 if value == "0" and value != (default or "1") else 0
    return {"/godebug/non-default-behavior/updatemaxprocs:events": n}
