"""Tracebacks and crash reports: GOTRACEBACK, SetTraceback, Stack, PrintStack, SetCrashOutput,
SetPanicOnFault, WriteHeapDump, and how an unrecovered panic is printed.

The crash report's shape follows runtime/panic.go and runtime/traceback.go; frame lines are
placeholders (the model has no real stack), only the headers and their number are modelled.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import driversrc, godebugops, goroutines, proc
from rthooks.oracle.envparse import TRACEBACK_ALL, TRACEBACK_CRASH, parse_traceback
from rthooks.oracle.registry import step
from rthooks.oracle.releases import cutoff
from rthooks.oracle.state import OUTPUT_CAP, Exited, OracleRuntime, PanicError, StepError, Unsupported


@dataclass
class Tracing:
    env: tuple[int, int]  # GOTRACEBACK at startup: (level, flags)
    current: tuple[int, int]
    crash_file: str | None = None  # SetCrashOutput's file, a name in the case's working directory
    panic_on_fault: bool = False  # the main goroutine's setting (steps run on it)
    extra: list[str] = field(default_factory=list)


def tracing(rt: OracleRuntime) -> Tracing:
    def new() -> Tracing:
        t = parse_traceback(rt.env.get("GOTRACEBACK", ""), rt.release)
        return Tracing(env=t, current=t)

    t: Tracing = rt.area("traceback", new)
    return t


# The model places no frame of these reports (see above): each is printed at line 1 of main.go.
FRAME_PLACEHOLDER = driversrc.placeholder("main.go")
# The "created by" lines do name the driver's go statements.
PANIC_GO = driversrc.at("func opPanic(", "go trigger()")
GOROUTINES_GO = driversrc.at("func opGoroutinesStart(", "go func(")
SPINNER_GO = driversrc.at("func spinAndPanic(", "go spinLoop(")


def _frames(system: bool, *fns: str) -> str:
    out = ""
    for fn in fns:
        out += f"{fn}\n\t{FRAME_PLACEHOLDER} +0x0"
        out += " fp=0x0 sp=0x0 pc=0x0\n" if system else "\n"
    return out


def _stack(
    rt: OracleRuntime | None, gid: int, state: str, *fns: str, system: bool = False, m: int | None = None
) -> str:
    """A goroutine's block. From go1.22 goroutineheader prints ``gp=``, ``m=`` (and ``mp=`` for a goroutine
    on an M, here ``m``) when the level is 2 or more (``system``): runtime/traceback.go
    ``if gp.m != nil && gp.m.throwing >= throwTypeRuntime && gp == gp.m.curg || level >= 2``."""
    where = ""
    if system and rt is not None and rt.release >= cutoff("traceback-gp-m"):
        where = f" gp=0xc000{gid:06x} " + (f"m={m} mp=0x7768c0" if m is not None else "m=nil")
    return f"goroutine {gid}{where} [{state}]:\n" + _frames(system, *fns)


def crash(rt: OracleRuntime, headline: str, *, in_goroutine: bool = False) -> Exited:
    """The process's end after an unrecovered panic: report to stderr (and the crash file)."""
    t = tracing(rt)
    level, flags = t.current
    system = level >= 2
    report = headline.rstrip("\n") + "\n"
    if level > 0:
        if in_goroutine:
            report += "\n" + _stack(rt, 18, "running", "main.panicTrigger.func1()", system=system, m=0)
            report += f"created by main.opPanic in goroutine 1\n\t{PANIC_GO} +0x0\n"
            if flags & TRACEBACK_ALL:
                report += "\n" + _stack(rt, 1, "select (no cases)", "main.opPanic()", "main.main()", system=system)
        else:
            fns = (["panic({0x0?, 0x0?})"] if system else []) + ["main.panicTrigger.func1()", "main.main()"]
            report += "\n" + _stack(rt, 1, "running", *fns, system=system, m=0)
        if flags & TRACEBACK_ALL:
            for i in rt.loop(goroutines.gs(rt).parked):
                if len(report) > OUTPUT_CAP:
                    break  # stderr: the harness keeps no more (a crash file gets the same start)
                report += "\n" + _stack(rt, 20 + i, "chan receive", "main.opGoroutinesStart.func1(0x0?)", system=system)
                report += f"created by main.opGoroutinesStart in goroutine 1\n\t{GOROUTINES_GO} +0x0\n"
        if system:
            report += "\n" + _stack(
                rt, 2, "force gc (idle)", "runtime.gopark()", "runtime.forcegchelper()", system=True
            )
    _to_crash_file(rt, t, report)
    if flags & TRACEBACK_CRASH:
        return Exited(-1, report, signal="SIGABRT")
    return Exited(2, report)


def _to_crash_file(rt: OracleRuntime, t: Tracing, text: str) -> None:
    """Copy a crash report to SetCrashOutput's file. The runtime ignores a failed write there (the
    process is dying anyway), so a refusal by the oracle's file checks is dropped too."""
    if t.crash_file is not None:
        with contextlib.suppress(StepError):
            rt.append_file(t.crash_file, text.encode())


