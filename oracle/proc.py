"""Process-level behaviour: exit, panics and fatal errors (with GOTRACEBACK), output, environment."""

from __future__ import annotations

from typing import Any

from rthooks.oracle import callers, driversrc, godebugmodel, godebugops, goroutines, traceback
from rthooks.oracle.envparse import TRACEBACK_ALL, TRACEBACK_CRASH, parse_int, parse_traceback
from rthooks.oracle.registry import step
from rthooks.oracle.releases import cutoff, spec_since
from rthooks.oracle.state import OUTPUT_CAP, Exited, OracleRuntime, PanicError, Unsupported

# The driver's frames in these reports (harness/driver), from its source: the call each one is making.
PANIC_CALL = driversrc.at("func panicTrigger(", 'case "string":', "panic(v)")  # main.panicTrigger.func1
PANIC_INT_CALL = driversrc.at("func panicTrigger(", 'case "int":', "panic(v)")  # main.panicTrigger.func3
PANIC_GO = driversrc.at("func opPanic(", "go trigger()")
ATTEMPT_CALL = driversrc.at(" *runner) attempt(", "if tail != nil", "tail()")  # the tail call of an unrecovered panic
MAIN_STEP = driversrc.func("main.main", "r.runStep(")
PARKED_WAIT = driversrc.at("func opGoroutinesStart(", "go func(", "<-stop")
PARKED_GO = driversrc.at("func opGoroutinesStart(", "go func(")
MAP_WRITE = driversrc.at("func fatalConcurrentMapWrites(", "go func(", "m[i%4096] = i")
MAP_GO = driversrc.at("func fatalConcurrentMapWrites(", "go func(")
MAP_SELECT = driversrc.at("func fatalConcurrentMapWrites(", "select {}")
SCHEDTICKS = "process:schedtrace-line#schedticks-125"
REPANIC_MARKER = "process:unrecovered-panic#repanic-marker-125"


