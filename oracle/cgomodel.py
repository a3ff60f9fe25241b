"""cgo: what the cgo build of the driver observes (cgo.* ops; cases/cgo.yaml).

The Go implementation builds its cgo driver variant (CGO_ENABLED=1) for cases that require the
"cgo" capability. This module models those ops from the runtime sources of go1.21-go1.27:

- cgo calls are counted by runtime.NumCgoCall and /cgo/go-to-c-calls:calls, one per call;
- the cgocheck=1 pointer check (runtime/cgocall.go cgoCheckPointer) rejects Go memory passed to C
  that holds a pointer to an unpinned Go object; its text changed in go1.26 (cgoFormatErr);
  cgocheck is a startup-only runtime variable, read through oracle.godebugops;
- Goexit on a thread the Go runtime did not create throws (proc.go goexit0, go1.24+);
- SetMaxThreads' checkmcount excludes extra Ms, which serve threads created in C;
- SetCgoTraceback: C frames of Go-to-C-to-Go calls appear only with both a traceback and a context
  function, symbolized by the symbolizer or printed as "non-Go function at pc=0x..." without one
  (traceback.go printCgoTraceback);
- netdns=cgo selects the cgo resolver when the binary has one (net/conf.go).
"""

from __future__ import annotations

from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle import driversrc, godebugmodel, godebugops, metricsmodel, sched
from rthooks.oracle.libgodebug import netdns_debug_lines
from rthooks.oracle.registry import step
from rthooks.oracle.releases import cutoff, spec_since
from rthooks.oracle.state import Exited, OracleRuntime, Unsupported

BASE_THREADS = 5  # the driver's threads when an op starts: main, sysmon and a few idle Ms
C_PCS = (0x7770, 0x7771)  # the PCs the driver's fake C traceback function reports


def _cgocheck(rt: OracleRuntime) -> int:
    v = godebugops.startup_value(rt, "cgocheck")
    try:
        return int(v) if v not in (None, "") else 1
    except ValueError:
        return 1


def pointer_check_error(release: GoVersion) -> str:
    """The panic text cgoCheckPointer raises for a Go pointer to an unpinned Go pointer."""
    if release >= cutoff("cgo-pointer-message"):
        return "runtime error: argument of cgo function has Go pointer to unpinned Go pointer"
    return "runtime error: cgo argument has Go pointer to unpinned Go pointer"


CGO_CALLS_METRIC = "/cgo/go-to-c-calls:calls"


