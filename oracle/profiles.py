"""runtime/pprof (runtime/trace and the runtime's trace API are in oracle/traces.py).

The model keeps, per run, the registered profiles (predefined ones and those of
NewProfile with the values added to them), label sets and contexts (labels and
the task they carry), CPU-profile state and the allocations of the
pprof.marked.* ops, whose heap-profile records it derives from the GC count. Handles follow PROTOCOL.md ({"handle", "type"}); the driver's
argument conventions (harness/driver/README.md) are read the same way: writers
are file names relative to the working directory, callbacks are objects with
`bind`, `steps`, `panic`, `return` and `stop_after`.

The files the model writes are stand-ins with the observable shape the spec
promises (a gzip stream for debug=0 and CPU profiles, the legacy text header for
debug=1); they are not meant for go tool pprof. The pprof.* record ops report
record counts and stack shapes (ops_pprof_records.go), never bytes.
"""

from __future__ import annotations

import contextlib
import gzip
import re
from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import driversrc
from rthooks.oracle.casefiles import MAX_WRITE_BYTES
from rthooks.oracle.registry import step
from rthooks.oracle.releases import spec_removed
from rthooks.oracle.state import OracleRuntime, PanicError, StepError, Unsupported, resolve
from rthooks.spec.load import default_spec

MODEL_STACK_DEPTH = 64  # frames below a Profile.Add call in the modelled driver

# The frames the legacy (debug=1) text formats print, at the driver functions' declarations (the
# model does not place calls inside them); file paths as a -trimpath build records them.
PERFORM_DECL = driversrc.func("main.(*runner).perform")
MAIN_DECL = driversrc.func("main.main")
PERFORM_FRAME = f"main.(*runner).perform+0x1\t/driver/{PERFORM_DECL.file}:{PERFORM_DECL.line}"
MAIN_FRAME = f"main.main+0x1\t/driver/{MAIN_DECL.file}:{MAIN_DECL.line}"


def _predefined(rt: OracleRuntime) -> list[str]:
    """The predefined profiles: the Profile doc's list, from the spec's Lookup clauses and deviations."""
    names = ["allocs", "block", "goroutine", "heap", "mutex", "threadcreate"]
    # goroutineleak: listed from 1.26 but registered unconditionally only once it is no longer an
    # experiment (runtime/pprof.Lookup#goroutineleak deviation; #goroutineleak-experiment-only).
    experiment_until = spec_removed("runtime/pprof.Lookup#goroutineleak-experiment-only")
    if experiment_until is not None and rt.release >= experiment_until:
        names.append("goroutineleak")
    return sorted(names)


@dataclass
class PprofState:
    custom: dict[str, list[Any]] = field(default_factory=dict)  # name -> values added, in order
    labelsets: list[dict[str, str]] = field(default_factory=list)
    contexts: list[dict[str, Any]] = field(default_factory=list)  # {"labels": {...}, "task": id | None}
    cpu_file: str | None = None
    # The label sets the calling goroutine held while the CPU profile ran (at Start and at each change):
    # the model's CPU samples carry those labels (runtime/pprof.Do#goroutine-labels-during-f).
    cpu_labels: list[dict[str, str]] = field(default_factory=list)
    goroutine_labels: dict[str, str] = field(default_factory=dict)
    # Goroutines started inside callbacks: (their labels, how many), so a count costs no memory.
    spawned_labels: list[tuple[dict[str, str], int]] = field(default_factory=list)
    skips: dict[tuple[str, str], int] = field(default_factory=dict)  # (profile, value) -> Add's skip
    marked: dict[str, dict[str, Any]] = field(default_factory=dict)  # pprof.marked.alloc name -> allocation
    protos: dict[str, dict[str, Any]] = field(default_factory=dict)  # gzip protobuf file -> pprof.proto.summary
    memprofilerate: int | None = None  # set by op pprof.memprofilerate


def _pp(rt: OracleRuntime) -> PprofState:
    return rt.area("pprof", PprofState)  # type: ignore[no-any-return]


