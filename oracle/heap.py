"""Heap objects and their finalizers and cleanups: alloc, drop, links, SetFinalizer, AddCleanup, KeepAlive, ran.

Collections are simulated one by one (lazily, before any step that looks at the heap), as the
runtime's mark phase decides them. The roots are the objects still held by name; marking follows
the links made by ``runtime.link``, and from every object with a finalizer it also marks what that
object points to (but not the object itself), so:

- an unreachable object with a finalizer has it queued (it runs at once in the model) and is
  resurrected for one more cycle without it; what it points to stays alive meanwhile, so in a
  chain A -> B only A's finalizer runs first (dependency order);
- an object with a finalizer in a cycle marks itself through the cycle and is never finalized;
- an unreachable object without a finalizer is freed and its cleanups are queued, cycles or not;
- a zero-sized object (``runtime.alloc.zero``) is not in the heap: its finalizer is ignored.

Finalizers run one at a time on one goroutine (runtime/mfinal.go runfinq): a gated one
(``runtime.finalizer.gate``) that has started holds the finalizers queued after it until
``runtime.finalizer.gate.open``. Cleanups run one at a time on one goroutine; a gated one
(``runtime.cleanup.gate``) holds the ones queued after it until ``runtime.gate.open``. (In go1.24 the
two share the finalizer goroutine, mheap.go queuefinalizer; the model keeps the two queues apart.) A
queued cleanup can no longer be stopped. Nothing runs at exit.

Sizes: ``alloc`` hands each object's size to the metrics model's allocator bookkeeping, and with a
GOGC or memory-limit goal in force an allocation that overshoots it runs an automatic collection
first, as the pacer would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import callers, metricsmodel, proc
from rthooks.oracle.registry import contributions, step
from rthooks.oracle.releases import spec_since
from rthooks.oracle.state import Exited, OracleRuntime, PanicError, Unsupported
from rthooks.protocol.refs import parse_ref

MAX_INT64 = (1 << 63) - 1


@dataclass
class Obj:
    dropped_at: int | None = None  # GC count when it became unreachable by name
    finalizer: str | None = None
    fin_gated: bool = False  # the finalizer is runtime.finalizer.gate's: it waits for the gate to open
    cleanups: list[dict[str, Any]] = field(default_factory=list)
    is_global: bool = False
    links: list[str] = field(default_factory=list)  # names of the objects it points to
    freed: bool = False
    zero: bool = False
    bytes: int = 64


@dataclass
class Heap:
    objects: dict[str, Obj] = field(default_factory=dict)
    cleanups: dict[str, dict[str, Any]] = field(default_factory=dict)  # handle -> cleanup record
    leaked_at: int | None = None  # GC count when a Pinner with pinned objects became unreachable
    simulated: int = 0  # collections already simulated
    log: list[tuple[int, int, str]] = field(default_factory=list)  # (cycle, 0 finalizer / 1 cleanup, tag)
    gate_open: bool = False
    gate_started: bool = False
    held: list[tuple[int, int, str]] = field(default_factory=list)  # cleanups waiting behind the gate
    fin_gate_open: bool = False
    fin_waiting: str | None = None  # the tag of the gated finalizer that has started and waits
    fin_held: list[tuple[int, str, bool]] = field(default_factory=list)  # (cycle, tag, gated) queued behind it
    anon: int = 0


def heap(rt: OracleRuntime) -> Heap:
    h: Heap = rt.area("heap", Heap)
    return h


def gcs(rt: OracleRuntime) -> int:
    return rt.gc_forced + rt.gc_automatic


def _name(v: Any) -> str:
    if isinstance(v, str):
        ref = parse_ref(v)
        return ref.name if ref is not None and not ref.path else v
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


def _run(h: Heap, cycle: int, kind: int, tag: str) -> None:
    if kind == 1 and h.gate_started and not h.gate_open:
        h.held.append((cycle, kind, tag))
        return
    h.log.append((cycle, kind, tag))


def _run_finalizer(h: Heap, cycle: int, tag: str, gated: bool) -> None:
    """The finalizer goroutine runs a queued finalizer, or queues it behind a gated one that waits; a
    gated one records ``tag:started`` and, while the gate is shut, waits there (holding the rest)."""
    if h.fin_waiting is not None:
        h.fin_held.append((cycle, tag, gated))
    elif not gated:
        h.log.append((cycle, 0, tag))
    else:
        h.log.append((cycle, 0, tag + ":started"))
        if h.fin_gate_open:
            h.log.append((cycle, 0, tag))
        else:
            h.fin_waiting = tag


def _collect_one(rt: OracleRuntime, h: Heap, cycle: int) -> None:
    objs = {n: o for n, o in h.objects.items() if not o.freed and not o.zero}
    marked: set[str] = set()
    stack = [n for n, o in objs.items() if o.dropped_at is None]
    stack += [t for o in objs.values() if o.finalizer is not None for t in o.links]

    while stack:
        n = stack.pop()
        if n in marked or n not in objs:
            continue
        marked.add(n)
        stack.extend(objs[n].links)
    queued_fin: list[tuple[str, bool]] = []
    for n, o in objs.items():
        if n in marked:
            continue
        if o.finalizer is not None:
            queued_fin.append((o.finalizer, o.fin_gated))
            o.finalizer, o.fin_gated = None, False  # resurrected once, without it
        else:
            o.freed = True
    for tag, gated in queued_fin:
        _run_finalizer(h, cycle, tag, gated)
    for o in objs.values():
        if o.freed:
            for c in o.cleanups:
                if not c["stopped"] and not c.get("queued"):
                    c["queued"] = True
                    if c.get("gate"):
                        _run(h, cycle, 1, c["tag"] + ":started")
                        h.gate_started = True
                    else:
                        _run(h, cycle, 1, c["tag"])


def simulate(rt: OracleRuntime) -> Heap:
    """Run the collections that have happened since the last look."""
    h = heap(rt)
    while h.simulated < gcs(rt):  # as many as a case made (metrics.churn): the deadline ends it
        rt.check_deadline()
        h.simulated += 1
        _collect_one(rt, h, h.simulated)
    return h


def _metrics_alloc(rt: OracleRuntime, name: str, size: int, pointers: bool) -> None:
    """Tell the metrics model's allocator about a named object (it frees it once it is unreachable)."""
    st = metricsmodel._state(rt)
    if not hasattr(st, "kept"):
        return
    if size > metricsmodel.SIZE_CLASSES[-1]:
        st.large[0] += 1
        st.large[1] += size
        cls = -1
    else:
        slot = size + metricsmodel.malloc_header(rt, size, pointers)
        cls = next(i for i, c in enumerate(metricsmodel.SIZE_CLASSES) if c >= slot)
        st.cached_by_class[cls] += 1
    st.kept[name] = (cls, size, 1, pointers)