@step("op:cgo.call")
def op_call(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    """n calls of an empty C function, counted as cgocall counts them (sched.count_cgo_calls), between
    two NumCgoCall reads and two reads of the metric that reports the same count."""
    n = int(w.get("n", 10))
    if n < 0:
        raise Unsupported("bad arguments: op cgo.call: n must not be negative")
    before, m_before = sched.cgo_calls(rt), int(metricsmodel.read(rt, [CGO_CALLS_METRIC])[CGO_CALLS_METRIC])
    after = sched.count_cgo_calls(rt, n)
    m_after = int(metricsmodel.read(rt, [CGO_CALLS_METRIC])[CGO_CALLS_METRIC])
    return {"n": n, "numcgocall_delta": after - before, "metric_delta": m_after - m_before}


@step("op:cgo.pass-pointer")
def op_pass_pointer(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    pins = [str(p) for p in (w.get("pin") or [])]
    for p in pins:
        if p not in ("outer", "inner"):
            raise Unsupported(f'bad arguments: cgo.pass-pointer: pin must list "outer" and/or "inner", got {p!r}')
    if w.get("unpin"):
        pins = []  # Pinner.Unpin before the call unpins every object the Pinner pinned
    # Only the inner object matters: Go memory passed to C may hold pointers to pinned objects only.
    if "inner" not in pins and _cgocheck(rt) != 0:
        return {"err": pointer_check_error(rt.release), "read": None, "held": None}
    return {"err": None, "read": 42, "held": 42}


@step("op:cgo.foreign-thread")
def op_foreign_thread(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, bool]:
    if not w.get("goexit"):
        return {"ran": True, "after_goexit": True}
    if rt.release < spec_since("runtime.Goexit#foreign-thread-crash"):
        raise Unsupported("the model does not say what Goexit on a C-created thread does before go1.24")
    raise Exited(
        2,
        "fatal error: runtime.Goexit called in a thread that was not created by the Go runtime\n\n"
        "runtime stack:\nruntime.throw({0x6a1f2b?, 0x0?})\n\truntime/panic.go:1094 +0x48\n",
    )


@step("op:cgo.c-threads")
def op_c_threads(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    k = min(int(w.get("threads", 16)), 256)
    limit = BASE_THREADS + int(w.get("headroom", 4))
    # The C threads borrow extra Ms, which checkmcount does not count: no thread exhaustion.
    return {"limit": limit, "threads": k, "callbacks": k, "peak_threads": BASE_THREADS + k}


_GO_FRAMES_INNER = [
    "runtime.Callers",
    "main.cgoTracebackG2",
    "main.rthooksTracebackG2",
    "_cgoexp_rthooksTracebackG2",
    "runtime.cgocallbackg1",
    "runtime.cgocallbackg",
    "runtime.cgocallback",
]
_GO_FRAMES_MIDDLE = [
    "runtime.systemstack_switch",
    "runtime.cgocall",
    "main._Cfunc_rthooks_c2",
    "main.cgoTracebackG1",
    "main.rthooksTracebackG1",
    "_cgoexp_rthooksTracebackG1",
    "runtime.cgocallbackg1",
    "runtime.cgocallbackg",
    "runtime.cgocallback",
]
_GO_FRAMES_OUTER = [
    "runtime.systemstack_switch",
    "runtime.cgocall",
    "main._Cfunc_rthooks_c1",
    "main.opCgoTraceback",
    "main.(*runner).performOp",
    "main.main",
    "runtime.main",
    "runtime.goexit",
]


# The cgo driver's frames in the printed stack (harness/driver/cgo_*.go), from its source.
TB_STACK_CALL = driversrc.at("func cgoTracebackG2() {", "runtime.Stack(buf, false)")
TB_EXPORT_G2 = driversrc.at("func rthooksTracebackG2() {")
TB_G1 = driversrc.at("func cgoTracebackG1() {")
TB_EXPORT_G1 = driversrc.at("func rthooksTracebackG1() {")
TB_OP_CALL = driversrc.at("func opCgoTraceback(", "C.rthooks_c1()")
TB_MAIN = driversrc.func("main.main", "r.runStep(")


@step("op:cgo.traceback")
def op_traceback(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    tb, ctx, sym = (bool(w.get(k, True)) for k in ("traceback", "context", "symbolizer"))
    st = rt.area("cgo.traceback", dict)
    want = (tb, ctx, sym)
    if st.get("set") not in (None, want):
        raise Unsupported("the model sets the cgo traceback functions once per process")
    st["set"] = want
    # The context function runs on entry to and exit from each of the two C-to-Go callbacks.
    shown = tb and ctx  # C frames come from the traceback function, given the context of the callback
    c_names = ["rthooksCFunction"] * len(C_PCS) if shown and sym else []
    frames = _GO_FRAMES_INNER + c_names + _GO_FRAMES_MIDDLE + c_names + _GO_FRAMES_OUTER
    if shown:
        if sym:
            c_text = "".join(f"rthooksCFunction\n\trthooks_c.c:{pc & 0xFF} pc={pc:#x}\n" for pc in C_PCS)
        else:
            c_text = "".join(f"non-Go function at pc={pc:#x}\n" for pc in C_PCS)
    else:
        c_text = ""
    stack = (
        "goroutine 1 [running, locked to thread]:\n"
        f"main.cgoTracebackG2()\n\t{TB_STACK_CALL} +0x2bd\n"
        f"main.rthooksTracebackG2(...)\n\t{TB_EXPORT_G2}\n"
        + c_text
        + "main._Cfunc_rthooks_c2()\n\t_cgo_gotypes.go:71 +0x3a\n"
        f"main.cgoTracebackG1(...)\n\t{TB_G1}\n"
        f"main.rthooksTracebackG1(...)\n\t{TB_EXPORT_G1}\n"
        + c_text
        + "main._Cfunc_rthooks_c1()\n\t_cgo_gotypes.go:61 +0x3a\n"
        f"main.opCgoTraceback(0x20?, 0xc000010000)\n\t{TB_OP_CALL} +0xe5\n"
        f"main.main()\n\t{TB_MAIN} +0x2a5\n"
    )
    # Callers and Stack each symbolize every C PC once, plus one final call with pc 0 per traceback.
    sym_calls = 2 * (2 * len(C_PCS) + 1) + 2 * len(C_PCS) if shown and sym else 0
    return {
        "frames": frames,
        "c_frames": len(c_names) * 2,
        "stack": stack,
        "traceback_calls": 4 if shown else 0,
        "context_calls": 4 if ctx else 0,
        "symbolizer_calls": sym_calls,
    }


@step("op:cgo.lookup")
def op_lookup(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, bool]:
    """net.LookupHost in a cgo build; with netdns=...+N the resolver choice goes to stderr (net/conf.go)."""
    st = rt.area("cgo.netdns", dict)
    if not st.get("init"):
        st["init"] = True
        value = godebugmodel.effective(rt, "netdns") or ""
        lines = netdns_debug_lines(rt, value, str(w.get("host") or "localhost"), cgo_build=True)
        rt.stderr += "".join(line + "\n" for line in lines)
    return {"ok": True}


@step("op:cgo.carchive-cpuprofile")
def op_carchive_cpuprofile(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, int]:
    """The documented behaviour (runtime/pprof StartCPUProfile): in a c-archive, SIGPROF goes to the host.

    Real Go deviates (spec deviation of runtime/pprof.StartCPUProfile#c-archive-sigprof); the model
    follows the doc: without signal.Notify a host with its own handler gets the signals, Go no samples.
    """
    host, notify = bool(w.get("host_handler", True)), bool(w.get("notify", False))
    ticks = max(1, int(w.get("work_ms", 400)) // 10)  # 100 Hz
    if host and not notify:
        return {"rc": 0, "host_sigprof": ticks, "samples": 0}
    return {"rc": 0, "host_sigprof": 0, "samples": ticks}
