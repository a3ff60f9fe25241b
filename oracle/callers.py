"""Stacks and call sites (Caller, Callers, Frames, FuncForPC, Stack), runtime errors' texts, Pinner,
profiling rates and the other small runtime calls.

The model has no machine code: program counters are placeholders, file names those of the
driver's dispatch, and only relations a case may check (counts, ok flags, zero values, message
texts) are meant to hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle.registry import step
from rthooks.oracle.state import OracleRuntime, PanicError, Unsupported

PC = 0x4A0000
DEPTH = 6  # frames below a call's dispatch function: runner, main.main, runtime.main, goexit, ...


@dataclass
class Misc:
    mutex_fraction: int = 0
    block_rate: int = 0
    cpu_hz: int = 0
    tracing: bool = False
    pinned: dict[str, list[Any]] = field(default_factory=dict)
    frames: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def misc(rt: OracleRuntime) -> Misc:
    m: Misc = rt.area("misc", Misc)
    return m


ZERO_FRAME = {"Entry": 0, "File": "", "Func": None, "Function": "", "Line": 0, "PC": 0}


@step("runtime.Caller")
def caller(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    skip = int(args[0])
    if skip < 0 or skip > DEPTH:
        return [0, "", 0, False]
    return [PC + 0x100 * skip, "rthooks.dev/driver/dispatch_runtime.go", 61 + skip, True]


@step("runtime.Callers")
def callers(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    skip, length = int(args[0]), (0 if args[1] is None else int(args[1]))
    avail = max(0, DEPTH + 2 - skip)
    n = min(avail, length)
    return [n, [PC + 0x100 * (skip + i) + 5 for i in range(n)]]


@step("runtime.CallersFrames")
def callers_frames(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> dict[str, str]:
    if args[0]:
        raise Unsupported("the oracle does not symbolise program counters")
    m = misc(rt)
    handle = f"frames{len(m.frames)}"
    m.frames[handle] = []
    return {"handle": handle, "type": "*runtime.Frames"}


@step("runtime.Frames.Next")
def frames_next(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    ref = args[0]
    frames = misc(rt).frames.get(str(ref.get("handle") if isinstance(ref, dict) else ref))
    if frames is None:
        raise Unsupported(f"bad arguments: unknown *runtime.Frames {ref!r}")
    if not frames:
        return [dict(ZERO_FRAME), False]
    f = frames.pop(0)
    return [f, bool(frames)]


@step("runtime.FuncForPC")
def func_for_pc(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> Any:
    if int(args[0] or 0) == 0:
        return None
    raise Unsupported("the oracle does not symbolise program counters")


@step("runtime.Func.Name")
def func_name(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> str:
    if args[0] is None:
        return ""
    raise Unsupported("the oracle does not model *runtime.Func values")


STACK = (
    "goroutine 1 [running]:\nmain.init.func23(0x0?)\n\trthooks.dev/driver/dispatch_runtime.go:159 +0x88\n"
    "main.(*runner).performCall(0x0, 0x0)\n\trthooks.dev/driver/runner.go:240 +0x1d1\n"
    "main.main()\n\trthooks.dev/driver/main.go:32 +0x2a5\n"
)


@step("runtime.Stack")
def stack(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    if args[0] is None:
        return [0, None]
    text = STACK.encode()[: int(args[0])].decode(errors="ignore")
    if args[1]:
        from rthooks.oracle.goroutines import gs

        for i in range(gs(rt).parked):
            text += f"\ngoroutine {18 + i} [chan receive]:\nmain.opGoroutinesStart.func1()\n"
        text = text[: int(args[0])]
    return [len(text.encode()), text]


@step("runtime.CPUProfile")
def cpu_profile(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    raise PanicError("CPUProfile no longer available", "string")


def assertion_message(kind: str) -> str:
    return {
        "type-assertion": "interface conversion: interface {} is int, not string",
        "type-assertion-nil": "interface conversion: interface {} is nil, not string",
        "type-assertion-method": "interface conversion: int is not fmt.Stringer: missing method String",
        "type-assertion-same-name": "interface conversion: interface {} is main.T, not main.T (types from different scopes)",
    }[kind]


@step("runtime.TypeAssertionError.Error")
def type_assertion_error(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> str:
    v = args[0]
    if isinstance(v, str):
        try:
            return assertion_message(v)
        except KeyError:
            raise Unsupported(f"bad arguments: unknown assertion {v!r}") from None
    raise Unsupported("bad arguments: the receiver must name a failing assertion")


@step("runtime.TypeAssertionError.RuntimeError")
@step("runtime.PanicNilError.RuntimeError")
def runtime_error_marker(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    """The marker method does nothing."""


def panic_nil_text(rt: OracleRuntime) -> str:
    text = "panic called with nil argument"
    return "runtime error: " + text if rt.release >= GoVersion.parse("1.27") else text


@step("runtime.PanicNilError.Error")
def panic_nil_error(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    return panic_nil_text(rt)


@step("runtime.Pinner.Pin")
def pin(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    v = args[1]
    if v is None:
        raise PanicError("runtime error: runtime.Pinner: argument is nil", "runtime.errorString")
    if isinstance(v, bool | int | float):
        typ = "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "float64"
        raise PanicError(f"runtime error: runtime.Pinner: argument is not a pointer: {typ}", "runtime.errorString")
    misc(rt).pinned.setdefault(str(args[0]), []).append(v)


@step("runtime.Pinner.Unpin")
def unpin(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    misc(rt).pinned.pop(str(args[0]), None)


@step("runtime.SetMutexProfileFraction")
def set_mutex_fraction(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> int:
    m = misc(rt)
    prev = m.mutex_fraction
    if int(args[0]) >= 0:
        m.mutex_fraction = int(args[0])
    return prev


@step("runtime.SetBlockProfileRate")
def set_block_rate(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    misc(rt).block_rate = max(0, int(args[0]))


@step("runtime.SetCPUProfileRate")
def set_cpu_rate(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    m = misc(rt)
    hz = int(args[0])
    if hz > 0 and m.cpu_hz > 0:
        rt.stderr += "runtime: cannot set cpu profile rate until previous profile has finished.\n"
        return
    m.cpu_hz = max(0, min(hz, 1_000_000))


@step("runtime.BlockProfile")
@step("runtime.MutexProfile")
def contention_profile(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    m = misc(rt)
    if m.block_rate or m.mutex_fraction:
        raise Unsupported("the oracle does not model contention events")
    return [0, True, None if args[0] is None else [{"Count": 0, "Cycles": 0, "Stack0": [0] * 32}] * int(args[0])]


@step("runtime.StartTrace")
def start_trace(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    m = misc(rt)
    if m.tracing:
        raise Unsupported("the oracle cannot report a call's error yet (tracing is already enabled)")
    m.tracing = True


@step("runtime.NumCgoCall")
def num_cgo_call(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> int:
    return 0  # the driver is built with CGO_ENABLED=0


@step("runtime.NumCPU")
def num_cpu(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> int:
    return len(os.sched_getaffinity(0))


@step("runtime.GOROOT")
def goroot(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    if rt.env.get("GOROOT"):
        return rt.env["GOROOT"]
    raise Unsupported("the oracle has no build-time GOROOT")