def metrics_garbage(rt: OracleRuntime, n: int, size: int) -> None:
    """n objects of size bytes allocated and dropped at once (they die at the next cycle)."""
    st = metricsmodel._state(rt)
    if size > metricsmodel.SIZE_CLASSES[-1]:
        st.large[0] += n
        st.large[1] += n * size
    else:
        st.cached_by_class[next(i for i, c in enumerate(metricsmodel.SIZE_CLASSES) if c >= size)] += n


def _pace(rt: OracleRuntime) -> None:
    """An automatic cycle when the heap outgrows the GOGC goal or the accounted memory the limit."""
    st = metricsmodel._state(rt)
    for _ in range(64):
        v = metricsmodel._values(rt, st)
        in_use = int(v["/memory/classes/heap/objects:bytes"])
        accounted = int(v["/memory/classes/total:bytes"]) - int(v["/memory/classes/heap/released:bytes"])
        over_goal = rt.gcpercent >= 0 and in_use > int(v["/gc/heap/goal:bytes"])
        over_limit = rt.memlimit < MAX_INT64 and accounted > rt.memlimit
        if not (over_goal or over_limit):
            return
        before = in_use
        rt.gc_automatic += 1
        metricsmodel._advance(rt, st)
        simulate(rt)
        if int(metricsmodel._values(rt, st)["/memory/classes/heap/objects:bytes"]) >= before:
            return  # nothing to free: the goal grows with the live heap instead