def spinner_crash(rt: OracleRuntime) -> Exited:
    """A goroutines.spin.panic child: main.spinLoop runs on another P when the init code panics.

    The fatal panic first freezes the world (runtime/proc.go freezetheworld): it preempts the running
    goroutines, so the spinner is listed as runnable, with its stack. With GODEBUG dontfreezetheworld=1
    it keeps running on its thread, and the traceback cannot walk a running goroutine's stack.
    """
    level, flags = tracing(rt).env  # a new process: only GOTRACEBACK counts
    system = level >= 2
    report = "panic: freeze\n"
    if level > 0:
        report += "\n" + _stack(rt, 1, "running", "main.spinAndPanic()", "main.init.0()", system=system, m=0)
        if flags & TRACEBACK_ALL:
            created = f"created by main.spinAndPanic in goroutine 1\n\t{SPINNER_GO} +0x0\n"
            if godebugops.startup_int(rt, "dontfreezetheworld") > 0:
                report += "\ngoroutine 5 [running]:\n\tgoroutine running on other thread; stack unavailable\n" + created
            else:
                report += "\n" + _stack(rt, 5, "runnable", "main.spinLoop(0x0?)", system=system) + created
    if flags & TRACEBACK_CRASH:
        return Exited(-1, report, signal="SIGABRT")
    return Exited(2, report)


@step("op:panic")
def panic(rt: OracleRuntime, a: list[Any], w: dict[str, Any]) -> None:
    """op:panic, with the traceback level, the crash file and SetPanicOnFault applied."""
    if w.get("type") == "runtime-error" and w.get("value") == "fault":
        on = tracing(rt).panic_on_fault and not w.get("goroutine")
        if on and w.get("recover", True):
            raise PanicError(
                "runtime error: invalid memory address or nil pointer dereference", "runtime.errorAddressString"
            )
        # A fault the runtime did not turn into a panic: a fatal runtime error (always traced).
        raise Exited(
            2,
            "unexpected fault address 0x0\nfatal error: fault\n[signal SIGSEGV: segmentation violation]\n\n"
            + _stack(rt, 1, "running", "main.main()", system=True, m=0),
        )
    try:
        proc.panic(rt, a, w)
    except Exited as e:
        # The whole first block ("panic: ..." plus e.g. "[signal SIGSEGV ...]"), re-rendered with the traceback level.
        head = e.stderr.split("\n\n", 1)[0]
        raise crash(rt, head, in_goroutine=bool(w.get("goroutine"))) from None


@step("runtime/debug.SetTraceback")
def set_traceback(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    t = tracing(rt)
    level, flags = parse_traceback(str(args[0]), rt.release)
    # runtime1.go: t |= traceback_env, on the packed word (level << 2 | flags).
    word = (level << 2 | flags) | (t.env[0] << 2 | t.env[1])
    t.current = (word >> 2, word & 3)


STACK = _stack(None, 1, "running", "runtime/debug.Stack()", "main.main()")


@step("runtime/debug.Stack")
def stack(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    return STACK


@step("runtime/debug.PrintStack")
def print_stack(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    rt.stderr += _stack(None, 1, "running", "runtime/debug.Stack()", "runtime/debug.PrintStack()", "main.main()")


@step("runtime/debug.SetPanicOnFault")
def set_panic_on_fault(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> bool:
    t = tracing(rt)
    prev, t.panic_on_fault = t.panic_on_fault, bool(args[0])
    return prev


@step("runtime/debug.WriteHeapDump")
def write_heap_dump(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    if not isinstance(args[0], str):
        raise Unsupported("the oracle writes heap dumps to named files only")
    # runtime/heapdump.go: the header, then tagged records; the model writes the header and an EOF tag.
    rt.write_file(args[0], b"go1.7 heap dump\n" + bytes([0]))


@step("runtime/debug.SetCrashOutput")
def set_crash_output(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    t = tracing(rt)
    f = args[0] if args else None
    if f is None:
        t.crash_file = None
        return None
    if isinstance(f, dict):
        if f.get("closed"):
            rt.append_file(str(f.get("file")), b"")  # the driver opened (created) it, then closed it
            raise StepError("bad file descriptor")
        f = f.get("file")
    rt.append_file(str(f), b"")  # created (not truncated) when it is set
    t.crash_file = str(f)
    return None


@step("op:fatal")
def fatal(rt: OracleRuntime, a: list[Any], w: dict[str, Any]) -> None:
    """op:fatal, with the crash file: the runtime copies what follows the "fatal error:" line."""
    try:
        proc.fatal(rt, a, w)
    except Exited as e:
        _head, sep, rest = e.stderr.partition("fatal error: ")
        _to_crash_file(rt, tracing(rt), rest.partition("\n")[2] if sep else e.stderr)
        raise