def _set_goroutine_labels(rt: OracleRuntime, labels: dict[str, str]) -> None:
    """Give the calling goroutine ``labels``; while a CPU profile runs its samples may carry them."""
    st = _pp(rt)
    st.goroutine_labels = dict(labels)
    if st.cpu_file is not None:
        st.cpu_labels.append(dict(labels))


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
        rt.append_file(w, data)
    elif isinstance(w, dict) and "fail" in w:
        raise StepError(str(w["fail"]))
    elif not (w is None or (isinstance(w, dict) and w.get("discard"))):
        raise Unsupported('bad arguments: want a file name, {"fail": text}, {"discard": true} or null')


def _touch(rt: OracleRuntime, w: Any) -> None:
    _write(rt, w, b"")


def create_file_arg(rt: OracleRuntime, w: Any) -> None:
    """Create a file writer argument, empty, as the driver does while decoding the arguments.

    harness/driver/writers.go (argList.writer) calls createFile for a file name or {"file": name} before the
    function under test runs, so the file exists even when the call then fails (a second StartCPUProfile or
    trace.Start). Other writers are left to the call.
    """
    w = resolve(rt, w)
    if isinstance(w, dict) and isinstance(w.get("file"), str):
        w = w["file"]
    if isinstance(w, str):
        rt.append_file(w, b"")


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
                if n > 0:
                    _pp(self.rt).spawned_labels.append((dict(_pp(self.rt).goroutine_labels), n))
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
        # printCountProfile (runtime/pprof/pprof.go) prints one record per distinct stack with the number of
        # values added with it ("2 @ ..." for two Adds from one call site), most frequent first, then by the
        # stack's text. skip=0 starts in Add's caller (#skip-zero-starts-in-caller); a skip deeper than the
        # stack leaves the single placeholder frame (#skip-too-large); each other skip drops frames, so
        # another stack.
        counts: dict[tuple[str, ...], int] = {}
        for v in st.custom[name]:
            skip = st.skips.get((name, repr(v)), 0)
            if skip > MODEL_STACK_DEPTH:
                rec: tuple[str, ...] = ("@ 0x1", "#\t0x1\truntime/pprof.lostProfileEvent+0x0\t/pprof/pprof.go:1")
            else:
                rec = (f"@ 0x{skip + 2:x} 0x{skip + 3:x}", f"#\t0x{skip + 2:x}\t{PERFORM_FRAME}")
            counts[rec] = counts.get(rec, 0) + 1
        lines = [f"{name} profile: total {len(st.custom[name])}"]
        for rec, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0])):
            lines += [f"{n} {rec[0]}", *rec[1:], ""]
        return ("\n".join(lines) + "\n").encode()
    if name == "goroutine" and debug >= 2:
        return f"goroutine 1 [running]:\nmain.main()\n\t/driver/{MAIN_DECL.file}:{MAIN_DECL.line} +0x1\n".encode()
    if name == "goroutine":
        entries = []
        for labels, n in [(st.goroutine_labels, 1), *st.spawned_labels]:
            line = "# labels: {" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}\n"
            entries.append((f"1 @ 0x1\n{line if labels else ''}#\t0x1\t{MAIN_FRAME}\n\n", n))
        size = sum(len(e) * n for e, n in entries)
        if size > MAX_WRITE_BYTES:  # a profile the oracle could not write anyway (oracle/casefiles.py)
            raise Unsupported(f"the oracle builds goroutine profiles of at most {MAX_WRITE_BYTES} bytes")
        total = sum(n for _, n in entries)
        return (f"goroutine profile: total {total}\n" + "".join(e * n for e, n in entries)).encode()
    if name in ("heap", "allocs"):
        return b"heap profile: 0: 0 [0: 0] @ heap/1048576\n\n# runtime.MemStats\n"
    if name == "threadcreate":
        return b"threadcreate profile: total 1\n"
    return f"--- contention:\ncycles/second=1000000000\n# {name}\n".encode()


