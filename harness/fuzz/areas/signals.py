"""The signals area: a state machine over os/signal (Notify, Stop, Ignore, Reset, Ignored, NotifyContext).

Rules append steps to one program: Notify a new channel (buffer 0, 1 or more; no signals = all), Notify an
existing channel for more, Stop it, Ignore and Reset (some signals or all), ask Ignored, raise a signal with
kill(2), receive from a channel, and NotifyContext (on context.Background or a cancellable parent) with its
stop, its parent's cancel and a wait on its context. The program runs at teardown on both implementations;
each run's observations (Ignored's answers, what each receive got or null, how the process ended) are
compared by the case matchers.

The signals come from the spec: the clauses of ``process:signals`` name them by default disposition (the
program exits, dumps its goroutines, or goes on), so a raise's label names the clause it exercises and one
wrong disposition is one divergence signature.

Where the real runtime is asynchronous the programs are built so that the answer is deterministic:

* the driver's ``signal.raise`` returns only once the signal has had its effect (harness/driver/ops_signal.go,
  settleSignal): kill(2) returns before a thread has handled it and os/signal relays it from a goroutine of
  its own, so without the wait a receive could run before the delivery, two raises of one signal could
  coalesce (the runtime keeps one pending bit per signal) and an unbuffered channel could catch a signal that
  the documentation says is dropped ("Package signal will not block sending to c"). After it, a receive needs
  no long timeout: the signal is in the channel's buffer or it never will be;
* every program runs with ``GODEBUG=asyncpreemptoff=1``: the runtime preempts goroutines by sending its own
  threads SIGURG (``const sigPreempt = _SIGURG``, src/runtime/signal_unix.go), which a channel registered for
  all signals receives like any other; with the setting no SIGURG is sent (preemptM is called only when
  ``debug.asyncpreemptoff == 0``: src/runtime/preempt.go, proc.go), so a Notify-all channel gets exactly the
  signals the program raised.

What is never generated, and why, is in :data:`NOT_RAISED` and :data:`NOT_NAMED`.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule

from rthooks.goversion import GoVersion
from rthooks.harness.fuzz._strategies import Program, Relation
from rthooks.harness.fuzz.areas import Area
from rthooks.spec.load import Spec

#: The clauses of process:signals whose text names the signals of one default disposition, in the order
#: their signals are favoured (Hypothesis shrinks a sampled signal towards the first): the caught-and-ignored
#: ones first, so that a program goes on after most raises.
DISPOSITIONS = (
    "others-ignored",
    "sigprof-profiling",
    "hup-int-term-exit",
    "quit-etc-dump",
    "synchronous-to-panic",  # the same signals sent with kill dump (sent-sync-signals-dump)
)
#: The clause a raise of a signal named by a DISPOSITIONS clause exercises (when it differs).
RAISE_CLAUSE = {"synchronous-to-panic": "sent-sync-signals-dump"}
#: Signals named by the spec that are never raised, with why. They may still be registered, ignored,
#: reset and asked about.
NOT_RAISED = {
    "SIGTSTP": "stops the process (process:signals#job-control-default): nobody sends SIGCONT, the run times out",
    "SIGTTIN": "stops the process (process:signals#job-control-default): nobody sends SIGCONT, the run times out",
    "SIGTTOU": "stops the process (process:signals#job-control-default): nobody sends SIGCONT, the run times out",
    "SIGKILL": "cannot be caught or ignored: it ends the process, which tells nothing about the runtime",
    "SIGSTOP": "cannot be caught or ignored: it stops the process and the run times out",
}
#: Signals never named at all, with why.
NOT_NAMED = {
    "SIGEMT": "named by the os/signal doc, but linux/amd64 has no such signal (the driver refuses the name)",
    "SIGPWR": "the driver's signal.raise registers a private channel for SIGPWR to wait for os/signal's delivery "
    "loop (settleSignal); a program that used SIGPWR would see that registration",
}
_SIG = re.compile(r"\bSIG[A-Z0-9]+\b")

RECV_S = 0.1  # a receive from a channel: after a settled raise the signal is already buffered, or never will be
# A wait on a NotifyContext context: its cancel runs on a goroutine of its own after the delivery. The raise's
# last 2 ms of waiting (settleGrace) let that goroutine run, so a stop or a parent's cancel in the next step
# does not race with it for the cause (a race the fuzz runs have not shown so far).
CTX_S = 0.5

HANDLES = Relation(
    name="handles",
    reason="The value of signal.notify, NotifyContext and signal.context.parent is a handle: a name each "
    "implementation gives its objects (go1.27.3 said h1, the oracle chan0), not runtime behaviour, so only each "
    "handle's type is compared.",
    facts=lambda ref, value: _handle_facts(ref, value),
)


def _handle_facts(ref: str, value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [{"of": f"{ref}[{i}].type", "equals": v.get("type")} for i, v in enumerate(value) if isinstance(v, dict)]
    if isinstance(value, dict):
        return [{"of": f"{ref}.type", "equals": value.get("type")}]
    return [{"of": ref, "equals": value}]


def signal_classes(spec: Spec) -> dict[str, list[str]]:
    """The signals each disposition clause of process:signals names (clause id -> names, in text order)."""
    item = spec.get("process:signals")
    texts = {str(c["id"]): str(c.get("text") or "") for c in item.data.get("clauses") or []}
    out: dict[str, list[str]] = {}
    for clause in (*DISPOSITIONS, "job-control-default"):
        names = list(dict.fromkeys(_SIG.findall(texts.get(clause, ""))))
        out[clause] = [n for n in names if n not in NOT_NAMED]
        if not out[clause]:
            raise ValueError(f"process:signals#{clause} names no signal: the signals area needs its list")
    return out


class SignalMachine(RuleBasedStateMachine):
    """Steps appended by rules; the program runs on both implementations at teardown (see the module doc)."""

    check: Any = staticmethod(lambda p: None)  # set per engine run
    raisable: st.SearchStrategy[str]
    nameable: st.SearchStrategy[str]
    raise_clause: dict[str, str]

    chans = Bundle("chans")
    contexts = Bundle("contexts")

    def __init__(self) -> None:
        super().__init__()
        self.program = Program(area="signals", env={"GODEBUG": "asyncpreemptoff=1"})
        self.program.requires = {"capabilities": ["signals"]}
        # The signals each channel was registered for, as the program named them ([] = all): only to steer
        # `deliver` towards a signal that channel may get, never to predict an answer.
        self.named: dict[str, list[str]] = {}
        self.mentioned: list[str] = []  # every signal the program named so far, for the same purpose

    def _names(self, data: st.DataObject, min_size: int, max_size: int) -> list[str]:
        names: list[str] = data.draw(st.lists(self.nameable, min_size=min_size, max_size=max_size, unique=True))
        self.mentioned += [n for n in names if n not in self.mentioned]
        return names

    def _pick(self, data: st.DataObject, pool: st.SearchStrategy[str]) -> str:
        """A signal from ``pool``, or (as often) one the program named already: a raise or an Ignored of a
        signal nothing registered or ignored shows only its default disposition."""
        usable = [n for n in self.mentioned if n in self.raise_clause and n not in NOT_RAISED]
        if pool is self.nameable:
            usable = list(self.mentioned)
        name: str = data.draw(st.one_of(pool, st.sampled_from(usable)) if usable else pool)
        return name

    @initialize(inherited=st.booleans())
    def start(self, inherited: bool) -> None:
        """Whether the process starts with SIGHUP and SIGINT ignored (as under nohup): the runtime then
        installs no handler for them until a Notify (os/signal doc, "started with either SIGHUP or SIGINT
        ignored")."""
        if inherited:
            self.program.setup["launch"] = {"ignore_signals": ["SIGHUP", "SIGINT"]}
            self.program.cover("os/signal.Ignored#inherited-ignore")

    @initialize(target=chans, sigs=st.data(), buffer=st.sampled_from([1, 0, 2, 4]), everything=st.booleans())
    def first_channel(self, sigs: st.DataObject, buffer: int, everything: bool) -> str:
        """Every program starts with a channel, so that a receive or a delivery is possible from the first
        rule on (without it most programs drew their rules before any Notify)."""
        return self._register(sigs, buffer, everything)

    @rule(target=chans, sigs=st.data(), buffer=st.sampled_from([1, 0, 2, 4]), everything=st.booleans())
    def notify_new(self, sigs: st.DataObject, buffer: int, everything: bool) -> str:
        return self._register(sigs, buffer, everything)

    def _register(self, sigs: st.DataObject, buffer: int, everything: bool) -> str:
        """A new channel registered with Notify (the op signal.notify); its reference for later steps."""
        names = [] if everything else self._names(sigs, 1, 3)
        name = self.program.add(
            {"op": "signal.notify", "with": {"signals": names, "buffer": buffer}}, "signal.notify", HANDLES
        )
        self.program.cover("os/signal.Notify#no-args-all" if everything else "os/signal.Notify#relays")
        if buffer == 0:
            self.program.cover("os/signal.Notify#non-blocking-send")
        self.named[f"${name}"] = list(names)
        return f"${name}"

    @rule(c=chans, sigs=st.data(), everything=st.booleans())
    def notify_more(self, c: str, sigs: st.DataObject, everything: bool) -> None:
        names = [] if everything else self._names(sigs, 1, 2)
        self.program.add({"call": "os/signal.Notify", "args": [c, *names]}, "os/signal.Notify")
        self.program.cover("os/signal.Notify#no-args-all" if everything else "os/signal.Notify#calls-accumulate")
        if self.named.get(c):
            self.named[c] = self.named[c] + names if names else []

    @rule(c=chans)
    def stop(self, c: str) -> None:
        self.program.add({"call": "os/signal.Stop", "args": [c]}, "os/signal.Stop")
        self.program.cover("os/signal.Stop#stops-relay")

    @rule(sigs=st.data(), everything=st.booleans())
    def ignore(self, sigs: st.DataObject, everything: bool) -> None:
        """Ignore(sigs...), or Ignore() of all: it sets SIG_IGN for every signal the runtime may relay
        (sigignore skips SIGPROF and the signals without _SigNotify: src/runtime/signal_unix.go), so the
        driver keeps running (SIGURG preemption is off anyway, see the module doc)."""
        names = [] if everything else self._names(sigs, 1, 2)
        self.program.add({"call": "os/signal.Ignore", "args": names}, "os/signal.Ignore")
        self.program.cover("os/signal.Ignore#no-args-all" if everything else "os/signal.Ignore#ignores")

    @rule(sigs=st.data(), everything=st.booleans())
    def reset(self, sigs: st.DataObject, everything: bool) -> None:
        names = [] if everything else self._names(sigs, 1, 2)
        self.program.add({"call": "os/signal.Reset", "args": names}, "os/signal.Reset")
        self.program.cover("os/signal.Reset#no-args-all" if everything else "os/signal.Reset#undoes-notify")

    @rule(sig=st.data())
    def ignored(self, sig: st.DataObject) -> None:
        name = self._pick(sig, self.nameable)
        self.program.add({"call": "os/signal.Ignored", "args": [name]}, "os/signal.Ignored")
        self.program.cover("os/signal.Ignored#reports-ignored")

    @rule(sig=st.data())
    def raise_(self, sig: st.DataObject) -> None:
        self._raise(self._pick(sig, self.raisable))

    @rule(c=chans, sig=st.data())
    def deliver(self, c: str, sig: st.DataObject) -> None:
        """Raise a signal the channel was registered for (any, for an all-signals channel), then receive from
        it: a program with a delivery in it is otherwise rare (a raise and a receive must meet a matching
        registration among a dozen rules)."""
        self._raise(self._listened(c, sig))
        self.recv(c)

    def _listened(self, ref: str, sig: st.DataObject) -> str:
        """A raisable signal ``ref`` (a channel or a NotifyContext) was registered for; any, if for all."""
        names = [n for n in self.named.get(ref, []) if n in self.raise_clause and n not in NOT_RAISED]
        name: str = sig.draw(st.sampled_from(names) if names else self.raisable)
        return name

    def _raise(self, name: str) -> None:
        clause = self.raise_clause[name]
        self.program.add({"op": "signal.raise", "with": {"signal": name}}, f"raise:{clause}")
        self.program.cover(f"process:signals#{clause}")

    @rule(c=chans)
    def recv(self, c: str) -> None:
        self.program.add({"op": "signal.recv", "with": {"channel": c, "within_s": RECV_S}}, "signal.recv")
        self.program.cover("os/signal.Notify#relays")

    @rule(target=contexts, sigs=st.data(), parent=st.booleans())
    def notify_context(self, sigs: st.DataObject, parent: bool) -> str:
        names = self._names(sigs, 0, 2)
        parent_ref: str | None = None
        if parent:
            parent_ref = "$" + self.program.add({"op": "signal.context.parent"}, "signal.context.parent", HANDLES)
        name = self.program.add(
            {"call": "os/signal.NotifyContext", "args": [f"{parent_ref}[0]" if parent_ref else None, *names]},
            "os/signal.NotifyContext",
            HANDLES,
        )
        self.program.cover("os/signal.NotifyContext#done-on-signal", "os/signal.NotifyContext#string-form")
        self.named[f"${name}"] = list(names)
        return f"${name}|{parent_ref or ''}"  # the [ctx, stop] pair's reference, and its parent's (if any)

    @rule(ctx=contexts, sig=st.data())
    def context_deliver(self, ctx: str, sig: st.DataObject) -> None:
        """Raise a signal the context listens for (any, for one of every signal), then wait for it to be done:
        as `deliver` does for a channel."""
        self._raise(self._listened(ctx.partition("|")[0], sig))
        self.context_wait(ctx)

    @rule(ctx=contexts)
    def context_wait(self, ctx: str) -> None:
        ref = ctx.partition("|")[0]
        self.program.add(
            {"op": "signal.recv", "with": {"channel": f"{ref}[0]", "within_s": CTX_S}}, "NotifyContext:done"
        )

    @rule(ctx=contexts)
    def context_stop(self, ctx: str) -> None:
        ref = ctx.partition("|")[0]
        self.program.add({"op": "signal.context.cancel", "with": {"func": f"{ref}[1]"}}, "NotifyContext:stop")
        self.program.cover("os/signal.NotifyContext#done-on-stop")

    @rule(ctx=contexts)
    def context_cancel_parent(self, ctx: str) -> None:
        parent = ctx.partition("|")[2]
        if not parent:
            return
        self.program.add({"op": "signal.context.cancel", "with": {"func": f"{parent}[1]"}}, "NotifyContext:parent")
        self.program.cover("os/signal.NotifyContext#done-on-parent")

    def teardown(self) -> None:
        if not self.program.steps:
            return
        if not self.program.covers:
            self.program.cover("os/signal.Notify#relays")
        type(self).check(self.program)


def signal_machine(spec: Spec, go: GoVersion, check: Any) -> type[SignalMachine]:
    """The machine class for ``spec`` (signals from process:signals) and an engine's ``check``."""
    classes = signal_classes(spec)
    raise_clause: dict[str, str] = {}
    for clause in DISPOSITIONS:
        for name in classes[clause]:
            raise_clause.setdefault(name, RAISE_CLAUSE.get(clause, clause))
    raisable = [n for n in raise_clause if n not in NOT_RAISED]
    benign = [n for n in raisable if raise_clause[n] in ("others-ignored", "sigprof-profiling")]
    fatal = [n for n in raisable if n not in benign]
    nameable = raisable + [n for n in classes["job-control-default"] if n not in raisable]
    attrs: dict[str, Any] = {
        "check": staticmethod(check),
        # The program goes on after most raises: a benign signal twice as often as one whose default ends it.
        "raisable": st.sampled_from(benign + benign + fatal),
        "nameable": st.sampled_from(nameable),
        "raise_clause": raise_clause,
    }
    return type("Signals", (SignalMachine,), attrs)


AREA = Area(
    name="signals",
    description="a state machine over os/signal: Notify (some signals or all, buffers 0/1/N), Stop, Ignore, Reset, "
    "Ignored, raised signals and receives, NotifyContext with its stop and parent (one process per program)",
    machine=signal_machine,
    steps=10,
    requires={"capabilities": ["signals"]},
    relations=(HANDLES,),
)
