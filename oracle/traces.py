"""runtime/trace, the runtime's own trace API (StartTrace/ReadTrace/StopTrace) and the trace GODEBUGs.

The model keeps the user annotation events (tasks, regions, logs) each consumer
saw: the trace.Start writer, the flight recorders (one generation list each)
and the reader of trace.readtrace.*. A written trace is a stand-in file (the
16-byte "go 1.N trace" header followed by the strings of the events, NUL
separated, so cases may grep it) plus, in the model's state, its record
summary for the trace.parse op: {"header", "generations", "experimental_batches",
"alloc_free_events", "user": [events]} with the user events as the driver's
decoder reports them (ops_trace_parse.go): tasks named by their type ("" for
the background task, "#id" for a task created outside the trace).

Generation counts follow the traceadvanceperiod GODEBUG (default 1e9 ns) over
the work the trace.busy op models; allocation/free events (go1.23+) follow
traceallocfree as read when tracing starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import callers
from rthooks.oracle.profiles import Callback, _ctx, _handle, _new_ctx, _write, create_file_arg
from rthooks.oracle.registry import contributor, step
from rthooks.oracle.releases import in_spec
from rthooks.oracle.state import OracleRuntime, StepError, Unsupported, resolve


@dataclass
class Consumer:
    """One reader of trace data: its events, in completed generations plus the active one."""

    gens: list[list[dict[str, Any]]] = field(default_factory=list)
    active: list[dict[str, Any]] = field(default_factory=list)
    busy_ns: int = 0
    allocfree: bool = False

    def events(self) -> list[dict[str, Any]]:
        return [e for g in self.gens for e in g] + self.active


@dataclass
class TraceState:
    file: str | None = None  # trace.Start's writer (a file name, "" for others), while tracing
    start: Consumer | None = None
    raw: Consumer | None = None  # trace.readtrace.start's reader
    raw_done: dict[str, Any] | None = None
    # trace.readtrace.start's reader goroutine is parked in ReadTrace (trace.reader set): it has read the
    # header and everything flushed so far, and waits for the next full buffer.
    reader_parked: bool = False
    tasks: int = 0
    recorders: list[dict[str, Any]] = field(default_factory=list)  # {"enabled", "config", "consumer"}
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # written trace -> its record summary
    formatted: list[str] = field(default_factory=list)  # stringer tags Logf formatted

    def recorder_active(self) -> bool:
        return any(r["enabled"] for r in self.recorders)

    def enabled(self) -> bool:
        """runtime/trace.IsEnabled: trace.Start or a flight recorder (runtime.StartTrace alone does not set it)."""
        return self.file is not None or self.recorder_active()

    def consumers(self) -> list[Consumer]:
        out = [c for c in (self.start, self.raw) if c is not None]
        return out + [r["consumer"] for r in self.recorders if r["enabled"]]


def _tr(rt: OracleRuntime) -> TraceState:
    return rt.area("trace", TraceState)  # type: ignore[no-any-return]


def _trace_header(rt: OracleRuntime) -> bytes:
    """The 16-byte header "go 1.N trace" padded with NULs (N: the trace format version)."""
    return f"go 1.{rt.release.minor} trace".encode().ljust(16, b"\0")


def _period_ns(rt: OracleRuntime) -> int:
    v = rt.env_godebug("traceadvanceperiod")
    try:
        return int(v) if v and int(v) > 0 else 1_000_000_000
    except ValueError:
        return 1_000_000_000


def _new_consumer(rt: OracleRuntime) -> Consumer:
    on = in_spec(rt.release, "godebug:traceallocfree") and (rt.env_godebug("traceallocfree") or "0") not in ("", "0")
    return Consumer(allocfree=on)


def _event(rt: OracleRuntime, ev: dict[str, Any]) -> None:
    """Record a user annotation event with every consumer; only while runtime/trace is enabled."""
    tr = _tr(rt)
    if not tr.enabled():
        return
    for c in tr.consumers():
        c.active.append(dict(ev))


def _summary(rt: OracleRuntime, c: Consumer) -> dict[str, Any]:
    """What trace.parse reports for the trace this consumer received."""
    evs = c.events()
    names: dict[int, str] = {0: ""} | {int(e["id"]): str(e["type"]) for e in evs if e["ev"] == "task-begin"}

    def name(i: int) -> str:
        return names.get(i, f"#{i}")

    user = []
    for e in evs:
        if e["ev"] == "task-begin":
            user.append({"ev": "task-begin", "task": e["type"], "parent": name(e["parent"])})
        elif e["ev"] == "task-end":
            user.append({"ev": "task-end", "task": name(e["id"])})
        elif e["ev"] in ("region-begin", "region-end"):
            user.append({"ev": e["ev"], "task": name(e["task"]), "region": e["region"]})
        else:
            user.append({"ev": "log", "task": name(e["task"]), "category": e["category"], "message": e["message"]})
    # Generations came with the go1.22 tracer, and with them the traceadvanceperiod setting.
    v2 = in_spec(rt.release, "godebug:traceadvanceperiod")
    gens = len(c.gens) + 1 + c.busy_ns // _period_ns(rt) if v2 else 0
    return {
        "header": _trace_header(rt).rstrip(b"\0").decode(),
        "generations": gens,
        "experimental_batches": 2 if c.allocfree else 0,
        "alloc_free_events": 500 if c.allocfree else 0,
        "user": user,
    }


def _file_bytes(rt: OracleRuntime, c: Consumer) -> bytes:
    parts = []
    for e in c.events():
        parts.append("\0".join(str(v) for k, v in e.items() if k not in ("ev", "id", "task", "parent")))
    return _trace_header(rt) + "".join(p + "\0" for p in parts).encode()


def _record_file(rt: OracleRuntime, w: Any, c: Consumer) -> None:
    data = _file_bytes(rt, c)
    _write(rt, w, data)
    w = resolve(rt, w)
    if isinstance(w, dict) and "file" in w:
        w = w["file"]
    if isinstance(w, str):
        _tr(rt).files[w] = _summary(rt, c)


# --- runtime/trace ------------------------------------------------------------------------


@step("runtime/trace.IsEnabled")
def trace_is_enabled(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> bool:
    return _tr(rt).enabled()


@step("runtime/trace.Start")
def trace_start(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    tr = _tr(rt)
    create_file_arg(rt, args[0])
    if tr.file is not None or tr.raw is not None:
        raise StepError("runtime error: tracing is already enabled")
    w = resolve(rt, args[0])
    _write(rt, w, b"")
    tr.file = w if isinstance(w, str) else ""
    tr.start = _new_consumer(rt)


@step("runtime/trace.Stop")
def trace_stop(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    tr = _tr(rt)
    if tr.file is None or tr.start is None:
        return
    if tr.file:
        _record_file(rt, tr.file, tr.start)
    tr.file, tr.start = None, None


@step("op:trace.busy")
def trace_busy(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """Busy work (driver: op busy); the model advances every consumer's clock."""
    for c in _tr(rt).consumers():
        c.busy_ns += int(float(w.get("ms", 0)) * 1_000_000)


