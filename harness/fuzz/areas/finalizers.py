"""The finalizers area: a state machine over objects with finalizers and cleanups, compared by what the
documentation promises rather than by which collection ran what.

The machine allocates objects, sets finalizers (``runtime.SetFinalizer``, op ``finalizer``) and clears them
(``SetFinalizer(obj, nil)``), attaches cleanups (``runtime.AddCleanup``, op ``cleanup``, Go 1.24+: from the
spec's ``since``) and stops them (``Cleanup.Stop``, while the object is still reachable), keeps objects
alive (``runtime.KeepAlive``), drops them, runs ``runtime.GC`` and observes the ``ran`` list (the tags of the
finalizers and cleanups that have run, in the order they ran).

What the documentation promises, and what is therefore compared (:data:`RAN`): a finalizer or cleanup of an
unreachable object runs *eventually*, not at a fixed collection; each runs at most once; a cleared finalizer,
a stopped cleanup and those of an object still reachable never run; the order between objects is not
promised. So a ``ran`` step is not compared by equality. The program's own model (:func:`annotate`, which
follows the steps) knows, at each ``ran`` step, which tags are *eligible* (their object was dropped, the
finalizer not cleared, the cleanup not stopped) and which are *settled* (an earlier ``ran`` step waited for
them). Each ``ran`` step waits (an ``until`` with a GC between tries) for one eligible tag not yet settled,
and its value must contain every settled tag and hold no more tags than are eligible; once every eligible
tag is settled (the machine ends with enough ``ran`` steps for that), the list must hold exactly the eligible
tags, in any order: nothing cleared, stopped, reachable or run twice. Not observable this way, and left to
the cases in cases/runtime.yaml: that finalizers run one at a time on one goroutine, and that an object's
cleanup runs only after its finalizer (the order is not compared).

The area does not batch: the Go driver's object table and ran list live as long as its process, so a batch
process would carry one program's objects and tags into the next; each program gets a process of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from rthooks.goversion import GoVersion
from rthooks.harness.fuzz._strategies import Program, Relation
from rthooks.harness.fuzz.areas import Area
from rthooks.spec.load import Spec

WAIT_S = 5  # how long a ran step waits for the tag it waits for (as the cases in cases/runtime.yaml do)
EVENTUALLY = {"within_s": WAIT_S, "poll": "gc"}
MAX_OBJECTS = 5  # objects per program: enough for every combination the rules make, few enough to shrink well
SIZES = (16, 64, 1024, 40_000)  # a small class, the default, a larger class, a large object (its own span)

RAN_REASON = (
    "finalizers and cleanups run on runtime goroutines some time after a collection finds their object "
    "unreachable (runtime.SetFinalizer: 'at some point after'; runtime.AddCleanup: 'Some time after ptr is "
    "no longer reachable'), so which of them a ran step sees depends on scheduling, and the order between "
    "objects is not promised: each ran step waits (until, with a GC between tries) for one eligible tag, and "
    "its value must contain every tag waited for so far and no more tags than are eligible (dropped, not "
    "cleared, not stopped); once every eligible tag was waited for it must hold exactly those, in any order"
)
HANDLE_REASON = (
    "a Cleanup is a handle, whose name each implementation chooses (PROTOCOL.md, Values: handles are not "
    "data); only its type is compared, and later steps use it by reference"
)


def _ran_facts(
    settled: list[str], eligible: list[str], waited: str | None
) -> Callable[[str, Any], list[dict[str, Any]]]:
    """The facts of one ran step (they do not depend on the value: the model knows what must hold)."""

    def facts(ref: str, _value: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for tag in settled:
            fact: dict[str, Any] = {"of": ref, "contains": tag}
            if tag == waited:
                fact["eventually"] = dict(EVENTUALLY)
            out.append(fact)
        lo, hi = len(settled), len(eligible)
        out.append({"of": ref, "length": lo if lo == hi else [lo, hi]})
        return out

    return facts


#: The relations of the area, listed for the table of loosened comparisons (each ran step gets its own
#: facts from the model, under this name and reason).
RAN = Relation("ran-eventually", RAN_REASON, _ran_facts([], [], None))
HANDLE = Relation("cleanup-handle", HANDLE_REASON, lambda ref, _v: [{"of": f"{ref}.type", "equals": "runtime.Cleanup"}])


@dataclass
class _Obj:
    dropped: bool = False
    finalizer: str | None = None
    cleanups: dict[str, str] = field(default_factory=dict)  # handle bind name -> tag
    stopped: set[str] = field(default_factory=set)  # handle bind names


def _clauses_of(step: dict[str, Any]) -> list[str]:
    """The clauses one step exercises (a saved case's covers)."""
    op, call = step.get("op"), step.get("call")
    if op == "finalizer":
        return ["runtime.SetFinalizer#runs-when-unreachable"]
    if call == "runtime.SetFinalizer":
        return ["runtime.SetFinalizer#nil-clears"]
    if op == "cleanup":
        return ["runtime.AddCleanup#runs-after-unreachable"]
    if call == "runtime.Cleanup.Stop":
        return ["runtime.Cleanup.Stop#cancels"]
    if op == "keepalive":
        return ["runtime.KeepAlive#reachable-until-call"]
    if op == "gc":
        return ["runtime.GC#blocks-until-complete"]
    return []


class ModelProgram(Program):
    """A program whose relations, waits and covers follow from its steps (:meth:`annotate`), so that a
    program with a step left out (the engine's step-dropping shrink) is judged by what its own steps
    promise, not by facts left over from the longer program.

    ``waits`` maps a step index to the expectation (with ``eventually``) that makes the step an ``until``
    when the program runs: the engine runs a program as a case with no expectations of its own, so
    :meth:`case_data` adds these. ``covers`` follows the steps too (the engine's shrink keeps only the
    covers of call steps, which would leave a program of ops with none)."""

    fallback_cover = ""  # the clause a program whose steps exercise none still covers
    carried: tuple[str, ...] = ()  # attributes (beyond the Program's) a shorter program keeps

    def __post_init__(self) -> None:
        self.waits: dict[int, dict[str, Any]] = {}

    def annotate(self) -> None:
        """Set relations and waits from the steps (each area models its own)."""
        raise NotImplementedError

    def clauses_of(self, step: dict[str, Any]) -> list[str]:
        """The clauses one step exercises."""
        raise NotImplementedError

    @property
    def covers(self) -> list[str]:
        out: list[str] = []
        for step in self.steps:
            out += [c for c in self.clauses_of(step) if c not in out]
        return out or [self.fallback_cover]

    @covers.setter
    def covers(self, _value: list[str]) -> None:
        """Ignored: the covers follow the steps."""

    def without(self, index: int) -> Program:
        shorter = super().without(index)
        out = type(self)(area=self.area, env=dict(shorter.env), setup=dict(shorter.setup))
        out.requires = dict(shorter.requires)
        out.steps, out.labels = shorter.steps, shorter.labels
        for name in self.carried:
            setattr(out, name, getattr(self, name))
        out.annotate()
        return out

    def case_data(self, case_id: str, covers: list[str] | None = None) -> dict[str, Any]:
        data = super().case_data(case_id, covers)
        data["expect"] = [dict(w) for _, w in sorted(self.waits.items())]
        return data


class FinalizerProgram(ModelProgram):
    """A program of the finalizers area."""

    fallback_cover = "runtime.SetFinalizer#runs-when-unreachable"
    carried = ("cleanup_since",)
    cleanup_since = ""  # runtime.AddCleanup's release in the spec: a program with a cleanup requires it
    eligible: tuple[str, ...] = ()
    settled: tuple[str, ...] = ()

    def clauses_of(self, step: dict[str, Any]) -> list[str]:
        return _clauses_of(step)

    def annotate(self) -> None:
        objs: dict[str, _Obj] = {}
        owner: dict[str, str] = {}  # cleanup handle bind -> object name
        eligible: list[str] = []
        settled: list[str] = []
        self.relations, self.waits = {}, {}
        for i, step in enumerate(self.steps):
            op, call, w = step.get("op"), step.get("call"), step.get("with") or {}
            args = step.get("args") or []
            if op == "alloc":
                objs[str(w["name"])] = _Obj()
            elif op == "finalizer" and str(w.get("name")) in objs:
                objs[str(w["name"])].finalizer = str(w.get("tag", w["name"]))
            elif call == "runtime.SetFinalizer" and args and str(args[0]).lstrip("$") in objs:
                objs[str(args[0]).lstrip("$")].finalizer = None
            elif op == "cleanup" and str(w.get("name")) in objs:
                objs[str(w["name"])].cleanups[str(step["bind"])] = str(w.get("tag", w["name"]))
                owner[str(step["bind"])] = str(w["name"])
                self.relations[i] = HANDLE
            elif call == "runtime.Cleanup.Stop" and args:
                handle = str(args[0]).lstrip("$")
                if handle in owner and not objs[owner[handle]].dropped:
                    objs[owner[handle]].stopped.add(handle)
            elif op == "drop" and str(w.get("name")) in objs and not objs[str(w["name"])].dropped:
                o = objs[str(w["name"])]
                o.dropped = True
                if o.finalizer is not None:
                    eligible.append(o.finalizer)
                eligible += [tag for h, tag in o.cleanups.items() if h not in o.stopped]
            elif op == "ran":
                pending = [t for t in eligible if t not in settled]
                waited = pending[0] if pending else None
                if waited is not None:
                    settled.append(waited)
                    self.waits[i] = {"of": f"${step['bind']}", "contains": waited, "eventually": dict(EVENTUALLY)}
                facts = _ran_facts(list(settled), list(eligible), waited)
                self.relations[i] = Relation(RAN.name, RAN.reason, facts)
        self.eligible, self.settled = tuple(eligible), tuple(settled)
        if self.cleanup_since and any(s.get("op") == "cleanup" for s in self.steps):
            self.requires["go"] = f">={self.cleanup_since}"
        else:
            self.requires.pop("go", None)

    def pending(self) -> int:
        """Eligible tags no ran step has waited for yet (the machine ends with that many ran steps)."""
        self.annotate()
        return len(self.eligible) - len(self.settled)


class FinalizerMachine(RuleBasedStateMachine):
    """Rules that append steps; the program runs on both implementations at teardown (a process's state
    lives in that process, so the machine builds one program per run; Hypothesis still shrinks the rules)."""

    check: Callable[[Program], None] = staticmethod(lambda p: None)
    cleanups = False  # whether the release has runtime.AddCleanup (set per class from the spec)
    cleanup_since = ""  # the release the spec gives runtime.AddCleanup

    def __init__(self) -> None:
        super().__init__()
        self.program = FinalizerProgram(area="finalizers")
        self.program.cleanup_since = self.cleanup_since
        self.live: list[str] = []  # objects held by name
        self.finalized: set[str] = set()  # live objects with a finalizer set
        self.handles: list[tuple[str, str]] = []  # (cleanup handle bind, object) of live objects
        self.count = 0
        self.tags = 0

    def _add(self, step: dict[str, Any], label: str) -> str:
        return self.program.add(step, label)

    def _tag(self, obj: str, kind: str) -> str:
        self.tags += 1
        return f"{obj}.{kind}{self.tags}"

    @initialize(
        size=st.sampled_from(SIZES), pointers=st.booleans(), finalizer=st.booleans(), cleanups=st.integers(0, 2)
    )
    def first(self, size: int, pointers: bool, finalizer: bool, cleanups: int) -> None:
        """Every program starts with one object."""
        self.alloc(size, pointers, finalizer, cleanups)

    @precondition(lambda self: len(self.live) < MAX_OBJECTS and self.count < MAX_OBJECTS)
    @rule(size=st.sampled_from(SIZES), pointers=st.booleans(), finalizer=st.booleans(), cleanups=st.integers(0, 2))
    def alloc(self, size: int, pointers: bool, finalizer: bool, cleanups: int) -> None:
        """A new object, with a finalizer and up to two cleanups at once (so that most dropped objects have
        something to run; the rules below add and remove them later too)."""
        name = f"o{self.count}"
        self.count += 1
        self._add({"op": "alloc", "with": {"name": name, "bytes": size, "pointers": pointers}}, "alloc")
        self.live.append(name)
        if finalizer:
            self._finalize(name)
        for _ in range(cleanups if self.cleanups else 0):
            self._cleanup(name)

    def _pick(self, pool: list[str], k: int) -> str:
        return pool[k % len(pool)]

    @precondition(lambda self: any(o not in self.finalized for o in self.live))
    @rule(k=st.integers(0, MAX_OBJECTS - 1))
    def set_finalizer(self, k: int) -> None:
        self._finalize(self._pick([o for o in self.live if o not in self.finalized], k))

    def _finalize(self, obj: str) -> None:
        self._add({"op": "finalizer", "with": {"name": obj, "tag": self._tag(obj, "f")}}, "finalizer")
        self.finalized.add(obj)

    @precondition(lambda self: bool(self.live))
    @rule(k=st.integers(0, MAX_OBJECTS - 1))
    def clear_finalizer(self, k: int) -> None:
        """SetFinalizer(obj, nil), with or without a finalizer set (clearing none is harmless)."""
        obj = self._pick(self.live, k)
        self._add({"call": "runtime.SetFinalizer", "args": [f"${obj}", None]}, "runtime.SetFinalizer")
        self.finalized.discard(obj)

    @precondition(lambda self: self.cleanups and bool(self.live))
    @rule(k=st.integers(0, MAX_OBJECTS - 1))
    def add_cleanup(self, k: int) -> None:
        self._cleanup(self._pick(self.live, k))

    def _cleanup(self, obj: str) -> None:
        bind = self._add({"op": "cleanup", "with": {"name": obj, "tag": self._tag(obj, "c")}}, "cleanup")
        self.handles.append((bind, obj))

    @precondition(lambda self: bool(self.handles))
    @rule(k=st.integers(0, 7))
    def stop_cleanup(self, k: int) -> None:
        """Stop while the object is still held (Stop#requires-reachable); a second Stop is harmless."""
        bind, _obj = self.handles[k % len(self.handles)]
        self._add({"call": "runtime.Cleanup.Stop", "args": [f"${bind}"]}, "runtime.Cleanup.Stop")

    @precondition(lambda self: bool(self.live))
    @rule(k=st.integers(0, MAX_OBJECTS - 1))
    def keepalive(self, k: int) -> None:
        self._add({"op": "keepalive", "with": {"name": self._pick(self.live, k)}}, "keepalive")

    @precondition(lambda self: bool(self.live))
    @rule(k=st.integers(0, MAX_OBJECTS - 1))
    def drop(self, k: int) -> None:
        self._drop(self._pick(self.live, k))

    def _drop(self, obj: str) -> None:
        self._add({"op": "drop", "with": {"name": obj}}, "drop")
        self.live.remove(obj)
        self.finalized.discard(obj)
        self.handles = [(b, o) for b, o in self.handles if o != obj]

    @precondition(lambda self: bool(self.live))
    @rule()
    def drop_newest(self) -> None:
        """Drop the newest object (a second drop rule: most programs should drop something)."""
        self._drop(self.live[-1])

    @rule()
    def gc(self) -> None:
        self._add({"op": "gc"}, "gc")

    @rule()
    def ran(self) -> None:
        self._add({"op": "ran"}, "ran")

    def teardown(self) -> None:
        """Enough ran steps that every eligible tag is waited for: the last one sees exactly those."""
        p = self.program
        for _ in range(max(1, p.pending())):
            self._add({"op": "ran"}, "ran")
        p.annotate()
        type(self).check(p)


def finalizer_machine(spec: Spec, go: GoVersion, check: Callable[[Program], None]) -> type[FinalizerMachine]:
    """The machine for release ``go``: cleanups only where the spec says runtime.AddCleanup exists."""
    item = spec.get("runtime.AddCleanup")
    attrs: dict[str, Any] = {
        "check": staticmethod(check),
        "cleanups": item.exists_in(go),
        "cleanup_since": str(item.since),
    }
    return type("Finalizers", (FinalizerMachine,), attrs)


AREA = Area(
    name="finalizers",
    description="a state machine over objects with finalizers and cleanups (SetFinalizer and clearing it, "
    "AddCleanup and Stop, KeepAlive, drop, GC), compared by what is promised: eventually, at most once, never "
    "when cleared, stopped or reachable, in no promised order",
    machine=finalizer_machine,
    steps=12,
    relations=(RAN, HANDLE),
)
