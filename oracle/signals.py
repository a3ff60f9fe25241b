"""os/signal (Notify, Stop, Reset, Ignore, Ignored, NotifyContext) and the default dispositions of signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rthooks.oracle import proc
from rthooks.oracle.registry import step
from rthooks.oracle.releases import spec_since
from rthooks.oracle.state import TERMINATING, Exited, OracleRuntime, PanicError, Unsupported, resolve
from rthooks.protocol.refs import parse_ref

# Asynchronous signals whose default action prints a goroutine dump and exits with status 2
# (os/signal package doc, "Default behavior of signals in Go programs").
DUMPING = {
    "SIGQUIT": "quit",
    "SIGILL": "illegal instruction",
    "SIGTRAP": "trace/breakpoint trap",
    "SIGABRT": "aborted",
    "SIGSTKFLT": "stack fault",
    "SIGSYS": "bad system call",
    "SIGSEGV": "segmentation violation",
    "SIGBUS": "bus error",
    "SIGFPE": "floating point exception",
}
# os.Signal String() texts: syscall's signal table for linux/amd64 (`var signals` in
# src/syscall/zerrors_linux_amd64.go, the same in go1.21.13 and go1.27.3), by name; NotifyContext's String()
# shows them.
NAMES = {
    "SIGHUP": "hangup",
    "SIGINT": "interrupt",
    "SIGQUIT": "quit",
    "SIGILL": "illegal instruction",
    "SIGTRAP": "trace/breakpoint trap",
    "SIGABRT": "aborted",
    "SIGBUS": "bus error",
    "SIGFPE": "floating point exception",
    "SIGKILL": "killed",
    "SIGUSR1": "user defined signal 1",
    "SIGSEGV": "segmentation fault",
    "SIGUSR2": "user defined signal 2",
    "SIGPIPE": "broken pipe",
    "SIGALRM": "alarm clock",
    "SIGTERM": "terminated",
    "SIGSTKFLT": "stack fault",
    "SIGCHLD": "child exited",
    "SIGCONT": "continued",
    "SIGSTOP": "stopped (signal)",
    "SIGTSTP": "stopped",
    "SIGTTIN": "stopped (tty input)",
    "SIGTTOU": "stopped (tty output)",
    "SIGURG": "urgent I/O condition",
    "SIGXCPU": "CPU time limit exceeded",
    "SIGXFSZ": "file size limit exceeded",
    "SIGVTALRM": "virtual timer expired",
    "SIGPROF": "profiling timer expired",
    "SIGWINCH": "window changed",
    "SIGIO": "I/O possible",
    "SIGPWR": "power failure",
    "SIGSYS": "bad system call",
}
NUMBERS = {
    "SIGHUP": 1,
    "SIGINT": 2,
    "SIGQUIT": 3,
    "SIGUSR1": 10,
    "SIGUSR2": 12,
    "SIGPIPE": 13,
    "SIGALRM": 14,
    "SIGTERM": 15,
}


def canon(sig: Any) -> str:
    if isinstance(sig, int):
        for k, v in NUMBERS.items():
            if v == sig:
                return k
        raise Unsupported(f"the oracle does not know signal number {sig}")
    s = str(sig).upper()
    return s if s.startswith("SIG") else "SIG" + s


@dataclass
class Chan:
    signals: set[str] = field(default_factory=set)
    all: bool = False  # Notify(c) with no signals
    excluded: set[str] = field(default_factory=set)  # taken from an all-signals channel by Ignore/Reset
    buffer: int = 1
    queue: list[str] = field(default_factory=list)
    context: dict[str, Any] | None = None  # a NotifyContext's state

    def wants(self, sig: str) -> bool:
        return sig in self.signals or (self.all and sig not in self.excluded)

    def add(self, sigs: list[str]) -> None:
        if not sigs:
            self.all, self.excluded = True, set()
        for s in sigs:
            self.signals.add(s)
            self.excluded.discard(s)

    def remove(self, sigs: list[str] | None) -> None:
        if sigs is None:
            self.signals, self.all, self.excluded = set(), False, set()
            return
        for s in sigs:
            self.signals.discard(s)
            self.excluded.add(s)


@dataclass
class Signals:
    chans: dict[str, Chan] = field(default_factory=dict)
    ignored: set[str] = field(default_factory=set)  # what Ignored reports (the runtime's sig.ignored bits)
    ignore_all: bool = False
    # Signals a Notify took out of the ignored state after an Ignore() of all: Notify clears each of its
    # signals' ignored bit (signal_enable, src/runtime/sigqueue.go: `sig.ignored[s/32] = i &^ bit`).
    unignored: set[str] = field(default_factory=set)
    # SIGHUP/SIGINT inherited as SIG_IGN: the runtime installs no handler of its own for them, so while no
    # channel wants them they stay ignored by the system, whatever Ignored reports after a Notify.
    inherited: set[str] = field(default_factory=set)
    parents: dict[str, dict[str, Any]] = field(default_factory=dict)  # contexts of op signal.context.parent


# Signals whose inherited SIG_IGN the runtime keeps (os/signal doc: "started with either SIGHUP or SIGINT ignored").
KEEPS_INHERITED_IGNORE = {"SIGHUP", "SIGINT"}
# Job-control signals: the runtime installs no handler, so they get the system default (stop).
JOB_CONTROL = {"SIGTSTP", "SIGTTIN", "SIGTTOU"}


def sigs(rt: OracleRuntime) -> Signals:
    def new() -> Signals:
        st = Signals()
        launch = rt.setup.get("launch") or {}
        for name in launch.get("ignore_signals") or []:
            sig = canon(name)
            if sig not in KEEPS_INHERITED_IGNORE:
                raise Unsupported(f"the oracle models an inherited SIG_IGN for SIGHUP and SIGINT only, not {sig}")
            st.inherited.add(sig)
            st.ignored.add(sig)  # sigInitIgnored
        return st

    s: Signals = rt.area("signals", new)
    return s


def _new_chan(rt: OracleRuntime, buffer: int) -> tuple[str, Chan]:
    st = sigs(rt)
    handle = f"chan{len(st.chans)}"
    st.chans[handle] = Chan(buffer=buffer)
    return handle, st.chans[handle]


def _chan(rt: OracleRuntime, ref: Any) -> Chan | None:
    if ref is None:
        return None
    parsed = parse_ref(ref)
    handle = ref.get("handle") if isinstance(ref, dict) else parsed.name if parsed and not parsed.path else str(ref)
    c = sigs(rt).chans.get(str(handle))
    if c is None:
        c = sigs(rt).chans.get(
            str(rt.bound.get(str(handle), {}).get("handle")) if isinstance(rt.bound.get(str(handle)), dict) else ""
        )
    if c is None:
        raise Unsupported(f"bad arguments: unknown channel {ref!r}")
    return c


def _notify(rt: OracleRuntime, c: Chan, names: list[str]) -> None:
    st = sigs(rt)
    c.add(names)
    for n in names:
        st.ignored.discard(n)
        st.unignored.add(n)
    if not names:
        st.ignored, st.ignore_all, st.unignored = set(), False, set()


def is_ignored(rt: OracleRuntime, sig: str) -> bool:
    st = sigs(rt)
    return sig in st.ignored or (st.ignore_all and sig not in st.unignored and sig not in ("SIGKILL", "SIGSTOP"))


@step("op:signal.notify")
def signal_notify(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, str]:
    handle, c = _new_chan(rt, int(w.get("buffer", 1)))
    _notify(rt, c, [canon(s) for s in w.get("signals") or []])
    return {"handle": handle, "type": "chan os.Signal"}


@step("os/signal.Notify")
def notify(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    c = _chan(rt, args[0])
    if c is None:
        raise PanicError("os/signal: Notify using nil channel", "string")
    _notify(rt, c, [canon(s) for s in args[1:]])


@step("os/signal.Stop")
def stop(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    c = _chan(rt, args[0])
    if c is not None:
        c.remove(None)


@step("os/signal.Reset")
def reset(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    names = [canon(s) for s in args]
    for c in sigs(rt).chans.values():
        c.remove(names or None)


@step("os/signal.Ignore")
def ignore(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> None:
    names = [canon(s) for s in args]
    st = sigs(rt)
    for c in st.chans.values():
        c.remove(names or None)
    if names:
        st.ignored.update(names)
        st.unignored.difference_update(names)
    else:
        st.ignore_all, st.unignored = True, set()


@step("os/signal.Ignored")
def ignored(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> bool:
    return is_ignored(rt, canon(args[0]))


@step("os/signal.NotifyContext")
def notify_context(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    parent, parent_name = None, "context.Background"
    if args[0] is not None:
        ref = resolve(rt, args[0])
        parent = ref.get("handle") if isinstance(ref, dict) else None
        if parent not in sigs(rt).parents:
            raise Unsupported("the oracle models NotifyContext on context.Background or a signal.context.parent only")
        parent_name = "context.Background.WithCancel"
    names = [canon(s) for s in args[1:]]
    handle, c = _new_chan(rt, 1)
    _notify(rt, c, names)
    # String() lists the signals in brackets only when there are some (signalCtx.String,
    # src/os/signal/signal.go: `if len(c.signals) != 0 { buf = append(buf, ", ["...) ...`).
    shown = f", [{' '.join(NAMES.get(n, n) for n in names)}]" if names else ""
    # "cause": None while the context is not done, else the cause of whatever made it done first (a later
    # signal, stop or parent cancel does not change it: context.WithCancelCause keeps the first cause). A
    # parent cancelled already makes it done at once (NotifyContext starts no goroutine then).
    parent_done = parent is not None and sigs(rt).parents[parent]["cancelled"]
    c.context = {
        "string": f"signal.NotifyContext({parent_name}{shown})",
        "parent": parent,
        "cause": "context canceled" if parent_done else None,
    }
    return [{"handle": handle, "type": "*signal.signalCtx"}, {"handle": handle + "-stop", "type": "context.CancelFunc"}]


def dump(rt: OracleRuntime, sig: str) -> None:
    text = f"{sig}: {DUMPING[sig]}\nPC=0x46f0a1 m=0 sigcode=0\n\ngoroutine 0 [idle]:\nruntime.futex(...)\n"
    text += proc.goroutine_dump(rt, "system", current="syscall.Kill(0x0?, 0x0?)", all_goroutines=True)
    raise Exited(2, text)


def _deliver(rt: OracleRuntime, c: Chan, sig: str) -> None:
    """os/signal relays ``sig`` to ``c``. A NotifyContext's goroutine takes the first signal off its channel
    and cancels the context with it as the cause (src/os/signal/signal.go NotifyContext: `case s := <-c.ch:
    c.cancel(signalError(s.String() + " signal received"))`), unless the context is done already (its
    goroutine then ended: `case <-c.Done():`) - the cause names the signal from go1.26 (before,
    context.WithCancel: context.Canceled)."""
    if c.context is not None and c.context["cause"] is None:
        cause = "context canceled"
        if rt.release >= spec_since("os/signal.NotifyContext#cause-describes-signal"):
            cause = f"{NAMES.get(sig, sig)} signal received"
        c.context["cause"] = cause
        return
    if len(c.queue) < c.buffer:  # Notify never blocks: a full (or unbuffered) channel drops it
        c.queue.append(sig)


def from_runtime(rt: OracleRuntime, sig: str, times: int = 1) -> None:
    """The runtime sends ``sig`` to one of its own threads ``times`` times (SIGURG from preemptM): the
    handler relays each to the channels that want it (sighandler, runtime/signal_unix.go: a sigPreempt
    "may have been coalesced with another signal, so we still let it through to the application", then
    sigsend for a _SigNotify signal), and otherwise does nothing: SIGURG's entry in sigtable is
    _SigNotify + _SigIgn. Once every channel is full the rest are dropped, so only that many are relayed."""
    wanting = [c for c in sigs(rt).chans.values() if c.wants(sig)]
    for _ in rt.loop(min(times, max((c.buffer for c in wanting), default=0) + 1)):
        for c in wanting:
            _deliver(rt, c, sig)


@step("op:signal.raise")
def signal_raise(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    sig = canon(w["signal"])
    if sig == "SIGPROF":
        return  # the runtime's profiler handles SIGPROF itself: never relayed to channels, never fatal
    listeners = [c for c in sigs(rt).chans.values() if c.wants(sig)]
    for c in listeners:
        _deliver(rt, c, sig)
    if listeners or is_ignored(rt, sig) or sig in sigs(rt).inherited:
        return
    if sig in TERMINATING:
        raise Exited(-1, signal=sig)
    if sig in DUMPING:
        dump(rt, sig)
    if sig in JOB_CONTROL or sig in ("SIGKILL", "SIGSTOP"):
        raise Unsupported(f"the oracle does not model {sig}'s system default")
    # every other signal is caught and ignored


@step("op:signal.recv")
def signal_recv(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> Any:
    ref = w.get("channel")
    parsed = parse_ref(ref)
    if parsed is not None and parsed.single_index is not None:  # "$ctx[0]": a NotifyContext's context
        ref = (rt.bound.get(parsed.name) or [None])[parsed.single_index]
    c = _chan(rt, ref)
    if c is None:
        raise Unsupported("bad arguments: op signal.recv needs a channel")
    if c.context is not None:
        cause = c.context["cause"]
        if cause is None:
            return None
        # The cause is context.Canceled itself, or (1.26+) a signal cause whose Is method says it is Canceled.
        return {"err": "context canceled", "cause": cause, "cause_is_canceled": True, "string": c.context["string"]}
    return c.queue.pop(0) if c.queue else None


@step("op:signal.context.parent")
def context_parent(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[Any]:
    st = sigs(rt)
    handle = f"parent{len(st.parents)}"
    st.parents[handle] = {"cancelled": False}
    return [
        {"handle": handle, "type": "*context.cancelCtx"},
        {"handle": handle + "-cancel", "type": "context.CancelFunc"},
    ]


@step("op:signal.context.cancel")
def context_cancel(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    ref = resolve(rt, w.get("func"))
    handle = str(ref.get("handle")) if isinstance(ref, dict) else ""
    st = sigs(rt)
    if handle.endswith("-cancel") and handle[: -len("-cancel")] in st.parents:
        parent = handle[: -len("-cancel")]
        st.parents[parent]["cancelled"] = True
        for c in st.chans.values():  # its NotifyContext children are done, with the parent's cause
            if c.context is not None and c.context["parent"] == parent and c.context["cause"] is None:
                c.context["cause"] = "context canceled"
        return None
    if handle.endswith("-stop") and handle[: -len("-stop")] in st.chans:
        c = st.chans[handle[: -len("-stop")]]
        # stop: c.cancel(nil) (context.Canceled, unless done already), then Stop of its channel.
        if c.context is not None and c.context["cause"] is None:
            c.context["cause"] = "context canceled"
        c.remove(None)
        return None
    raise Unsupported(f"bad arguments: op signal.context.cancel: unknown func {w.get('func')!r}")


@step("op:process.sigpipe.write")
def sigpipe_write(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """A write to a broken pipe (os/signal doc, "SIGPIPE")."""
    fd = str(w.get("fd", "pipe"))
    names = {"1": "/dev/stdout", "2": "/dev/stderr", "pipe": "|1"}
    if fd not in names:
        raise Unsupported('bad arguments: op process.sigpipe.write: fd must be 1, 2 or "pipe"')
    listeners = [c for c in sigs(rt).chans.values() if c.wants("SIGPIPE")]
    for c in listeners:
        _deliver(rt, c, "SIGPIPE")
    if fd in ("1", "2") and not listeners and not is_ignored(rt, "SIGPIPE"):
        raise Exited(-1, signal="SIGPIPE")  # on fd 1 or 2 the program exits with SIGPIPE
    return {"n": 0, "error": f"write {names[fd]}: broken pipe", "epipe": True}


@step("op:process.child.signal")
def child_signal(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    """A child copy of the program, in a process group of its own, sends itself a signal (see the driver)."""
    sig = canon(w.get("signal"))
    out: dict[str, Any] = {"stopped": None, "exit": None, "signal": None}
    if w.get("notify"):
        out["exit"] = 10
    elif sig in JOB_CONTROL or sig == "SIGSTOP":
        out["stopped"], out["exit"] = sig, 7
    elif sig in TERMINATING:
        out["signal"] = sig
    elif sig in DUMPING:
        out["exit"] = 2
    else:
        out["exit"] = 8
    return out