@step("op:exit")
def exit(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    raise Exited(int(w.get("code", 0)) & 0xFF)  # Linux keeps the low 8 bits


# Recovered run-time errors: kind -> (text, dynamic type).
RUNTIME_ERRORS = {
    "index": ("runtime error: index out of range [5] with length 3", "runtime.boundsError"),
    "slice": ("runtime error: slice bounds out of range [5:3]", "runtime.boundsError"),
    "divide": ("runtime error: integer divide by zero", "runtime.errorString"),
    "nil-map": ("assignment to entry in nil map", "runtime.plainError"),
    "nil-deref": ("runtime error: invalid memory address or nil pointer dereference", "runtime.errorString"),
    "closed-channel": ("close of closed channel", "runtime.plainError"),
}


def traceback_level(rt: OracleRuntime) -> str:
    """GOTRACEBACK as the runtime reads it: none, single, all, system or crash."""
    level, flags = parse_traceback(rt.env.get("GOTRACEBACK", ""), rt.release)
    if level == 0:
        return "none"  # unknown values (wer on non-Windows included) print no goroutines
    if level == 1:
        return "all" if flags & TRACEBACK_ALL else "single"
    return "crash" if flags & TRACEBACK_CRASH else "system"


def _header(rt: OracleRuntime, gid: int, status: str, level: str, m: int | None = None) -> str:
    if level in ("system", "crash") and rt.release >= cutoff("traceback-gp-m"):
        where = f"m={m} mp=0x7768c0" if m is not None else "m=nil"
        return f"goroutine {gid} gp=0xc000002{gid:03x} {where} [{status}]:\n"
    return f"goroutine {gid} [{status}]:\n"


def _frame(fn: str, loc: str, level: str, runtime_frame: bool = False) -> str:
    if runtime_frame and level not in ("system", "crash"):
        return ""
    extra = " fp=0xc00005fc00 sp=0xc00005fb50 pc=0x51a88a" if level in ("system", "crash") else ""
    return f"{fn}\n\t{loc} +0x2a{extra}\n"


def goroutine_dump(
    rt: OracleRuntime, level: str, *, current: str, all_goroutines: bool, status: str = "running"
) -> str:
    """The goroutine blocks printed after a panic or fatal error."""
    if level == "none":
        return ""
    out = "\n" + _header(rt, 1, status, level, m=0)
    out += _frame("panic({0x535b00?, 0xc0000144b0?})", "runtime/panic.go:1017", level, runtime_frame=True)
    out += _frame(current, str(PANIC_CALL), level)
    out += _frame("main.(*runner).attempt(0x0?, 0x0?)", str(ATTEMPT_CALL), level)
    out += _frame("main.main()", str(MAIN_STEP), level)
    out += _frame("runtime.main()", "runtime/proc.go:267", level, runtime_frame=True)
    if all_goroutines or level in ("all", "system", "crash"):
        for i in rt.loop(goroutines.gs(rt).parked):
            if len(out) > OUTPUT_CAP:
                break  # a crash report is stderr, and the harness keeps no more of it than this
            out += "\n" + _header(rt, 18 + i, "chan receive", level)
            out += _frame("main.opGoroutinesStart.func1(0x0?)", str(PARKED_WAIT), level)
            out += f"created by main.opGoroutinesStart in goroutine 1\n\t{PARKED_GO} +0xfb\n"
    if level in ("system", "crash"):
        for gid, status in (
            (2, "force gc (idle)"),
            (3, "GC sweep wait"),
            (4, "GC scavenge wait"),
            (5, "finalizer wait"),
        ):
            out += "\n" + _header(rt, gid, status, level)
            out += _frame("runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)", "runtime/proc.go:398", level, True)
    return out


def die(
    rt: OracleRuntime,
    first: str,
    *,
    current: str = "main.panicTrigger.func1()",
    all_goroutines: bool = False,
    status: str = "running",
) -> None:
    level = traceback_level(rt)
    text = first + goroutine_dump(rt, level, current=current, all_goroutines=all_goroutines, status=status)
    if level == "crash":
        raise Exited(-1, text, signal="SIGABRT")
    raise Exited(2, text)


def startup_debug_int(rt: OracleRuntime, key: str) -> int:
    """An int32 runtime debug variable as parsegodebug leaves it at start-up (runtime/runtime1.go: "startup:
    process left to right, overwriting older settings with newer"): the binary's default GODEBUG, then the
    environment's fields in order; a value the release's integer parser refuses (runtime atoi32 before
    go1.26, strconv.ParseInt(value, 10, 32) from go1.26, which also takes "+1") changes nothing, so it
    neither sets the variable nor undoes an earlier field. The variables start at 0."""
    n = 0
    fields = [f"{key}={rt.binary_godebug(key)}"] if rt.binary_godebug(key) is not None else []
    for field_ in fields + (rt.env.get("GODEBUG") or "").split(","):
        k, eq, v = field_.partition("=")
        parsed = parse_int(v, 32, rt.release) if eq and k == key else None
        if parsed is not None:
            n = parsed
    return n


def panicnil_old(rt: OracleRuntime) -> bool:
    """Whether panic(nil) keeps its pre-go1.21 meaning: runtime/panic.go ``if debug.panicnil.Load() != 1``
    (an int32 compare, so "+1" from go1.26 and "01" count). After os.Setenv("GODEBUG") the runtime re-reads
    the atomic variables its own way (reparsedebugvars: the last field decides); that path keeps the model's
    plain reading of the current value."""
    st: godebugops.GodebugState = rt.area("godebug", godebugops.GodebugState)
    if st.changed:
        return rt.env_godebug("panicnil") == "1"
    return startup_debug_int(rt, "panicnil") == 1


def panic(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """op:panic's outcome before the traceback level is applied (traceback.py owns the step)."""
    kind = w.get("type", "string")
    value = w.get("value", "")
    extra = ""
    if kind in ("nil", "nil-error"):  # a nil error interface value is panic(nil) at run time
        if rt.release >= spec_since("runtime.PanicNilError") and not panicnil_old(rt):
            text, typ = callers.panic_nil_text(rt), "*runtime.PanicNilError"
        else:
            text, typ = "nil", "<nil>"
    elif kind == "error":
        text, typ = str(value or "rthooks error"), "*errors.errorString"
    elif kind == "int":
        text, typ = str(value if value != "" else 1), "int"
    elif kind == "stringer":  # printed with its String method (preprintpanics), like an error with Error
        text, typ = str(value or "rthooks stringer"), "main.panicStringer"
    elif kind == "runtime-error":
        name = str(value or "index")
        if name.startswith("type-assertion"):
            text, typ = callers.assertion_message(name), "*runtime.TypeAssertionError"
        elif name in RUNTIME_ERRORS:
            text, typ = RUNTIME_ERRORS[name]
        else:
            raise Unsupported(f"the oracle does not model run-time error {name!r}")
        if name == "nil-deref":
            extra = "\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x51aa47]"
    else:
        text, typ = str(value or "rthooks panic"), "string"
    if w.get("recover", True):
        raise PanicError(text, typ)
    if text == "nil" and typ == "<nil>":
        text = "nil"
    if w.get("goroutine"):
        level = traceback_level(rt)
        dump = ""
        if level != "none":
            dump = "\n" + _header(rt, 6, "running", level)
            dump += _frame("main.panicTrigger.func3()", str(PANIC_INT_CALL), level)
            dump += f"created by main.opPanic in goroutine 1\n\t{PANIC_GO} +0x167\n"
        first = f"panic: {text}{extra}\n"
        if level == "crash":
            raise Exited(-1, first + dump, signal="SIGABRT")
        raise Exited(2, first + dump)
    die(rt, f"panic: {text}{extra}\n")


def fatal(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """op:fatal's outcome before the crash file is written (traceback.py owns the step)."""
    kind = w.get("kind")
    level = traceback_level(rt)
    if kind == "deadlock":
        die(
            rt,
            "fatal error: all goroutines are asleep - deadlock!\n",
            current="main.fatalDeadlock()",
            status="chan receive",
            all_goroutines=True,  # the deadlock report lists every user goroutine, in every release
        )
    if kind == "concurrent-map-writes":
        # Go 1.26+ prints only the faulting goroutine by default; earlier releases all of them.
        lvl = level if level != "single" or rt.release >= cutoff("map-writes-single-traceback") else "all"
        out = "fatal error: concurrent map writes\n"
        if lvl != "none":
            out += "\n" + _header(rt, 19, "running", lvl)
            if rt.release >= spec_since("process:fatal-error#concurrent-map-writes-124"):
                out += "internal/runtime/maps.fatal({0x5a7af0?, 0x0?})\n\truntime/panic.go:1195 +0x18\n"
            out += _frame("main.fatalConcurrentMapWrites.func1()", str(MAP_WRITE), lvl)
            out += f"created by main.fatalConcurrentMapWrites in goroutine 1\n\t{MAP_GO} +0x45\n"
            if lvl in ("all", "system", "crash"):
                out += "\n" + _header(rt, 1, "select (no cases)", lvl, m=0)
                out += _frame("main.fatalConcurrentMapWrites()", str(MAP_SELECT), lvl)
                out += _frame("main.main()", str(MAIN_STEP), lvl)
        if lvl == "crash":
            raise Exited(-1, out, signal="SIGABRT")
        raise Exited(2, out)
    if kind in ("stack-overflow", "thread-exhaustion", "nil-deref"):
        if kind == "stack-overflow":
            first = f"runtime: goroutine stack exceeds {rt.maxstack}-byte limit\nfatal error: stack overflow\n"
        elif kind == "thread-exhaustion":
            first = f"runtime: program exceeds {rt.maxthreads}-thread limit\nfatal error: thread exhaustion\n"
        else:
            panic(rt, [], {"type": "runtime-error", "value": "nil-deref", "recover": False})
            return None
        throw(rt, first)
    if kind == "goexit-main":
        goroutines.gs(rt).parked = 0
        raise Exited(2, goroutines.MAIN_GOEXIT)
    raise Unsupported(f"bad arguments: op fatal: unknown kind {kind!r}")


def throw(rt: OracleRuntime, first: str) -> None:
    """A runtime throw: runtime frames and every goroutine whatever GOTRACEBACK says (crash still aborts)."""
    level = traceback_level(rt)
    shown = level if level in ("system", "crash") else "system"
    text = first + "\nruntime stack:\nruntime.throw({0x55d47e?, 0x0?})\n\truntime/panic.go:1077 +0x5c\n"
    text += goroutine_dump(rt, shown, current="main.recurse(0x0)", all_goroutines=True)
    if level == "crash":
        raise Exited(-1, text, signal="SIGABRT")
    raise Exited(2, text)


INIT_PACKAGES = ["internal/bytealg", "runtime", "math", "errors", "runtime/metrics", "sync", "os"]


def startup(rt: OracleRuntime) -> None:
    """What the runtime prints before main starts (inittrace, the first schedtrace report), once.

    The model has no startup hook of its own, so the process-area steps call this first; a case that
    looks at startup output begins with one of them (e.g. a write).
    """
    if rt.area("startup-printed", dict):
        return
    rt.area("startup-printed", dict)["done"] = True
    out = ""
    if godebugops.startup_int(rt, "inittrace"):
        pkgs = list(INIT_PACKAGES)
        if rt.release >= cutoff("inittrace-gc-scan"):
            pkgs.insert(1, "internal/runtime/gc/scan")
        for i, pkg in enumerate(pkgs):
            out += f"init {pkg} @{i * 0.1:.1f} ms, 0.010 ms clock, 0 bytes, 0 allocs\n"
    if godebugops.startup_int(rt, "schedtrace"):
        p = rt.gomaxprocs
        out += f"SCHED 0ms: gomaxprocs={p} idleprocs={p - 1} threads=4 spinningthreads=0 needspinning=0 idlethreads=2 runqueue=0"
        if godebugops.startup_int(rt, "scheddetail"):
            out += " gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false\n"
            for i in rt.loop(p):
                if len(out) > OUTPUT_CAP:
                    break  # stderr: the harness keeps no more than this
                m = "0" if i == 0 else "nil"
                out += (
                    f"  P{i}: status={int(i == 0)} schedtick=1 syscalltick=0 m={m} runqsize=0 gfreecnt=0 timerslen=0\n"
                )
            out += "  M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff= locks=2 dying=0 spinning=false blocked=false lockedg=nil\n"
            out += "  G1: status=2(chan receive) m=0 lockedm=nil\n"
        else:
            # One number per P; past OUTPUT_CAP of them the rest is beyond what the harness keeps of stderr.
            shown = min(p, OUTPUT_CAP)
            if rt.release >= spec_since(SCHEDTICKS):
                out += " [ " + " ".join(["0"] * shown) + " ] schedticks=[ " + " ".join(["1"] * shown) + " ]\n"
            else:
                out += " [" + " ".join(["0"] * shown) + "]\n"
    rt.stderr = out + rt.stderr


@step("op:write")
def write(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    startup(rt)
    text = str(w.get("text", ""))
    if int(w.get("fd", 1)) == 2:
        rt.stderr += text
    else:
        rt.stdout += text
    return len(text.encode())


@step("op:env.get")
def env_get(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> str | None:
    startup(rt)
    return rt.env.get(str(w.get("name")))


# --- op process.defers: a function's deferred calls around a body that panics, Goexits, exits or returns ----


class _Chain:
    """The panics on the goroutine's stack, oldest first, as runtime/panic.go's _panic links keep them."""

    def __init__(self) -> None:
        self.panics: list[dict[str, Any]] = []

    def active(self) -> dict[str, Any] | None:
        return self.panics[-1] if self.panics and not self.panics[-1]["recovered"] else None

    def headline(self, rt: OracleRuntime) -> str:
        """printpanics: each panic oldest first, later ones after a tab; a repanicked value once (Go 1.25+)."""
        out, prev = "", None
        for p in self.panics:
            if prev is not None:
                if prev.get("repanicked"):
                    break
                if not prev.get("goexit"):
                    out += "\t"
            prev = p
            if p.get("goexit"):
                continue
            mark = ""
            if p["recovered"] and p.get("repanicked"):
                mark = " [recovered, repanicked]"
            elif p["recovered"]:
                mark = " [recovered]"
            out += f"panic: {p['text']}{mark}\n"
        return out


def _panic_value(rt: OracleRuntime, value: Any) -> dict[str, Any]:
    if value is None:  # panic(nil), or a nil error interface value
        if panicnil_old(rt):
            return {"text": "nil", "value": None, "recovered": False}
        text = callers.panic_nil_text(rt)
        return {"text": text, "value": text, "recovered": False}
    return {"text": str(value), "value": value, "recovered": False}


@step("op:process.defers")
def defers(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> Any:
    startup(rt)
    body = w.get("body", "return")
    in_goroutine = bool(w.get("goroutine"))
    events: list[str] = []

    def record(text: str) -> None:
        events.append(text)
        if int(w.get("fd", 1)) == 2:
            rt.stderr += text + "\n"
        else:
            rt.stdout += text + "\n"

    chain = _Chain()
    goexiting = False
    if body == "panic":
        chain.panics.append(_panic_value(rt, w.get("value", "rthooks panic")))
    elif body == "panic-nil-error":
        chain.panics.append(_panic_value(rt, None))
    elif body == "goexit":
        goexiting = True
    elif body == "exit":
        raise Exited(int(w.get("code", 0)) & 0xFF)
    elif body == "return":
        record("body returned")
    else:
        raise Unsupported(f"bad arguments: op process.defers: unknown body {body!r}")
    for d in reversed(w.get("defers") or []):
        rec = None
        if d.get("recover"):
            p = chain.active()
            if p is not None:  # recover stops a panic in progress; during Goexit or a normal return it gives nil
                p["recovered"] = True
                rec = p
        if d.get("tag"):
            if d.get("recover"):
                shown = "<nil>" if rec is None or rec["value"] is None else rec["text"]
                record(f"{d['tag']}={shown}")
            else:
                record(str(d["tag"]))
        if d.get("goexit"):
            raise Unsupported("the oracle does not model Goexit inside a deferred call")
        if d.get("repanic"):
            if rec is None:
                raise Unsupported("the oracle models re-panicking a recovered non-nil value only")
            new = dict(rec, recovered=False)
            # preprintpanics marks the recovered panic whose value is panicked again
            if rt.release >= spec_since(REPANIC_MARKER):
                rec["repanicked"] = True
            chain.panics.append(new)
        elif d.get("panic") is not None:
            chain.panics.append(_panic_value(rt, d["panic"]))
        elif rec is not None:
            chain.panics = []  # recovered: the function returns normally, the remaining defers run
    if chain.active() is not None:
        raise traceback.crash(rt, chain.headline(rt), in_goroutine=in_goroutine)
    if in_goroutine:
        if not goexiting:
            record("returned")
        return events
    if goexiting:
        goroutines.main_goexit(rt, [], {})
    return None


@step("op:process.gotest")
def gotest(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """`go test` of one of the driver's named test programs (PROTOCOL.md, process.gotest)."""
    name = str(w.get("test", ""))
    if name == "exit0":  # go test runs tests with -test.paniconexit0
        head = "panic: unexpected call to os.Exit(0) during test"
        head += (
            " [recovered, repanicked]"
            if rt.release >= spec_since(REPANIC_MARKER)
            else " [recovered]\n\tpanic: unexpected call to os.Exit(0) during test"
        )
        output = f"--- FAIL: TestCase (0.00s)\n{head}\n\ngoroutine 7 [running]:\n...\nFAIL\trthooks.dev/gotest\t0.005s\nFAIL\n"
        return {"exit": 1, "output": output}
    if name == "synctest":
        # The test binary's GODEBUG: the environment over the module's go 1.21 defaults.
        if rt.release < spec_since("godebug:asynctimerchan#synctest-panics"):
            raise Unsupported("testing/synctest exists from Go 1.24")
        if godebugmodel.test_module_godebug(rt, "asynctimerchan", goline="1.21") not in ("0", None):
            output = (
                "--- FAIL: TestCase (0.00s)\npanic: synctest.Run not supported with asynctimerchan!=0 [recovered]\n"
                "FAIL\trthooks.dev/gotest\t0.005s\nFAIL\n"
            )
            return {"exit": 1, "output": output}
        return {"exit": 0, "output": "ok  \trthooks.dev/gotest\t0.005s\n"}
    raise Unsupported(f"bad arguments: op process.gotest: unknown test {name!r}")
