"""Heap objects and their finalizers and cleanups: alloc, drop, SetFinalizer, AddCleanup, KeepAlive, ran.

Reachability is modelled per named object: ``drop`` makes it unreachable at the current GC count.
A finalizer runs at the first collection after that (resurrecting the object without a
finalizer); cleanups run once the object is unreachable with no finalizer attached, so one
collection after its finalizer ran (or at the first one if it had none). Cleanups never
resurrect anything. Nothing runs at exit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle.registry import step
from rthooks.oracle.state import Exited, OracleRuntime, PanicError, Unsupported


@dataclass
class Obj:
    dropped_at: int | None = None  # GC count when it became unreachable
    finalizer: str | None = None
    cleanups: list[dict[str, Any]] = field(default_factory=list)
    is_global: bool = False


@dataclass
class Heap:
    objects: dict[str, Obj] = field(default_factory=dict)
    cleanups: dict[str, dict[str, Any]] = field(default_factory=dict)  # handle -> cleanup record
    leaked_at: int | None = None  # GC count when a Pinner with pinned objects became unreachable


def heap(rt: OracleRuntime) -> Heap:
    h: Heap = rt.area("heap", Heap)
    return h


def gcs(rt: OracleRuntime) -> int:
    return rt.gc_forced + rt.gc_automatic


def _name(v: Any) -> str:
    if isinstance(v, str):
        return v[1:] if v.startswith("$") else v
    raise Unsupported(f"bad arguments: expected an object name, got {v!r}")


def _obj(rt: OracleRuntime, v: Any) -> Obj:
    name = _name(v)
    o = heap(rt).objects.get(name)
    if o is None:
        raise Unsupported(f"bad arguments: no object named {name!r}")
    return o


def _tag(cb: Any, default: str) -> str:
    if isinstance(cb, dict):
        return str(cb.get("tag", default))
    return default


@step("op:alloc")
def alloc(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    heap(rt).objects[str(w["name"])] = Obj()


@step("op:drop")
def drop(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    from rthooks.oracle import callers

    pinned = callers.misc(rt).pinned
    if str(w["name"]) in pinned:  # a Pinner, kept like an object
        if pinned.pop(str(w["name"])):
            heap(rt).leaked_at = gcs(rt)
        return
    o = _obj(rt, w["name"])
    o.dropped_at = gcs(rt)


@step("op:keepalive")
def keepalive_op(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    _obj(rt, w["name"])


@step("runtime.KeepAlive")
def keepalive(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    """KeepAlive only counts its argument as reachable at the call."""


def _fatal(rt: OracleRuntime, message: str) -> None:
    from rthooks.oracle import proc

    proc.throw(rt, f"fatal error: {message}\n")


def _set_finalizer(rt: OracleRuntime, o: Obj, tag: str | None) -> None:
    if tag is not None and o.finalizer is not None:
        _fatal(rt, "runtime.SetFinalizer: finalizer already set")
    o.finalizer = tag


@step("op:finalizer")
def finalizer_op(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    _set_finalizer(rt, _obj(rt, w["name"]), str(w.get("tag", w["name"])))


@step("runtime.SetFinalizer")
def set_finalizer(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    obj = args[0]
    if isinstance(obj, dict) and obj.get("global"):
        return None  # a package-level variable: silently ignored, the finalizer never runs
    if isinstance(obj, bool | int | float) or obj is None:
        kind = (
            "nil" if obj is None else "bool" if isinstance(obj, bool) else "int" if isinstance(obj, int) else "float64"
        )
        _fatal(rt, f"runtime.SetFinalizer: first argument is {kind}, not pointer")
    _set_finalizer(rt, _obj(rt, obj), None if args[1] is None else _tag(args[1], _name(obj)))
    return None


def _add_cleanup(rt: OracleRuntime, o: Obj | None, tag: str) -> dict[str, str]:
    h = heap(rt)
    handle = f"cleanup{len(h.cleanups)}"
    rec = {"tag": tag, "stopped": False, "global": o is None}
    h.cleanups[handle] = rec
    if o is not None:
        o.cleanups.append(rec)
    return {"handle": handle, "type": "runtime.Cleanup"}


@step("op:cleanup")
def cleanup_op(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, str]:
    if rt.release < GoVersion.parse("1.24"):
        raise Unsupported("op cleanup needs Go 1.24")
    return _add_cleanup(rt, _obj(rt, w["name"]), str(w.get("tag", w["name"])))


@step("runtime.AddCleanup")
def add_cleanup(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> dict[str, str]:
    ptr = args[0]
    if ptr is None:
        raise PanicError("runtime.AddCleanup: ptr is nil", "string")
    if isinstance(ptr, dict) and ptr.get("global"):
        return _add_cleanup(rt, None, _tag(args[1], "global"))  # a no-op Cleanup
    if isinstance(ptr, str) and args[2] == ptr:
        raise PanicError("runtime.AddCleanup: ptr is equal to arg, cleanup will never run", "string")
    cb = args[1] if isinstance(args[1], dict) else {}
    captures = isinstance(ptr, str) and cb.get("capture") == ptr
    if captures and rt.release >= GoVersion.parse("1.26"):
        raise PanicError("runtime.AddCleanup: cleanup function closes over ptr, cleanup will never run", "string")
    handle = _add_cleanup(rt, _obj(rt, ptr), _tag(args[1], _name(ptr)))
    if captures:  # the closure keeps *ptr reachable: it is never collected
        heap(rt).cleanups[handle["handle"]]["stopped"] = True
    return handle


@step("runtime.Cleanup.Stop")
def cleanup_stop(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    ref = args[0]
    handle = ref.get("handle") if isinstance(ref, dict) else ref
    rec = heap(rt).cleanups.get(str(handle))
    if rec is None:
        if ref is None:
            return  # the zero Cleanup
        raise Unsupported(f"bad arguments: unknown cleanup {ref!r}")
    rec["stopped"] = True


def _events(rt: OracleRuntime) -> list[tuple[int, int, str]]:
    now = gcs(rt)
    out: list[tuple[int, int, str]] = []
    for o in heap(rt).objects.values():
        if o.dropped_at is None:
            continue
        at = o.dropped_at + 1  # the first collection after the object became unreachable
        if o.finalizer is not None:
            if at <= now:
                out.append((at, 0, o.finalizer))
            at += 1  # resurrected once; collected at the following cycle
        for c in o.cleanups:
            if not c["stopped"] and at <= now:
                out.append((at, 1, c["tag"]))
    return out


LEAK = "panic: runtime error: runtime.Pinner: found leaking pinned pointer; forgot to call Unpin()?\n"


@step("op:ran")
def ran(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[str]:
    h = heap(rt)
    if h.leaked_at is not None and gcs(rt) > h.leaked_at:
        # The Pinner's own finalizer panics on the finalizer goroutine, which ends the process.
        raise Exited(2, LEAK + "\ngoroutine 18 [running]:\nruntime.runFinalizers()\n\truntime/mfinal.go:272 +0x3f7\n")
    return [tag for _, _, tag in sorted(_events(rt), key=lambda e: (e[0], e[1]))]
