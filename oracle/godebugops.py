"""GODEBUG at run time: the godebug.* ops (harness/driver/ops_godebug*.go) and how the runtime reads
its debug variables.

Runtime debug variables are read once at startup, except the "atomic" ones (panicnil,
tracebacklabels, traceallocfree), which os.Setenv("GODEBUG", ...) re-parses; library settings
(internal/godebug: randautoseed, randseednop, asynctimerchan) are read when the gated code runs.
Which is which comes from the spec (godebug:K is a runtime variable when runtime_var is set); the
value a binary starts with is oracle/godebugmodel.py's (the build side).

Every op here is registered with :func:`godebug_op`, which declares the start-up refusals of
parseRuntimeDebugVars (:func:`startup_checks`) as running before it: the model has no start-up
hook of its own, and a real driver would not have reached the op.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rthooks import hostfacts
from rthooks.oracle import driversrc, godebugmodel, sched
from rthooks.oracle.envparse import removed_godebug_fatal
from rthooks.oracle.registry import StepFn, step
from rthooks.oracle.releases import cutoff, in_spec, spec_since
from rthooks.oracle.state import Exited, OracleRuntime, Unsupported
from rthooks.spec.load import default_spec


def startup_checks(rt: OracleRuntime) -> None:
    """What parseRuntimeDebugVars refuses before main runs.

    From go1.27 parsegodebug returns as soon as the start-up GODEBUG sets a removed key to an old value
    ("this skips the cgocheck below but we're about to fatal anyway", runtime/runtime1.go), so runtime.main's
    removed-GODEBUG fatal is what such a process dies of, even with cgocheck=2 in the same value."""
    st = _st(rt)
    godebug = (st.startup_env if st.changed else rt.env.get("GODEBUG")) or ""
    if removed_godebug_fatal(godebug, rt.release) is not None:
        return
    if startup_int(rt, "cgocheck") > 1:
        early = rt.release >= cutoff("debugvars-before-mallocinit")
        raise Exited(
            2,
            "fatal error: cgocheck > 1 mode is no longer supported at runtime. "
            "Use GOEXPERIMENT=cgocheck2 at build time instead.\n"
            + ("runtime: panic before malloc heap initialized\n" if early else "")
            # A runtime throw prints its frames at level 2 (fp=, sp=, pc=) whatever GOTRACEBACK says; it comes
            # before setTraceback has run, so GOTRACEBACK=crash does not make it a SIGABRT (go1.21 and go1.27).
            + "\nruntime stack:\nruntime.throw({0x0?, 0x0?})\n\truntime/panic.go:1 +0x0 fp=0x0 sp=0x0 pc=0x0\n"
            "runtime.parsegodebug({0x0?, 0x0?}, 0x0)\n\truntime/runtime1.go:1 +0x0 fp=0x0 sp=0x0 pc=0x0\n",
        )


def godebug_op(name: str) -> Callable[[StepFn], StepFn]:
    """Register op:godebug.NAME, with the start-up refusals declared to run first."""
    return step(f"op:godebug.{name}", before=(startup_checks,))


# Where the driver's godebug ops stand (frames of the stacks they print), from its source.
STACK_CALL = driversrc.at("func opGodebugStack(", "runtime.Stack(buf, false)")
STACK_GO = driversrc.at("func opGodebugStack(", "go spawn(level + 1)")
# An ancestor's frame is at its saved PC: the return from newproc, the statement after the go.
STACK_ANCESTOR = driversrc.at("func opGodebugStack(", "go spawn(level + 1)", "return")
LEAK_FINALIZER = driversrc.at("func opGodebugFinalizerLeak(", "runtime.SetFinalizer(o, func")


@dataclass
class GodebugState:
    startup_env: str | None = None  # GODEBUG as the process started, once a setenv changed it
    changed: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    rand_seed: int | None = None  # the global generator's seed; None: runtime-random
    rand_pos: int = 0
    rand_init: bool = False


def _st(rt: OracleRuntime) -> GodebugState:
    st: GodebugState = rt.area("godebug", GodebugState)
    return st


def startup_value(rt: OracleRuntime, key: str) -> str | None:
    """The value a startup-only runtime variable took when the process started."""
    st = _st(rt)
    if not st.changed:
        return rt.env_godebug(key)
    live = rt.env.get("GODEBUG")
    try:
        if st.startup_env is None:
            rt.env.pop("GODEBUG", None)
        else:
            rt.env["GODEBUG"] = st.startup_env
        return rt.env_godebug(key)
    finally:
        if live is None:
            rt.env.pop("GODEBUG", None)
        else:
            rt.env["GODEBUG"] = live


def startup_int(rt: OracleRuntime, key: str) -> int:
    """An integer runtime variable as parsedebugvars read it at start-up: decimal digits with an
    optional "-" (runtime atoi up to go1.25; from go1.26 strconv.ParseInt, which also takes "+"),
    within int32. Anything else leaves the variable alone, which the model reads as 0."""
    v = startup_value(rt, key) or ""
    # The runtime's integer parser changed in go1.26 (the spec dates it for GOGC, GOMEMLIMIT, GOMAXPROCS).
    plus = rt.release >= spec_since("env:GOGC#plus-sign-126")
    if not re.fullmatch(r"[-+]?[0-9]+" if plus else r"-?[0-9]+", v):
        return 0
    n = int(v)
    return n if -(2**31) <= n < 2**31 else 0


def live_value(rt: OracleRuntime, key: str) -> str | None:
    """An atomic runtime variable or a library setting: the current environment counts.

    After a setenv, a key the new value does not name takes its default again (the default GODEBUG
    of the go line, then the variable's own default), as the documentation has it. go1.27's
    reparsedebugvars stores 0 instead for an atomic variable that neither names, which turns
    tracebacklabels (default 1) off: godebug:tracebacklabels#setenv-keeps-default's deviation, held
    by an xfail, not modelled.
    """
    return rt.env_godebug(key)


def _count(rt: OracleRuntime, key: str, n: int = 1) -> None:
    st = _st(rt)
    st.counts[key] = st.counts.get(key, 0) + n


def inc_non_default(rt: OracleRuntime, key: str, n: int = 1) -> None:
    """internal/godebug's Setting.IncNonDefault, ``n`` times: a standard-library package took the
    non-default path of ``key``. Callers decide when, by the condition the Go source uses; the
    increment itself is unconditional, as in internal/godebug."""
    _count(rt, key, n)


#: Counts made before main runs (package initialisers, such as net/http's httpmuxgo121 read):
#: each hook gives {key: n} for the program the runtime models. Modules that model those
#: packages (oracle/libgodebug.py) register here, so the counters read them from the start.
INIT_COUNTS: list[Callable[[OracleRuntime], dict[str, int]]] = []


def non_default_counts(rt: OracleRuntime) -> dict[str, int]:
    """Every /godebug/non-default-behavior counter the model has incremented, by key."""
    out = dict(_st(rt).counts)
    for hook in INIT_COUNTS:
        for k, n in hook(rt).items():
            out[k] = out.get(k, 0) + n
    return out


@godebug_op("setenv")
def op_setenv(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    st = _st(rt)
    if not st.changed:
        st.startup_env, st.changed = rt.env.get("GODEBUG"), True
    if w.get("value") is None:
        rt.env.pop("GODEBUG", None)
    else:
        rt.env["GODEBUG"] = str(w["value"])


def _rand_value(seed: int, i: int) -> int:
    """A stand-in for the i-th Int63 of rand.NewSource(seed): deterministic per (seed, i)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{i}".encode()).digest()[:8], "big") >> 1


@godebug_op("rand")
def op_rand(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> list[int]:
    n = int(w.get("n", 3))
    rt.reserve(2 * n)  # n numbers of JSON: past the observation channel's room the harness stops the run
    if w.get("source") is not None:
        return rt.gather(_rand_value(int(w["source"]), i) for i in range(n))
    st = _st(rt)

    def init() -> None:
        if not st.rand_init:
            st.rand_init = True
            if godebugmodel.effective(rt, "randautoseed") == "0":
                _count(rt, "randautoseed")
                st.rand_seed, st.rand_pos = 1, 0

    if w.get("seed") is not None:
        has_nop = in_spec(rt.release, "godebug:randseednop")
        nop = has_nop and godebugmodel.effective(rt, "randseednop") != "0"
        if not nop:
            if has_nop:
                _count(rt, "randseednop")
            init()
            st.rand_init, st.rand_seed, st.rand_pos = True, int(w["seed"]), 0
    init()
    if st.rand_seed is None:
        return rt.gather(random.getrandbits(63) for _ in range(n))
    seed, pos = st.rand_seed, st.rand_pos
    out = rt.gather(_rand_value(seed, pos + i) for i in range(n))
    st.rand_pos += n
    return out


@godebug_op("counter")
def op_counter(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int | None:
    key = str(w.get("key"))
    item = default_spec().items.get(f"metric:/godebug/non-default-behavior/{key}:events")
    if item is None or not item.exists_in(rt.release):
        return None
    return non_default_counts(rt).get(key, 0)


@godebug_op("panicnil")
def op_panicnil(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    if live_value(rt, "panicnil") == "1":
        _count(rt, "panicnil")
        return "<nil>"
    return "*runtime.PanicNilError"


def _timer_mode(rt: OracleRuntime) -> str:
    """ "sync" (Go 1.23+ default), "async" (asynctimerchan=1 or before 1.23) or "async-runtime" (=2).

    Before the asynctimerchan setting existed timers were asynchronous; since it was removed they are
    synchronous (the spec's dates for godebug:asynctimerchan)."""
    if rt.release < spec_since("godebug:asynctimerchan"):
        return "async"
    if not in_spec(rt.release, "godebug:asynctimerchan"):
        return "sync"
    v = live_value(rt, "asynctimerchan")
    if v == "1":
        return "async"
    return "async-runtime" if v == "2" else "sync"


@godebug_op("timer")
def op_timer(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    mode = _timer_mode(rt)
    if mode == "async" and in_spec(rt.release, "godebug:asynctimerchan"):
        _count(rt, "asynctimerchan")
    return {"cap": 0, "stale": False} if mode == "sync" else {"cap": 1, "stale": True}


@godebug_op("timers-retained")
def op_timers_retained(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    n = int(w.get("n", 10000))
    mode = _timer_mode(rt)
    if mode == "async" and in_spec(rt.release, "godebug:asynctimerchan"):
        _count(rt, "asynctimerchan", n)
    # A pre-1.23 timer stays in its P's heap until it fires: about 267 bytes with its channel.
    return n * 267 >> 10 if mode == "async" else 0


def _quote_label(s: str) -> str:
    return s if s and all(c.isalnum() or c in "_./-" for c in s) else json.dumps(s)


@godebug_op("stack")
def op_stack(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    depth = int(w.get("depth", 1))
    labels: dict[str, str] = {str(k): str(v) for k, v in (w.get("labels") or {}).items()}
    status = "running"
    suffix = ""
    if labels and in_spec(rt.release, "godebug:tracebacklabels") and live_value(rt, "tracebacklabels") == "1":
        items = sorted(labels.items())
        if rt.release >= spec_since("godebug:tracebacklabels#one-prints-labels-127"):
            suffix = " {" + ", ".join(f"{_quote_label(k)}: {_quote_label(v)}" for k, v in items) + "}"
        else:
            status += " labels:{" + ", ".join(f'"{k}": "{v}"' for k, v in items) + "}"
    gid = 1 if depth <= 0 else 17 + depth
    text = f"goroutine {gid} [{status}]{suffix}:\nmain.opGodebugStack.func1.1(...)\n\t{STACK_CALL}\n"
    origins = []
    if depth > 0:
        creator = gid - 1 if depth > 1 else 1
        text += f"created by main.opGodebugStack.func1 in goroutine {creator}\n\t{STACK_GO} +0x145\n"
        n = min(startup_int(rt, "tracebackancestors"), depth)
        rt.reserve(100 * n)  # each ancestor is a line in origins and three in text
        for i in rt.loop(n):
            line = f"[originating from goroutine {gid - 1 - i if i < depth - 1 else 1}]:"
            origins.append(line)
            text += line + f"\nmain.opGodebugStack.func1(...)\n\t{STACK_ANCESTOR} +0x145\n"
    return {"text": text, "origins": origins}


# The driver's spin loop (an atomic load, a multiply-add and a compare per iteration) runs at about a
# nanosecond per iteration on the machines this suite runs on: the default 3e8 iterations hold the P
# some 300 ms, many of sysmon's 10 ms time slices.
SPIN_NS_PER_ITERATION = 1.0


@godebug_op("preempt")
def op_preempt(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> bool:
    """With GOMAXPROCS(1) the spinner holds the only P for its whole loop unless sysmon preempts it
    asynchronously (sched.hold_p: a SIGURG to its thread, relayed to os/signal channels that want it);
    gccheckmark forcing asyncpreemptoff=1 (go1.25+) is in sched.async_preemption."""
    ms = int(w.get("iterations", 300_000_000)) * SPIN_NS_PER_ITERATION / 1e6
    return sched.hold_p(rt, ms) > 0


@godebug_op("collected")
def op_collected(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> bool:
    if startup_int(rt, "sbrk") != 0:
        if rt.release >= cutoff("sbrk-unmodelled"):
            raise Unsupported("sbrk=1 hangs (go1.24) or throws taggedPointerPack (go1.25+); not modelled")
        return False
    return True


@godebug_op("addrs")
def op_addrs(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    n, size = int(w.get("n", 8)), int(w.get("bytes", 16))
    # Small objects share their size class's pages whatever efence says (efence only affects
    # freed large spans and stacks in go1.21-1.27); large objects get pages of their own.
    pages = n if size >= 8192 else max(1, -(-n * size // 8192))
    return {"n": n, "pages": pages, "reused": 0}


@godebug_op("freed-word")
def op_freed_word(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    return "0xdeadbeefdeadbeef" if startup_int(rt, "clobberfree") != 0 else "0x1122334455667788"


@godebug_op("badptr")
def op_badptr(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    if startup_int(rt, "invalidptr") != 0:
        raise Exited(
            2,
            "runtime: pointer 0xdeaddeaddeaddead\nruntime: found in object at *(0x7d72a0+0x18)\n"
            "object=0x7d72a0 s=nil\n"
            "fatal error: found bad pointer in Go heap (incorrect use of unsafe or cgo?)\n\n"
            "runtime stack:\nruntime.throw({0x5e10fe?, 0x6?})\n\truntime/panic.go:1243 +0x48\n",
        )
    return None


@godebug_op("stack-start")
def op_stack_start(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    if startup_int(rt, "adaptivestackstart") == 0:
        return 2048
    size = 2048
    while size < int(w.get("kb", 32)) * 1024:
        size *= 2
    return size


@godebug_op("stack-shrink")
def op_stack_shrink(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    kb = int(w.get("kb", 512))
    before = 2 * kb + 320  # the grown stack (copied to twice its size) and the rest of the process's
    after = before if startup_int(rt, "gcshrinkstackoff") != 0 else 448
    return {"before_kib": before, "after_kib": after, "grown_kib": kb}


@godebug_op("finalizer-leak")
def op_finalizer_leak(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    if in_spec(rt.release, "godebug:checkfinalizers") and startup_int(rt, "checkfinalizers") != 0:
        raise Exited(
            2,
            "WARNING: LIKELY CLEANUP/FINALIZER ISSUES\n\nValue of type main.leaky at 0x1e3d0e4a9500\n"
            "  is reachable from finalizer\n\nHas finalizer at 0x7f384c450138\n"
            f"  main.opGodebugFinalizerLeak.func1()\n      {LEAK_FINALIZER} +0x0\n"
            f"created at: \n  main.opGodebugFinalizerLeak()\n      {LEAK_FINALIZER} +0x87\n\n"
            "fatal error: detected possible issues with cleanups and/or finalizers\n\nruntime stack:\n",
        )
    return None


def _gc_lines(rt: OracleRuntime, n: int, forced_scav: bool) -> list[str]:
    out: list[str] = []
    gctrace, scav = startup_int(rt, "gctrace"), startup_int(rt, "scavtrace")
    pacer, checkfin = startup_int(rt, "gcpacertrace"), startup_int(rt, "checkfinalizers")
    checkfin = checkfin if in_spec(rt.release, "godebug:checkfinalizers") else 0
    if not (gctrace or scav or pacer or checkfin):
        return out  # no line for any cycle
    rt.reserve(40 * n)  # at least one line of 40 bytes or more per cycle, in the result's text
    for i in rt.loop(n):
        if pacer:
            out.append("pacer: assist ratio=0.04 (scan 0 MB in 0->4 MB) workers=0+0.25")
            out.append("pacer: 25% CPU (25 exp.) for 97608+3824+178090 B work (178090 B exp.) in 524288 B -> 532480 B")
        if scav:
            out.append("scav 0 KiB work (bg), 0 KiB work (eager), 3192 KiB now, 86% util")
        if gctrace:
            out.append(
                f"gc {i + 1} @0.00{i + 1}s 1%: 0.10+0.41+0.90 ms clock, 0.20+0/0.073/0.20+1.8 ms cpu, "
                f"0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, {rt.gomaxprocs} P (forced)"
            )
            if gctrace > 1 and rt.release >= spec_since("godebug:gctrace#two-adds-scan-stats"):
                out.append("scan: total 71+315+0=386 objs, 35+0=35 spans")
                out.append("scan: class 8B 36+0+0=36 objs, 0+0=0 spans")
        if checkfin:
            out.append("checkfinalizers: queue: 0 finalizers + 0 cleanups")
        if forced_scav and scav:
            out.append("scav 0 KiB work (bg), 144 KiB work (eager), 3248 KiB now, 100% util (forced)")
    return out


@godebug_op("capture")
def op_capture(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    action, n = str(w.get("action", "gc")), int(w.get("n", 1))
    lines: list[str] = []
    if action in ("gc", "free"):
        lines = _gc_lines(rt, n, action == "free")
    elif action == "busy":
        period = startup_int(rt, "schedtrace")
        if period > 0:
            p = rt.gomaxprocs
            reports = int(float(w.get("ms", 0))) // max(period, 10)
            if reports > 0:
                rt.reserve(reports * (100 + 2 * p))  # a SCHED line of 100 bytes or more, and p Ps in it
            for i in rt.loop(reports):
                line = (
                    f"SCHED {(i + 1) * period}ms: gomaxprocs={p} idleprocs={p - 1} threads=4 spinningthreads=0 "
                    f"needspinning=0 idlethreads=2 runqueue=0"
                )
                if startup_int(rt, "scheddetail"):
                    lines.append(line + " gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false")
                    lines += [
                        f"  P{j}: status=1 schedtick=1 syscalltick=0 m=0 runqsize=0 gfreecnt=0 timerslen=0"
                        for j in range(p)
                    ]
                    lines.append(
                        "  M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=false lockedg=nil"
                    )
                    lines.append("  G1: status=2() m=0 lockedm=nil")
                elif rt.release >= spec_since("godebug:schedtrace#schedticks-suffix"):
                    lines.append(line + " [ " + " ".join(["0"] * p) + " ] schedticks=[ " + " ".join(["1"] * p) + " ]")
                else:
                    lines.append(line + " [" + " ".join(["0"] * p) + "]")
    elif action == "alloc":
        if in_spec(rt.release, "godebug:allocfreetrace") and startup_int(rt, "allocfreetrace"):
            rt.reserve(60 * n)  # two lines per allocation
            for _ in rt.loop(n):
                lines += ["tracealloc(0xc000092300, 0x40, uint8)", "goroutine 1 [running]:"]
    elif action != "none":
        raise Unsupported(f"bad arguments: op godebug.capture: unknown action {action!r}")
    text = "".join(line + "\n" for line in lines)
    prefix = str(w.get("prefix") or "")
    return {"text": text, "lines": [x for x in lines if x.startswith(prefix)]}


@godebug_op("maps")
def op_maps(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    kib = int(w.get("mb", 0)) * 1024
    dontneed = startup_int(rt, "madvdontneed") != 0
    protnone = kib if (startup_int(rt, "harddecommit") or startup_int(rt, "efence")) else 0
    nohuge = 33792 + (kib + 16384 if startup_int(rt, "disablethp") else 0)
    kernel = hostfacts.kernel_names_anon_mappings()
    named = kernel and in_spec(rt.release, "godebug:decoratemappings") and startup_value(rt, "decoratemappings") != "0"
    return {
        "go_named": 12 if named else 0,  # the heap, stacks and metadata arenas: several mappings
        "go_named_any": named,
        "kernel_names": kernel,
        "nohugepage": nohuge,
        "protnone_growth": protnone,
        "rss_drop": kib if dontneed else -300,
        "lazyfree": 0 if dontneed else kib,
    }


@godebug_op("probe")
def op_probe(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    """A separate program (go line 1.21) that recovers panic(nil) and prints the panicnil counter.

    The runtime's increment is dropped unless internal/godebug is linked (math/rand links it).
    """
    panicnil = None
    for kv in (rt.env.get("GODEBUG") or "").split(","):
        k, _, v = kv.partition("=")
        if k == "panicnil":
            panicnil = v
    # While the asynctimerchan setting exists (go1.23-go1.26) package time imports internal/godebug
    # for it, and fmt imports time.
    linked = bool(w.get("rand")) or in_spec(rt.release, "godebug:asynctimerchan")
    return 1 if linked and panicnil == "1" else 0