@step("runtime/pprof.Profile.WriteTo")
def pprof_profile_write_to(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    name = _profile(rt, args[0])
    _write(rt, args[1], _profile_bytes(rt, name, int(args[2])))
    if int(args[2]) <= 0:
        _record_proto(rt, args[1], name)


@step("op:profile.write")
def op_profile_write(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    name = str(w.get("profile"))
    if pprof_lookup(rt, [name], {}) is None:
        raise StepError(f"unknown profile {name!r}")
    rt.write_file(str(w["file"]), _profile_bytes(rt, name, int(w.get("debug", 0))))
    if int(w.get("debug", 0)) <= 0:
        _record_proto(rt, str(w["file"]), name)


@step("runtime/pprof.WriteHeapProfile")
def pprof_write_heap_profile(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _write(rt, args[0], _profile_bytes(rt, "heap", 0))
    _record_proto(rt, args[0], "heap")


@step("runtime/pprof.StartCPUProfile")
def pprof_start_cpu(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    st = _pp(rt)
    create_file_arg(rt, args[0])
    if st.cpu_file is not None:
        raise StepError("cpu profiling already in use")
    w = resolve(rt, args[0])
    _touch(rt, w)
    st.cpu_file = w if isinstance(w, str) else ""
    st.cpu_labels = [dict(st.goroutine_labels)]


@step("runtime/pprof.StopCPUProfile")
def pprof_stop_cpu(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    st = _pp(rt)
    if st.cpu_file is None:
        return
    if st.cpu_file:  # the whole profile is written at Stop (#written-at-stop)
        _write(rt, st.cpu_file, gzip.compress(b"profile.proto:cpu samples/count cpu/nanoseconds", mtime=0))
        _record_proto(rt, st.cpu_file, "cpu")
    st.cpu_file = None
    st.cpu_labels = []


@step("op:file.size")
def op_file_size(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    """The size of a file of the working directory when the step runs: the model writes a CPU profile
    only at StopCPUProfile (#written-at-stop), so while it runs the file StartCPUProfile created is empty."""
    path = str(resolve(rt, w.get("file")))
    if path.startswith("/") or ".." in path.split("/"):  # as the driver's opFileSize (ops_files.go)
        raise Unsupported(f"bad arguments: op file.size: {path!r} is not a file name in the working directory")
    return rt.files.size(path)


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
    _set_goroutine_labels(rt, _ctx(rt, inner)["labels"])
    try:
        Callback(rt, resolve(rt, args[2])).fire(inner)
    finally:
        # defer SetGoroutineLabels(ctx): after f (even when f panics) the goroutine carries ctx's
        # labels, not whatever it carried before Do (#restored-after-f)
        _set_goroutine_labels(rt, ctx["labels"])


@step("runtime/pprof.SetGoroutineLabels")
def pprof_set_goroutine_labels(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> None:
    _set_goroutine_labels(rt, _ctx(rt, args[0])["labels"])


# --- profile records (ops_pprof_records.go): counts and stack shapes, not bytes ----------

# Frames below the marked allocation site in the driver (opMarkedAlloc .. runtime.main).
MARKED_BASE_FRAMES = 11


def _gcs(rt: OracleRuntime) -> int:
    return rt.gc_forced + rt.gc_automatic


def _clause_text(clause_id: str) -> str:
    _, clause = default_spec().clauses()[clause_id]
    return str(clause["text"])


def _clause_int(clause_id: str, pattern: str) -> int:
    m = re.search(pattern, _clause_text(clause_id))
    if m is None:
        raise RuntimeError(f"{clause_id}: no match for {pattern!r}")
    return int(m.group(1))


def _stack_limit(rt: OracleRuntime) -> int:
    """Frames a heap/block/mutex profile record keeps: GODEBUG profstackdepth (1.23+, clamped), else
    the 32 of MemProfileRecord.Stack0."""
    v = rt.env_godebug("profstackdepth")
    if v is None:
        return 32
    cap = _clause_int("godebug:profstackdepth#clamped-1024", r"above (\d+)")
    try:
        return min(int(v), cap)
    except ValueError:
        return _clause_int("godebug:profstackdepth#default-128", r"at most (\d+) frames")


@step("op:pprof.marked.alloc")
def op_marked_alloc(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """n objects from one allocation site, each profiled (MemProfileRate is 1 while they are made)."""
    _pp(rt).marked[str(w["name"])] = {
        "n": int(w.get("n", 10)),
        "bytes": int(w.get("bytes", 4096)),
        "depth": int(w.get("depth", 0)),
        "at": _gcs(rt),
        "dropped": None,
    }


@step("op:pprof.memprofilerate")
def op_memprofilerate(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    st = _pp(rt)
    prev = st.memprofilerate
    if prev is None:
        prev = 512 * 1024
        for kv in (rt.env.get("GODEBUG") or "").split(","):
            k, _, v = kv.partition("=")
            if k == "memprofilerate" and v.isdigit():
                prev = int(v)
    st.memprofilerate = int(w.get("rate", 1))
    return prev


@step("op:pprof.marked.drop")
def op_marked_drop(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    m = _pp(rt).marked.get(str(w["name"]))
    if m is not None and m["dropped"] is None:
        m["dropped"] = _gcs(rt)


def _marked_totals(rt: OracleRuntime) -> dict[str, int]:
    """The heap profile as of the last completed GC (#heap-as-of-last-gc): an allocation counts once a
    GC has completed after it, a free once a GC has completed after the object was dropped; before any
    GC at all, every allocation counts (#heap-before-any-gc). allocs holds the same data."""
    now = _gcs(rt)
    out = {"inuse_objects": 0, "inuse_bytes": 0, "alloc_objects": 0, "alloc_bytes": 0}
    for m in _pp(rt).marked.values():
        if now and m["at"] >= now:
            continue
        out["alloc_objects"] += m["n"]
        out["alloc_bytes"] += m["n"] * m["bytes"]
        if m["dropped"] is None or m["dropped"] >= now:
            out["inuse_objects"] += m["n"]
            out["inuse_bytes"] += m["n"] * m["bytes"]
    return out


@step("op:pprof.marked.records")
def op_marked_records(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    if str(w.get("profile", "heap")) not in ("heap", "allocs"):
        raise Unsupported("pprof.marked.records reads the heap or allocs profile")
    marked = _pp(rt).marked.values()
    depths = [min(m["depth"] + MARKED_BASE_FRAMES, _stack_limit(rt)) for m in marked]
    return {"records": len({m["depth"] for m in marked}), **_marked_totals(rt), "max_depth": max(depths, default=0)}


def _sample_labels(sets: list[dict[str, str]]) -> dict[str, Any]:
    """``labels`` and ``labelled_samples`` of a summary whose samples carry these label sets (one sample
    each): every key with its distinct values, sorted, and how many samples carry any label."""
    values: dict[str, set[str]] = {}
    for labels in sets:
        for k, v in labels.items():
            values.setdefault(k, set()).add(v)
    return {
        "labels": {k: sorted(vs) for k, vs in sorted(values.items())},
        "labelled_samples": sum(1 for labels in sets if labels),
    }


def _proto_summary(rt: OracleRuntime, name: str, cpu_labels: list[dict[str, str]] | None = None) -> dict[str, Any]:
    if name == "cpu":
        # Five samples under each label set the goroutine held while profiling (an empty set: unlabelled work).
        sets = [labels for labels in cpu_labels or [{}] for _ in range(5)]
        return {
            "sample_types": ["samples/count", "cpu/nanoseconds"],
            "default_sample_type": None,
            "period_type": "cpu/nanoseconds",
            "period": 1_000_000_000 // _clause_int("runtime/pprof.StartCPUProfile#rate-100hz", r"fixed at (\d+) Hz"),
            "samples": len(sets),
            "max_depth": 20,
            "marked": {"samples": 0, "cpu": 0},
            **_sample_labels(sets),
        }
    if name == "goroutine":
        # One sample per distinct stack and label set: the calling goroutine's and those started inside
        # callbacks (runtime/pprof.Labels#cpu-and-goroutine-only: debug=0 sample labels).
        st = _pp(rt)
        sets = [st.goroutine_labels, *(labels for labels, _ in st.spawned_labels)]
        return {
            "sample_types": ["goroutine/count"],
            "default_sample_type": None,
            "period_type": "goroutine/count",
            "period": 1,
            "samples": len(sets),
            "max_depth": 20,
            "marked": {"goroutine": 0},
            **_sample_labels(sets),
        }
    if name in ("heap", "allocs"):
        rate = 512 * 1024
        for kv in (rt.env.get("GODEBUG") or "").split(","):
            k, _, v = kv.partition("=")
            if k == "memprofilerate" and v.isdigit():
                rate = int(v)
        rate = _pp(rt).memprofilerate or rate
        t = _marked_totals(rt)
        return {
            "sample_types": ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"],
            "default_sample_type": "alloc_space" if name == "allocs" else None,
            "period_type": "space/bytes",
            "period": rate,
            "samples": 100,
            "max_depth": _stack_limit(rt),
            "marked": {
                "alloc_objects": t["alloc_objects"],
                "alloc_space": t["alloc_bytes"],
                "inuse_objects": t["inuse_objects"],
                "inuse_space": t["inuse_bytes"],
            },
            **_sample_labels([]),  # no labels in heap profiles (runtime/pprof.Labels#cpu-and-goroutine-only)
        }
    raise Unsupported(f"the oracle does not model the protobuf of the {name} profile")


def _record_proto(rt: OracleRuntime, w: Any, name: str) -> None:
    w = resolve(rt, w)
    if isinstance(w, dict) and "file" in w:
        w = w["file"]
    if isinstance(w, str):
        with contextlib.suppress(Unsupported):
            _pp(rt).protos[w] = _proto_summary(rt, name, _pp(rt).cpu_labels if name == "cpu" else None)


@step("op:pprof.proto.summary")
def op_proto_summary(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    s = _pp(rt).protos.get(str(w.get("file")))
    if s is None:
        raise Unsupported(f"the oracle has no protobuf profile record for {w.get('file')!r}")
    return s


@step("op:pprof.cpu.deep")
def op_cpu_deep(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """A CPU profile of work below `depth` frames: the CPU profiler ignores profstackdepth."""
    s = _proto_summary(rt, "cpu")
    s["max_depth"] = min(int(w.get("depth", 0)) + 12, 64)
    return s


@step("op:pprof.custom.stacks")
def op_custom_stacks(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """Each Add records its caller's stack minus `skip` leading frames (#skip-drops-frames); skip=0
    starts in the function calling Add (#skip-zero-starts-in-caller)."""
    name = str(w.get("profile"))
    st = _pp(rt)
    if name not in st.custom:
        raise StepError(f"unknown profile {name!r}")
    base = ["main.dispatchAdd", "main.(*runner).performCall", "main.(*runner).perform", "main.main", "runtime.main"]
    stacks = {tuple(base[min(st.skips.get((name, repr(v)), 0), len(base)) :]) for v in st.custom[name]}
    ordered = sorted(stacks, key=len, reverse=True)
    drop_first = len(ordered) == 2 and ordered[1] == ordered[0][1:]
    return {"records": len(ordered), "stacks": [list(s) for s in ordered], "drop_first": drop_first}


@step("op:pprof.keepalive.probe")
def op_keepalive_probe(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    """A value added to a profile stays reachable until Remove (Profile.Add#value-kept-alive)."""
    return {"finalized_while_added": False, "finalized_after_remove": True}


@step("op:pprof.concurrent")
def op_pprof_concurrent(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """Each goroutine adds `iterations` keys and removes every second one; methods are safe to call
    concurrently (Profile#concurrent-use)."""
    gs, iters = int(w.get("goroutines", 8)), int(w.get("iterations", 200))
    return {"panics": 0, "count": gs * (iters - iters // 2)}


@step("op:pprof.zero")
def op_pprof_zero(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    text = _clause_text("runtime/pprof.Profile#zero-value-unusable")
    add = re.search(r'Add panics \("([^"]+)"\)', text)
    wt = re.search(r'WriteTo panics \("([^"]+)"\)', text)
    return {"add": add and add.group(1), "writeto": wt and wt.group(1), "count_panic": None, "count": 0}


@step("op:pprof.cpurate.read")
def op_cpurate_read(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """The rate SetCPUProfileRate gives the profiler (#clamped), and whether a second call with hz <= 0
    turned it off (#nonpositive-off)."""
    cap = _clause_int("runtime.SetCPUProfileRate#clamped", r"clamped to (\d+)")
    hz, off = int(w.get("hz", 100)), int(w.get("off", 0))
    return {"hz": min(hz, cap), "ended": off <= 0}


@step("op:pprof.runtime-lock-contention")
def op_runtime_lock_contention(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    """Contention on a runtime-internal lock in the mutex profile: with runtimecontentionstacks unset or 0
    the single frame runtime._LostContendedRuntimeLock, with 1 the stack of the unlock call."""
    v = rt.env_godebug("runtimecontentionstacks")
    if v is None:
        raise Unsupported(f"the oracle does not model runtime lock contention records in go{rt.release}")
    if v not in ("", "0"):
        frames = ["runtime.unlock", "runtime.selunlock", "runtime.selectgo", "main.opRuntimeLockContention.func1"]
        return {"lost_frame": False, "runtime_stacks": True, "runtime_frames": frames}
    return {"lost_frame": True, "runtime_stacks": False, "runtime_frames": None}