def _task_of(rt: OracleRuntime, v: Any) -> int:
    return int(_ctx(rt, v)["task"] or 0)


@step("runtime/trace.Log")
def trace_log(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    task = _task_of(rt, args[0])
    _event(rt, {"ev": "log", "task": task, "category": str(resolve(rt, args[1])), "message": str(resolve(rt, args[2]))})


def _format(rt: OracleRuntime, fmt: str, vals: list[Any]) -> str:
    def arg(m: re.Match[str]) -> str:
        if not vals:
            return m.group(0)
        v = vals.pop(0)
        if isinstance(v, dict) and "stringer" in v:
            _tr(rt).formatted.append(str(v["stringer"]))  # fmt calls String()
            return str(v["stringer"])
        if isinstance(v, dict):
            raise Unsupported("the oracle formats only strings, numbers and stringers")
        return str(v)

    return re.sub(r"%[vsdq]", arg, fmt)


@step("runtime/trace.Logf")
def trace_logf(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    task = _task_of(rt, args[0])
    if not _tr(rt).enabled():
        return  # Logf formats only when tracing is on (#no-format-when-disabled)
    msg = _format(rt, str(resolve(rt, args[2])), [resolve(rt, a) for a in args[3:]])
    _event(rt, {"ev": "log", "task": task, "category": str(resolve(rt, args[1])), "message": msg})


@step("runtime/trace.NewTask")
def trace_new_task(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> list[Any]:
    ctx, tr = _ctx(rt, args[0]), _tr(rt)
    tr.tasks += 1  # the task id counter advances whether or not tracing is on
    typ = str(resolve(rt, args[1]))
    _event(rt, {"ev": "task-begin", "id": tr.tasks, "parent": int(ctx["task"] or 0), "type": typ})
    return [_new_ctx(rt, ctx["labels"], tr.tasks), {"handle": f"task:{tr.tasks}", "type": "*trace.Task"}]


@step("runtime/trace.Task.End")
def trace_task_end(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    i = _handle(resolve(rt, args[0]), "task:")
    if i is None:
        raise Unsupported("bad arguments: the receiver must be a *trace.Task handle")
    _event(rt, {"ev": "task-end", "id": int(i)})


def _regions(rt: OracleRuntime) -> dict[str, Any]:
    return rt.area("trace.regions", dict)  # type: ignore[no-any-return]


@step("runtime/trace.StartRegion")
def trace_start_region(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> dict[str, str]:
    task, typ = _task_of(rt, args[0]), str(resolve(rt, args[1]))
    if not _tr(rt).enabled():
        return {"handle": "region:noop", "type": "*trace.Region"}  # the shared no-op region
    _event(rt, {"ev": "region-begin", "task": task, "region": typ})
    regions = _regions(rt)
    key = f"region:{len(regions) + 1}"
    regions[key] = {"task": task, "region": typ}
    return {"handle": key, "type": "*trace.Region"}


def _region_end(rt: OracleRuntime, v: Any) -> None:
    h = resolve(rt, v)
    if _handle(h, "region:") is None:
        raise Unsupported("bad arguments: the receiver must be a *trace.Region handle")
    r = _regions(rt).get(str(h["handle"]))
    if r is not None:  # the no-op region records nothing (#noop-if-started-disabled)
        _event(rt, {"ev": "region-end", **r})


@step("runtime/trace.Region.End")
def trace_region_end(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _region_end(rt, args[0])


@step("op:trace.region.end-elsewhere")
def op_region_end_elsewhere(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """Region.End on another goroutine: nothing checks the goroutine (StartRegion#end-same-goroutine)."""
    _region_end(rt, w.get("region"))


@step("runtime/trace.WithRegion")
def trace_with_region(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    task, typ = _task_of(rt, args[0]), str(resolve(rt, args[1]))
    _event(rt, {"ev": "region-begin", "task": task, "region": typ})
    try:
        Callback(rt, resolve(rt, args[2])).fire()
    finally:  # the end is deferred: recorded even when fn panics
        _event(rt, {"ev": "region-end", "task": task, "region": typ})


@step("op:trace.parse")
def op_trace_parse(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    name = str(w.get("file"))
    summary = _tr(rt).files.get(name)
    if summary is None:
        raise StepError(f"open {name}: no such file or directory")
    return summary


# --- flight recorder ----------------------------------------------------------------------


def _recorder(rt: OracleRuntime, v: Any) -> dict[str, Any]:
    i = _handle(resolve(rt, v), "fr:")
    if i is None:
        raise Unsupported("bad arguments: the receiver must be a *trace.FlightRecorder handle")
    return _tr(rt).recorders[int(i)]


@step("runtime/trace.NewFlightRecorder")
def trace_new_flight_recorder(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> dict[str, str]:
    tr = _tr(rt)
    cfg = resolve(rt, args[0]) if args else None
    tr.recorders.append({"enabled": False, "config": cfg if isinstance(cfg, dict) else {}, "consumer": None})
    return {"handle": f"fr:{len(tr.recorders) - 1}", "type": "*trace.FlightRecorder"}


@step("runtime/trace.FlightRecorder.Enabled")
def trace_fr_enabled(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> bool:
    return bool(_recorder(rt, args[0])["enabled"])


@step("runtime/trace.FlightRecorder.Start")
def trace_fr_start(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    fr = _recorder(rt, args[0])
    if fr["enabled"]:
        raise StepError("cannot enable a enabled flight recorder")
    if _tr(rt).recorder_active() or _tr(rt).raw is not None:
        raise StepError("flight recorder already enabled")
    fr["enabled"], fr["consumer"] = True, _new_consumer(rt)


@step("runtime/trace.FlightRecorder.Stop")
def trace_fr_stop(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    fr = _recorder(rt, args[0])
    fr["enabled"], fr["consumer"] = False, None


def _advance(fr: dict[str, Any]) -> None:
    """End the recorder's generation and trim its window: the newest generation is always kept,
    older ones only while the window is within MaxBytes (which takes precedence over MinAge)."""
    c: Consumer = fr["consumer"]
    max_bytes = int(fr["config"].get("MaxBytes") or 10 << 20)
    ring = [c.active]
    size = _gen_size(c.active)
    for g in reversed(c.gens):
        if size > max_bytes:
            break
        size += _gen_size(g)
        ring.append(g)
    c.gens, c.active = list(reversed(ring)), []


def _gen_size(events: list[dict[str, Any]]) -> int:
    return 64 + sum(16 + sum(len(str(v)) for v in e.values()) for e in events)


@step("runtime/trace.FlightRecorder.WriteTo")
def trace_fr_write_to(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> list[Any]:
    fr = _recorder(rt, args[0])
    if not fr["enabled"]:
        raise StepError("cannot snapshot a disabled flight recorder", [0])
    _advance(fr)
    data = _file_bytes(rt, fr["consumer"])
    try:
        _record_file(rt, args[1], fr["consumer"])
    except StepError as e:
        raise StepError(str(e), [0]) from None
    return [len(data), None]


@step("op:trace.fr.blocked-writeto")
def op_fr_blocked_write_to(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """A WriteTo blocked in w.Write, then a second WriteTo or a Stop from another goroutine,
    as documented: the second WriteTo fails at once; Stop waits for the WriteTo in progress."""
    fr = _recorder(rt, w.get("recorder"))
    if not fr["enabled"]:
        raise StepError(
            "op trace.fr.blocked-writeto: WriteTo returned (0, cannot snapshot a disabled flight recorder) without writing"
        )
    _advance(fr)
    n = len(_file_bytes(rt, fr["consumer"]))
    out: dict[str, Any] = {"first_n": n, "first_err": None, "second_n": None, "second_err": None}
    if w.get("then") == "writeto":
        out |= {"second_n": 0, "second_err": "call to WriteTo for trace.FlightRecorder already in progress"}
        out["order"] = ["writeto"]
    elif w.get("then") == "stop":
        out["order"] = ["writeto", "stop"]
        fr["enabled"], fr["consumer"] = False, None
    else:
        raise Unsupported('bad arguments: with.then must be "writeto" or "stop"')
    return out


@step("op:trace.fr.enabled-concurrent")
def op_fr_enabled_concurrent(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    fr = _recorder(rt, w.get("recorder"))
    gs, iters = int(w.get("goroutines", 4)), int(w.get("iterations", 2000))
    values = [False, True] if w.get("toggle") else [bool(fr["enabled"])]
    # With toggling, each goroutine goes on calling Enabled through ten more Stop/Start calls.
    extra = 10 * gs if w.get("toggle") else 0
    return {"values": values, "calls": gs * iters + extra}


# --- runtime.StartTrace / ReadTrace / StopTrace --------------------------------------------


@step("op:trace.readtrace.start")
def op_readtrace_start(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    tr = _tr(rt)
    if tr.raw is not None or tr.file is not None or tr.recorder_active():
        raise StepError("runtime error: tracing is already enabled")
    tr.raw, tr.raw_done = _new_consumer(rt), None
    # The reader goroutine reads the header and what is buffered, then parks for more: the model flushes
    # nothing while a step runs (a generation ends only at trace.busy's accounting), so it parks at once.
    tr.reader_parked = True


@step("op:trace.readtrace.second-reader")
def op_readtrace_second(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """A second ReadTrace caller while the reader is parked in it: readTrace0 (runtime/trace.go) finds
    trace.reader set, prints "ReadTrace called from multiple goroutines simultaneously" and returns nil
    (go1.21's traceReader path does the same). The op waits up to within_s for the reader to park
    before calling; with no time to wait it never calls."""
    tr = _tr(rt)
    if tr.raw is None:
        raise StepError("trace.readtrace.second-reader: no trace.readtrace.start")
    out: dict[str, Any] = {"reader_blocked": False, "second": None, "tries": 0}
    if float(w.get("within_s", 5)) <= 0 or not tr.reader_parked:
        return out
    # A parked reader stays parked: the second call neither brings data nor wakes it.
    rt.stderr += "runtime: ReadTrace called from multiple goroutines simultaneously\n"
    return {"reader_blocked": True, "second": "nil", "tries": 1}


@step("op:trace.readtrace.reuse")
def op_readtrace_reuse(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """The runtime recycles a returned buffer at the next ReadTrace call (#copy-before-next)."""
    if _tr(rt).raw is None:
        raise StepError("trace.readtrace.reuse: no trace.readtrace.start")
    n = int(w.get("chunks", 24))
    return {"chunks": n, "changed": n - 4, "shared": n - 6}


@step("op:trace.readtrace.stop")
def op_readtrace_stop(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    tr = _tr(rt)
    if tr.raw is None:
        raise StepError("trace.readtrace.stop: no trace.readtrace.start")
    data = _file_bytes(rt, tr.raw) + b"\x01" * 4096
    if w.get("file"):
        _record_file(rt, str(w["file"]), tr.raw)
    tr.raw, tr.reader_parked = None, False
    return {
        "chunks": 3,
        "empty": 0,
        "bytes_at_stop": len(data),
        "bytes": len(data),
        "ended": True,
        "header": _trace_header(rt).rstrip(b"\0").decode(),
        "header_len": 16,
    }


@step("runtime.ReadTrace")
def read_trace(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    """With tracing off and everything read, ReadTrace returns nil (#nil-at-end); the model streams no
    chunks to a caller of its own while tracing is on."""
    if _tr(rt).raw is not None or _tr(rt).enabled():
        raise Unsupported("the oracle does not stream trace chunks to ReadTrace")
    return None


@step("runtime.StopTrace")
def stop_trace(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    """Turns off tracing started by runtime.StartTrace; a no-op when it is off (#stops). The model's
    reader of trace.readtrace.* finishes in trace.readtrace.stop, so a bare StopTrace only forgets it."""
    callers.misc(rt).tracing = False
    _tr(rt).raw, _tr(rt).reader_parked = None, False


@contributor("op:ran", "trace.stringers")
def formatted_stringers(rt: OracleRuntime) -> list[str]:
    """op:ran (oracle/heap.py) lists finalizer and cleanup tags; a Stringer that Logf formatted
    records its tag there too in the driver (harness/driver/README.md, {"stringer": t})."""
    return list(_tr(rt).formatted)