@step("op:alloc")
def alloc(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    h = simulate(rt)
    name = str(w["name"])
    old = h.objects.get(name)
    if old is not None and old.dropped_at is None:
        # The name now holds a new object: the old one is unreachable (garbage) from here on.
        h.anon += 1
        old.dropped_at = gcs(rt)
        h.objects[f"{name}#{h.anon}"] = old
    size = max(16, int(w.get("bytes", 64)))
    h.objects[name] = Obj(bytes=size)
    _metrics_alloc(rt, name, size, bool(w.get("pointers", False)))
    _pace(rt)


@step("op:runtime.alloc.zero")
def alloc_zero(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    simulate(rt).objects[str(w["name"])] = Obj(zero=True, bytes=0)


@step("op:runtime.link")
def link(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    simulate(rt)
    src, dst = _obj(rt, w["from"]), _name(w["to"])
    _obj(rt, dst)
    src.links = [dst]  # the first word of the object


@step("op:drop")
def drop(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    simulate(rt)
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
    proc.throw(rt, f"fatal error: {message}\n")


def _set_finalizer(rt: OracleRuntime, o: Obj, tag: str | None) -> None:
    if o.zero:
        return  # not in the heap: silently ignored (and never run)
    if tag is not None and o.finalizer is not None:
        _fatal(rt, "runtime.SetFinalizer: finalizer already set")
    o.finalizer, o.fin_gated = tag, False


@step("op:finalizer")
def finalizer_op(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    simulate(rt)
    _set_finalizer(rt, _obj(rt, w["name"]), str(w.get("tag", w["name"])))


@step("op:runtime.finalizer.gate")
def finalizer_gate(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """A finalizer that records ``tag:started``, waits for runtime.finalizer.gate.open, then records tag."""
    simulate(rt)
    o = _obj(rt, w["name"])
    _set_finalizer(rt, o, str(w.get("tag", w["name"])))
    o.fin_gated = not o.zero


@step("op:runtime.finalizer.gate.open")
def finalizer_gate_open(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    """The driver closes the gate's channel: the waiting finalizer ends, then the ones held behind it run,
    in order (a gated one among them passes straight through). A second open closes a closed channel."""
    h = simulate(rt)
    if h.fin_gate_open:
        raise PanicError(*proc.RUNTIME_ERRORS["closed-channel"])
    h.fin_gate_open = True
    if h.fin_waiting is not None:
        h.log.append((h.simulated, 0, h.fin_waiting))
        h.fin_waiting = None
    held, h.fin_held = h.fin_held, []
    for cycle, tag, gated in held:
        _run_finalizer(h, cycle, tag, gated)


@step("op:runtime.finalizer.payload")
def finalizer_payload(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    """An object holding with.value and a finalizer that records what it reads from it."""
    h = simulate(rt)
    o = Obj(bytes=64)
    h.objects[str(w["name"])] = o
    _set_finalizer(rt, o, f"saw:{int(w.get('value', 0))}")


@step("runtime.SetFinalizer")
def set_finalizer(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    simulate(rt)
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


def _add_cleanup(rt: OracleRuntime, o: Obj | None, tag: str, gate: bool = False) -> dict[str, str]:
    h = simulate(rt)
    handle = f"cleanup{len(h.cleanups)}"
    rec = {"tag": tag, "stopped": False, "global": o is None, "gate": gate}
    h.cleanups[handle] = rec
    if o is not None and not o.zero:
        o.cleanups.append(rec)
    return {"handle": handle, "type": "runtime.Cleanup"}


@step("op:cleanup")
def cleanup_op(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, str]:
    if rt.release < spec_since("runtime.AddCleanup"):
        raise Unsupported("op cleanup needs Go 1.24")
    return _add_cleanup(rt, _obj(rt, w["name"]), str(w.get("tag", w["name"])))


@step("op:runtime.cleanup.gate")
def cleanup_gate(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, str]:
    if rt.release < spec_since("runtime.AddCleanup"):
        raise Unsupported("op runtime.cleanup.gate needs Go 1.24")
    return _add_cleanup(rt, _obj(rt, w["name"]), str(w.get("tag", w["name"])), gate=True)


@step("op:runtime.gate.open")
def gate_open(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    if rt.release < spec_since("runtime.AddCleanup"):
        raise Unsupported("op runtime.gate.open needs Go 1.24")
    h = simulate(rt)
    h.gate_open = True
    for rec in h.cleanups.values():
        if rec.get("gate") and rec.get("queued"):
            h.log.append((h.simulated, 1, rec["tag"]))
    h.log.extend(h.held)
    h.held = []


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
    if captures and rt.release >= spec_since("runtime.AddCleanup#panics-closure-captures-ptr"):
        raise PanicError("runtime.AddCleanup: cleanup function closes over ptr, cleanup will never run", "string")
    handle = _add_cleanup(rt, _obj(rt, ptr), _tag(args[1], _name(ptr)))
    if captures:  # the closure keeps *ptr reachable: it is never collected
        heap(rt).cleanups[handle["handle"]]["stopped"] = True
    return handle


@step("runtime.Cleanup.Stop")
def cleanup_stop(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    ref = args[0]
    handle = ref.get("handle") if isinstance(ref, dict) else ref
    rec = simulate(rt).cleanups.get(str(handle))
    if rec is None:
        if ref is None:
            return  # the zero Cleanup
        raise Unsupported(f"bad arguments: unknown cleanup {ref!r}")
    if not rec.get("queued"):
        rec["stopped"] = True  # once queued, Stop has no effect


def _events(rt: OracleRuntime) -> list[tuple[int, int, str]]:
    """The finalizers and cleanups that have run: (cycle, 0 finalizer / 1 cleanup, tag), in order."""
    return list(simulate(rt).log)


LEAK = "panic: runtime error: runtime.Pinner: found leaking pinned pointer; forgot to call Unpin()?\n"


@step("op:ran")
def ran(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[Any]:
    """The tags of the finalizers and cleanups that have run, then what the other areas registered as
    contributors of op:ran add (oracle/traces.py: the tags of Stringers that Logf formatted)."""
    h = simulate(rt)
    if h.leaked_at is not None and gcs(rt) > h.leaked_at:
        # The Pinner's own finalizer panics on the finalizer goroutine, which ends the process.
        raise Exited(2, LEAK + "\ngoroutine 18 [running]:\nruntime.runFinalizers()\n\truntime/mfinal.go:272 +0x3f7\n")
    return [tag for _, _, tag in h.log] + contributions(rt, "op:ran")
