"""The threads area: a state machine over LockOSThread/UnlockOSThread nesting and the driver's thread probes.

The driver runs a program's steps on the main goroutine, so ``runtime.LockOSThread`` and
``runtime.UnlockOSThread`` steps nest on it (an unlock without a lock is a no-op); a program may start with
``RTHOOKS_INIT_LOCKOSTHREAD=1``, which makes an init function lock the main goroutine to the startup
thread, the lock main's own unlocks can undo. Between them the rules probe:

* ``process.threads.ids`` (with some blocking yields): the main goroutine's thread ids;
* ``process.threads.lock-probe``: a goroutine locked ``nest`` times, unlocking one at a time, counting the
  goroutines it starts that ran on its thread (GOMAXPROCS 1);
* ``process.threads.exit-locked``: a goroutine that ends (returns or Goexits) locked or not, and whether
  its thread went with it.

Thread ids and counts are the host's, and an unlocked goroutine may run anywhere, so these steps are
compared by relations that hold what the documentation promises (runtime.LockOSThread's clauses) and no
more. Which promise applies to an ids probe depends on the main goroutine's lock count, which the machine
tracks (the nesting rule of runtime.LockOSThread#nesting and runtime.UnlockOSThread#noop-when-unlocked):
while locked the goroutine must stay on one thread; since an init lock that was never undone, that thread
is the startup thread; unlocked, nothing is promised. The count only chooses how strictly a step is
compared; the values themselves come from each implementation.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from rthooks.goversion import GoVersion
from rthooks.harness.fuzz._strategies import Program, Relation
from rthooks.harness.fuzz.areas import Area
from rthooks.spec.load import Spec

_SAME_PID = "the process id and thread ids are the host's (go1.27.3 reported pid 81734, the oracle 4242)"


def _startup_facts(ref: str, value: Any) -> list[dict[str, Any]]:
    """Init ran on the startup thread (its id is the pid) and whether init locked it."""
    if not isinstance(value, dict):
        return [{"of": ref, "equals": value}]
    return [
        {"relation": {"left": f"{ref}.init_tid", "op": "==", "right": f"{ref}.pid"}},
        {"of": f"{ref}.init_locked", "equals": value.get("init_locked")},
    ]


IDS_UNLOCKED = Relation(
    name="ids-unlocked",
    reason="An unlocked main goroutine may resume on any thread after blocking (runtime.UnlockOSThread#unwires-at-zero "
    "promises nothing about where it runs): `rthooks run --impl go=1.27 --impl go=1.21` of a case with five "
    "process.threads.ids steps (yields 10) saw threads_seen 3, 3, 2, 2, 2 (go1.27.3) and 3, 3, 1, 3, 3 (go1.21.13), "
    "and other values in each of two reruns; only that init ran on "
    f"the startup thread, and whether it locked it, is compared; {_SAME_PID}.",
    facts=_startup_facts,
)

IDS_LOCKED = Relation(
    name="ids-locked",
    reason="A locked main goroutine always runs on the same thread (runtime.LockOSThread#exclusive-thread), so every "
    "yield resumes there (threads_seen 1); which thread it was locked to is the scheduler's (it locked wherever it "
    f"ran), so tid and on_startup_every are not compared; {_SAME_PID}.",
    facts=lambda ref, value: [*_startup_facts(ref, value), {"of": f"{ref}.threads_seen", "equals": 1}],
)

IDS_STARTUP = Relation(
    name="ids-startup",
    reason="Locked by an init function and never fully unlocked, main runs on the startup thread "
    "(runtime.LockOSThread#init-lock-main), whose thread id is the pid, and stays there; "
    f"{_SAME_PID}, so the ids are compared by relation to the pid, not by value.",
    facts=lambda ref, value: [
        *_startup_facts(ref, value),
        {"of": f"{ref}.threads_seen", "equals": 1},
        {"of": f"{ref}.on_startup_every", "equals": True},
        {"relation": {"left": f"{ref}.tid", "op": "==", "right": f"{ref}.pid"}},
    ],
)


AT_MOST = 1 << 31  # "at least 1" as a range (the matchers have no one-sided bound)


def _probe_facts(ref: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict) or not isinstance(value.get("others_on_thread"), list):
        return [{"of": ref, "equals": value}]
    out: list[dict[str, Any]] = [{"of": f"{ref}.same_thread", "equals": value.get("same_thread")}]
    others = value["others_on_thread"]
    out.append({"of": f"{ref}.others_on_thread", "length": len(others)})
    for k, n in enumerate(others):
        out.append({"of": f"{ref}.others_on_thread[{k}]", **({"equals": 0} if n == 0 else {"range": [1, AT_MOST]})})
    return out


LOCK_PROBE = Relation(
    name="lock-probe",
    reason="others_on_thread[k] counts the goroutines started with k locks left that ran on the probe's thread: while "
    "locked none may (runtime.LockOSThread#exclusive-thread: equal, 0), unlocked they may "
    "(runtime.UnlockOSThread#unwires-at-zero says 'may'), and how many of `tries` did is the scheduler's; with "
    "GOMAXPROCS 1 the unlocked thread ran at least one (`rthooks run --impl go=1.27 --impl go=1.21` of a case with "
    "20 lock-probe steps, nest 1 and tries 1, three runs: 60 of 60 gave 1 on each release; cases/process.yaml "
    "process-lockosthread-exclusive-until-zero expects 1 to 5 of 5), so an unlocked "
    "count is compared as 'at least 1'.",
    facts=_probe_facts,
)

EXIT_LOCKED = Relation(
    name="exit-locked",
    reason="Whether the goroutine's thread went with it is compared (runtime.LockOSThread#exit-terminates-thread); "
    "its thread id is the host's.",
    facts=lambda ref, value: (
        [{"of": f"{ref}.gone", "equals": value.get("gone")}]
        if isinstance(value, dict)
        else [{"of": ref, "equals": value}]
    ),
)


class ThreadMachine(RuleBasedStateMachine):
    """Steps appended by rules; the program runs on both implementations at teardown. ``locks`` is the main
    goroutine's LockOSThread count, ``startup`` whether it is still wired to the startup thread by init."""

    check: Any = staticmethod(lambda p: None)  # set per engine run

    def __init__(self) -> None:
        super().__init__()
        self.program = Program(area="threads", requires={"capabilities": ["threads"]})
        self.locks = 0
        self.startup = False

    @initialize(init_lock=st.booleans())
    def start(self, init_lock: bool) -> None:
        """Whether an init function locks the main goroutine (the driver's RTHOOKS_INIT_LOCKOSTHREAD=1)."""
        if init_lock:
            self.program.env["RTHOOKS_INIT_LOCKOSTHREAD"] = "1"
            self.locks, self.startup = 1, True
            self.program.cover("runtime.LockOSThread#init-lock-main")

    @rule()
    def lock(self) -> None:
        self.program.add({"call": "runtime.LockOSThread"}, "runtime.LockOSThread")
        self.locks += 1
        self.program.cover("runtime.LockOSThread#nesting")

    @rule()
    def unlock(self) -> None:
        self.program.add({"call": "runtime.UnlockOSThread"}, "runtime.UnlockOSThread")
        if self.locks == 0:
            self.program.cover("runtime.UnlockOSThread#noop-when-unlocked")
            return
        self.locks -= 1
        self.program.cover("runtime.UnlockOSThread#decrements")
        if self.locks == 0:
            self.startup = False
            self.program.cover("runtime.UnlockOSThread#unwires-at-zero")

    @rule(yields=st.sampled_from([10, 0, 3]))
    def ids(self, yields: int) -> None:
        if self.locks and self.startup:
            relation, label = IDS_STARTUP, "ids:startup"
        elif self.locks:
            relation, label = IDS_LOCKED, "ids:locked"
        else:
            relation, label = IDS_UNLOCKED, "ids:unlocked"
        self.program.add({"op": "process.threads.ids", "with": {"yields": yields}}, label, relation)
        self.program.cover("runtime.LockOSThread#init-startup-thread")
        if self.locks and yields:
            self.program.cover("runtime.LockOSThread#exclusive-thread")

    @rule(nest=st.integers(1, 4), tries=st.integers(1, 3))
    def lock_probe(self, nest: int, tries: int) -> None:
        self.program.add(
            {"op": "process.threads.lock-probe", "with": {"nest": nest, "tries": tries}}, "lock-probe", LOCK_PROBE
        )
        self.program.cover("runtime.LockOSThread#exclusive-thread", "runtime.UnlockOSThread#unwires-at-zero")

    @rule(locked=st.booleans(), how=st.sampled_from(["return", "goexit"]))
    def exit_locked(self, locked: bool, how: str) -> None:
        # A locked goroutine's thread ends within milliseconds; an unlocked one's is kept (idle Ms are never
        # freed), which 0.2 s of watching shows without spending a second on every such step.
        within = 2.0 if locked else 0.2
        step = {"op": "process.threads.exit-locked", "with": {"locked": locked, "how": how, "within_s": within}}
        self.program.add(step, f"exit-locked:{'locked' if locked else 'unlocked'}", EXIT_LOCKED)
        self.program.cover("runtime.LockOSThread#exit-terminates-thread")

    def teardown(self) -> None:
        if not self.program.steps:
            return
        if not self.program.covers:
            self.program.cover("runtime.LockOSThread#nesting")
        type(self).check(self.program)


def thread_machine(spec: Spec, go: GoVersion, check: Any) -> type[ThreadMachine]:
    """The machine class for an engine's ``check``."""
    return type("Threads", (ThreadMachine,), {"check": staticmethod(check)})


AREA = Area(
    name="threads",
    description="LockOSThread/UnlockOSThread nesting on the main goroutine (with or without an init lock) between "
    "thread probes: ids over blocking yields, a nested lock probe, goroutines exiting locked (one process per program)",
    machine=thread_machine,
    steps=8,
    requires={"capabilities": ["threads"]},
    relations=(IDS_UNLOCKED, IDS_LOCKED, IDS_STARTUP, LOCK_PROBE, EXIT_LOCKED),
)
