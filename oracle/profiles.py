"""runtime/pprof and runtime/trace.

The model keeps, per run, the registered profiles (predefined ones and those of
NewProfile with the values added to them), label sets and contexts (labels and
the task they carry), CPU-profile and execution-trace state and the flight
recorders. Handles follow PROTOCOL.md ({"handle", "type"}); the driver's
argument conventions (harness/driver/README.md) are read the same way: writers
are file names relative to the working directory, callbacks are objects with
`bind`, `steps`, `panic`, `return` and `stop_after`.

The files the model writes are stand-ins with the observable shape the spec
promises (a gzip stream for debug=0 and CPU profiles, the legacy text header for
debug=1, the 16-byte "go 1.N trace" header followed by the strings of user
events for traces); they are not meant for go tool pprof / go tool trace.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle import godebugmodel
from rthooks.oracle.registry import step
from rthooks.oracle.state import OracleRuntime, PanicError, StepError, Unsupported, resolve

MODEL_STACK_DEPTH = 64  # frames below a Profile.Add call in the modelled driver


def _predefined(rt: OracleRuntime) -> list[str]:
    """The predefined profiles: the Profile doc's list, from the spec's Lookup clauses and deviations."""
    names = ["allocs", "block", "goroutine", "heap", "mutex", "threadcreate"]
    # goroutineleak: listed from 1.26 but registered unconditionally only from 1.27
    # (runtime/pprof.Lookup#goroutineleak deviation; #goroutineleak-experiment-only).
    if rt.release >= GoVersion.parse("1.27"):
        names.append("goroutineleak")
    return sorted(names)


@dataclass
class PprofState:
    custom: dict[str, list[Any]] = field(default_factory=dict)  # name -> values added, in order
    labelsets: list[dict[str, str]] = field(default_factory=list)
    contexts: list[dict[str, Any]] = field(default_factory=list)  # {"labels": {...}, "task": id | None}
    cpu_file: str | None = None
    goroutine_labels: dict[str, str] = field(default_factory=dict)
    spawned_labels: list[dict[str, str]] = field(default_factory=list)  # goroutines started inside callbacks
    skips: dict[tuple[str, str], int] = field(default_factory=dict)  # (profile, value) -> Add's skip


@dataclass
class TraceState:
    file: str | None = None  # trace.Start's writer (a file name), while tracing
    events: list[str] = field(default_factory=list)
    tasks: int = 0
    recorders: list[dict[str, Any]] = field(default_factory=list)  # {"enabled": bool, "config": ...}

    def recorder_active(self) -> bool:
        return any(r["enabled"] for r in self.recorders)

    def enabled(self) -> bool:
        return self.file is not None or self.recorder_active()


def _pp(rt: OracleRuntime) -> PprofState:
    return rt.area("pprof", PprofState)  # type: ignore[no-any-return]


def _tr(rt: OracleRuntime) -> TraceState:
    return rt.area("trace", TraceState)  # type: ignore[no-any-return]


# --- argument reading ---------------------------------------------------------------------


def _handle(v: Any, prefix: str) -> str | None:
    if isinstance(v, dict) and str(v.get("handle", "")).startswith(prefix):
        return str(v["handle"])[len(prefix) :]
    return None


def _profile(rt: OracleRuntime, v: Any) -> str:
    name = _handle(resolve(rt, v), "profile:")
    if name is None:
        raise Unsupported("bad arguments: the receiver must be a *pprof.Profile handle")
    return name


def _ctx(rt: OracleRuntime, v: Any) -> dict[str, Any]:
    v = resolve(rt, v)
    if v is None:
        return {"labels": {}, "task": None}
    i = _handle(v, "ctx:")
    if i is None:
        raise Unsupported("bad arguments: want a context handle or null")
    return _pp(rt).contexts[int(i)]


def _new_ctx(rt: OracleRuntime, labels: dict[str, str], task: int | None) -> dict[str, str]:
    st = _pp(rt)
    st.contexts.append({"labels": dict(labels), "task": task})
    return {"handle": f"ctx:{len(st.contexts) - 1}", "type": "context.Context"}


def _labelset(rt: OracleRuntime, v: Any) -> dict[str, str]:
    v = resolve(rt, v)
    if v is None:
        return {}
    i = _handle(v, "labels:")
    if i is not None:
        return _pp(rt).labelsets[int(i)]
    if isinstance(v, list):
        return _labels_from_pairs([str(resolve(rt, x)) for x in v])
    if isinstance(v, dict):
        return {str(k): str(resolve(rt, x)) for k, x in sorted(v.items())}
    raise Unsupported("bad arguments: want a LabelSet handle, a list of keys and values, or an object")


def _labels_from_pairs(kv: list[str]) -> dict[str, str]:
    if len(kv) % 2:
        raise PanicError("uneven number of arguments to pprof.Labels", "string")
    out: dict[str, str] = {}
    for k, v in zip(kv[::2], kv[1::2], strict=True):
        out[k] = v  # a repeated key: the later value wins
    return dict(sorted(out.items()))


def _write(rt: OracleRuntime, w: Any, data: bytes) -> None:
    """Write to a writer argument: a file name (or {"file": name}), {"discard": true}, or null."""
    w = resolve(rt, w)
    if isinstance(w, dict) and "file" in w:
        w = w["file"]
    if isinstance(w, str):
        with open(rt.workdir / w, "ab") as f:
            f.write(data)
    elif isinstance(w, dict) and "fail" in w:
        raise StepError(str(w["fail"]))
    elif not (w is None or (isinstance(w, dict) and w.get("discard"))):
        raise Unsupported('bad arguments: want a file name, {"fail": text}, {"discard": true} or null')


def _touch(rt: OracleRuntime, w: Any) -> None:
    _write(rt, w, b"")


class Callback:
    """A func-typed argument (callbacks.go): bind its arguments, run nested steps, panic, return a bool."""

    def __init__(self, rt: OracleRuntime, spec: Any) -> None:
        self.rt, self.calls = rt, 0
        self.spec = spec if isinstance(spec, dict) else {}
        if "tag" in self.spec:
            raise Unsupported("the oracle's pprof/trace callbacks do not record tags (use bind and steps)")

    def fire(self, *args: Any) -> bool:
        self.calls += 1
        s = self.spec
        if s.get("bind"):
            self.rt.bound[s["bind"]] = None if not args else args[0] if len(args) == 1 else list(args)
        for st in s.get("steps") or []:
            st = dict(st)
            for part in ("args", "with"):
                if isinstance(st.get(part), list):
                    st[part] = [resolve(self.rt, a) for a in st[part]]
                elif isinstance(st.get(part), dict):
                    st[part] = {k: resolve(self.rt, a) for k, a in st[part].items()}
            if st.get("op") == "goroutines.start":
                # goroutines started here inherit the labels the calling goroutine has now
                n = int(st.get("with", {}).get("n", 1))
                _pp(self.rt).spawned_labels += [dict(_pp(self.rt).goroutine_labels)] * n
            self.rt.step(st)
        if "panic" in s:
            v = s["panic"]
            raise PanicError(str(v), "string" if isinstance(v, str) else "int" if isinstance(v, int) else "error")
        if s.get("stop_after") and self.calls >= int(s["stop_after"]):
            return False
        return bool(s.get("return", True))


# --- runtime/pprof ------------------------------------------------------------------------


@step("runtime/pprof.Lookup")
def pprof_lookup(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> Any:
    name = str(args[0])
    if name in _predefined(rt) or name in _pp(rt).custom:
        return {"handle": f"profile:{name}", "type": "*pprof.Profile"}
    return None


@step("runtime/pprof.NewProfile")
def pprof_new_profile(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> Any:
    name, st = str(args[0]), _pp(rt)
    if name == "":
        raise PanicError("pprof: NewProfile with empty name", "string")
    if name in st.custom or name in _predefined(rt):
        raise PanicError(f"pprof: NewProfile name already in use: {name}", "string")
    st.custom[name] = []
    return {"handle": f"profile:{name}", "type": "*pprof.Profile"}


@step("runtime/pprof.Profiles")
def pprof_profiles(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[Any]:
    names = sorted(set(_predefined(rt)) | set(_pp(rt).custom))
    return [{"handle": f"profile:{n}", "type": "*pprof.Profile"} for n in names]


@step("runtime/pprof.Profile.Name")
def pprof_profile_name(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> str:
    return _profile(rt, args[0])


def _hashable(v: Any) -> bool:
    return not isinstance(v, (list, dict)) or _handle(v, "") is not None


@step("runtime/pprof.Profile.Add")
def pprof_profile_add(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    name, value = _profile(rt, args[0]), resolve(rt, args[1])
    st = _pp(rt)
    if name not in st.custom:
        raise PanicError("pprof: Add called on built-in Profile " + name, "string")
    if not _hashable(value):
        raise PanicError("runtime error: hash of unhashable type []interface {}", "runtime.hashError")
    if value in st.custom[name]:
        raise PanicError("pprof: Profile.Add of duplicate value", "string")
    st.custom[name].append(value)
    st.skips[(name, repr(value))] = int(resolve(rt, args[2]))


@step("runtime/pprof.Profile.Remove")
def pprof_profile_remove(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    name, value = _profile(rt, args[0]), resolve(rt, args[1])
    values = _pp(rt).custom.get(name)
    if values is None:
        # The documented promise (runtime/pprof.Profile#predefined-remove-panics); real Go returns
        # normally instead, which that clause records as a deviation.
        raise PanicError("pprof: Remove called on built-in Profile " + name, "string")
    if _hashable(value) and value in values:
        values.remove(value)


@step("runtime/pprof.Profile.Count")
def pprof_profile_count(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> int:
    name = _profile(rt, args[0])
    st = _pp(rt)
    if name in st.custom:
        return len(st.custom[name])
    if name == "goroutine":
        # one record per goroutine: ask the goroutine model (oracle/goroutines.py) how many there are
        return int(rt.step({"call": "runtime.NumGoroutine"}))
    raise Unsupported(f"the oracle does not model the record count of the {name} profile")


def _profile_bytes(rt: OracleRuntime, name: str, debug: int) -> bytes:
    st = _pp(rt)
    if debug <= 0:
        return gzip.compress(f"profile.proto:{name}".encode(), mtime=0)
    if name in st.custom:
        lines = [f"{name} profile: total {len(st.custom[name])}"]
        for v in st.custom[name]:
            # skip=0 starts in Add's caller (#skip-zero-starts-in-caller); a skip deeper than the stack
            # leaves the single placeholder frame (#skip-too-large).
            if st.skips.get((name, repr(v)), 0) > MODEL_STACK_DEPTH:
                lines += ["1 @ 0x1", "#\t0x1\truntime/pprof.lostProfileEvent+0x0\t/pprof/pprof.go:1", ""]
            else:
                lines += ["1 @ 0x1 0x2", "#\t0x1\tmain.(*runner).perform+0x1\t/driver/runner.go:1", ""]
        return ("\n".join(lines) + "\n").encode()
    if name == "goroutine" and debug >= 2:
        return b"goroutine 1 [running]:\nmain.main()\n\t/driver/main.go:1 +0x1\n"
    if name == "goroutine":
        entries = []
        for labels in [st.goroutine_labels, *st.spawned_labels]:
            line = "# labels: {" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}\n"
            entries.append(f"1 @ 0x1\n{line if labels else ''}#\t0x1\tmain.main+0x1\t/driver/main.go:1\n\n")
        return (f"goroutine profile: total {len(entries)}\n" + "".join(entries)).encode()
    if name in ("heap", "allocs"):
        return b"heap profile: 0: 0 [0: 0] @ heap/1048576\n\n# runtime.MemStats\n"
    if name == "threadcreate":
        return b"threadcreate profile: total 1\n"
    return f"--- contention:\ncycles/second=1000000000\n# {name}\n".encode()


@step("runtime/pprof.Profile.WriteTo")
def pprof_profile_write_to(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    name = _profile(rt, args[0])
    _write(rt, args[1], _profile_bytes(rt, name, int(args[2])))


@step("op:profile.write")
def op_profile_write(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    name = str(w.get("profile"))
    if pprof_lookup(rt, [name], {}) is None:
        raise StepError(f"unknown profile {name!r}")
    (rt.workdir / str(w["file"])).write_bytes(_profile_bytes(rt, name, int(w.get("debug", 0))))


@step("runtime/pprof.WriteHeapProfile")
def pprof_write_heap_profile(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _write(rt, args[0], _profile_bytes(rt, "heap", 0))


@step("runtime/pprof.StartCPUProfile")
def pprof_start_cpu(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    st = _pp(rt)
    if st.cpu_file is not None:
        raise StepError("cpu profiling already in use")
    w = resolve(rt, args[0])
    _touch(rt, w)
    st.cpu_file = w if isinstance(w, str) else ""


@step("runtime/pprof.StopCPUProfile")
def pprof_stop_cpu(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    st = _pp(rt)
    if st.cpu_file is None:
        return
    if st.cpu_file:  # the whole profile is written at Stop (#written-at-stop)
        _write(rt, st.cpu_file, gzip.compress(b"profile.proto:cpu samples/count cpu/nanoseconds", mtime=0))
    st.cpu_file = None


@step("runtime/pprof.Labels")
def pprof_labels(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> dict[str, str]:
    st = _pp(rt)
    st.labelsets.append(_labels_from_pairs([str(resolve(rt, a)) for a in args]))
    return {"handle": f"labels:{len(st.labelsets) - 1}", "type": "pprof.LabelSet"}


@step("runtime/pprof.WithLabels")
def pprof_with_labels(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> dict[str, str]:
    ctx = _ctx(rt, args[0])
    return _new_ctx(rt, {**ctx["labels"], **_labelset(rt, args[1])}, ctx["task"])


@step("runtime/pprof.Label")
def pprof_label(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> list[Any]:
    labels = _ctx(rt, args[0])["labels"]
    key = str(resolve(rt, args[1]))
    return [labels[key], True] if key in labels else ["", False]


@step("runtime/pprof.ForLabels")
def pprof_for_labels(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    labels = _ctx(rt, args[0])["labels"]
    cb = Callback(rt, resolve(rt, args[1]))
    for k, v in sorted(labels.items()):  # ascending key order (#sorted-by-key, 1.24+; any order before)
        if not cb.fire(k, v):
            return


@step("runtime/pprof.Do")
def pprof_do(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    ctx = _ctx(rt, args[0])
    inner = _new_ctx(rt, {**ctx["labels"], **_labelset(rt, args[1])}, ctx["task"])
    st = _pp(rt)
    saved = st.goroutine_labels
    st.goroutine_labels = dict(_ctx(rt, inner)["labels"])
    try:
        Callback(rt, resolve(rt, args[2])).fire(inner)
    finally:
        st.goroutine_labels = saved  # restored after f, even when f panics


@step("runtime/pprof.SetGoroutineLabels")
def pprof_set_goroutine_labels(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _pp(rt).goroutine_labels = dict(_ctx(rt, args[0])["labels"])


# --- runtime/trace ------------------------------------------------------------------------


def _trace_header(rt: OracleRuntime) -> bytes:
    """The 16-byte header "go 1.N trace" padded with NULs (N: the trace format version)."""
    return f"go 1.{rt.release.minor} trace".encode().ljust(16, b"\0")


def _event(rt: OracleRuntime, *parts: str) -> None:
    tr = _tr(rt)
    if tr.enabled():
        tr.events.append("\0".join(parts))


@step("runtime/trace.IsEnabled")
def trace_is_enabled(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> bool:
    return _tr(rt).enabled()


@step("runtime/trace.Start")
def trace_start(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    tr = _tr(rt)
    if tr.file is not None:
        raise StepError("tracing is already enabled")
    w = resolve(rt, args[0])
    _touch(rt, w)
    tr.file = w if isinstance(w, str) else ""
    tr.events = []


@step("runtime/trace.Stop")
def trace_stop(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    tr = _tr(rt)
    if tr.file is None:
        return
    if tr.file:
        _write(rt, tr.file, _trace_header(rt) + "".join(e + "\0" for e in tr.events).encode())
    tr.file = None


@step("runtime/trace.Log")
def trace_log(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _ctx(rt, args[0])
    _event(rt, "log", str(resolve(rt, args[1])), str(resolve(rt, args[2])))


@step("runtime/trace.Logf")
def trace_logf(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _ctx(rt, args[0])
    if any(isinstance(resolve(rt, a), dict) for a in args[3:]):
        raise Unsupported("the oracle does not format stringer arguments")
    if not _tr(rt).enabled():
        return
    fmt = str(resolve(rt, args[2]))
    vals = [resolve(rt, a) for a in args[3:]]
    msg = re.sub(r"%[vsdq]", lambda m: str(vals.pop(0)) if vals else m.group(0), fmt)
    _event(rt, "log", str(resolve(rt, args[1])), msg)


@step("runtime/trace.NewTask")
def trace_new_task(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> list[Any]:
    ctx, tr = _ctx(rt, args[0]), _tr(rt)
    tr.tasks += 1
    _event(rt, "task", str(resolve(rt, args[1])))
    return [_new_ctx(rt, ctx["labels"], tr.tasks), {"handle": f"task:{tr.tasks}", "type": "*trace.Task"}]


@step("runtime/trace.Task.End")
def trace_task_end(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    if _handle(resolve(rt, args[0]), "task:") is None:
        raise Unsupported("bad arguments: the receiver must be a *trace.Task handle")


@step("runtime/trace.StartRegion")
def trace_start_region(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> dict[str, str]:
    _ctx(rt, args[0])
    _event(rt, "region", str(resolve(rt, args[1])))
    return {"handle": f"region:{resolve(rt, args[1])}", "type": "*trace.Region"}


@step("runtime/trace.Region.End")
def trace_region_end(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    if _handle(resolve(rt, args[0]), "region:") is None:
        raise Unsupported("bad arguments: the receiver must be a *trace.Region handle")


@step("runtime/trace.WithRegion")
def trace_with_region(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _ctx(rt, args[0])
    _event(rt, "region", str(resolve(rt, args[1])))
    Callback(rt, resolve(rt, args[2])).fire()


def _recorder(rt: OracleRuntime, v: Any) -> dict[str, Any]:
    i = _handle(resolve(rt, v), "fr:")
    if i is None:
        raise Unsupported("bad arguments: the receiver must be a *trace.FlightRecorder handle")
    return _tr(rt).recorders[int(i)]


@step("runtime/trace.NewFlightRecorder")
def trace_new_flight_recorder(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> dict[str, str]:
    tr = _tr(rt)
    tr.recorders.append({"enabled": False, "config": resolve(rt, args[0]) if args else None})
    return {"handle": f"fr:{len(tr.recorders) - 1}", "type": "*trace.FlightRecorder"}


@step("runtime/trace.FlightRecorder.Enabled")
def trace_fr_enabled(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> bool:
    return bool(_recorder(rt, args[0])["enabled"])


@step("runtime/trace.FlightRecorder.Start")
def trace_fr_start(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    fr = _recorder(rt, args[0])
    if _tr(rt).recorder_active():
        raise StepError("flight recorder already enabled")
    fr["enabled"] = True


@step("runtime/trace.FlightRecorder.Stop")
def trace_fr_stop(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _recorder(rt, args[0])["enabled"] = False


@step("runtime/trace.FlightRecorder.WriteTo")
def trace_fr_write_to(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> list[Any]:
    fr = _recorder(rt, args[0])
    if not fr["enabled"]:
        raise StepError("flight recorder is not enabled")
    data = _trace_header(rt) + "".join(e + "\0" for e in _tr(rt).events).encode()
    _write(rt, args[1], data)
    return [len(data), None]


godebugmodel.register_build_info_steps()
