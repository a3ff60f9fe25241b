"""os/signal (Notify, Stop, Reset, Ignore, Ignored, NotifyContext) and the default dispositions of signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle.registry import step
from rthooks.oracle.state import TERMINATING, Exited, OracleRuntime, PanicError, Unsupported

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
# os.Signal String() texts (syscall's signal table).
NAMES = {
    "SIGHUP": "hangup",
    "SIGINT": "interrupt",
    "SIGQUIT": "quit",
    "SIGTERM": "terminated",
    "SIGUSR1": "user defined signal 1",
    "SIGUSR2": "user defined signal 2",
    "SIGPIPE": "broken pipe",
    "SIGALRM": "alarm clock",
    "SIGCHLD": "child exited",
    "SIGWINCH": "window changed",
    "SIGURG": "urgent I/O condition",
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
    ignored: set[str] = field(default_factory=set)
    ignore_all: bool = False


def sigs(rt: OracleRuntime) -> Signals:
    s: Signals = rt.area("signals", Signals)
    return s


def _new_chan(rt: OracleRuntime, buffer: int) -> tuple[str, Chan]:
    st = sigs(rt)
    handle = f"chan{len(st.chans)}"
    st.chans[handle] = Chan(buffer=buffer)
    return handle, st.chans[handle]


def _chan(rt: OracleRuntime, ref: Any) -> Chan | None:
    if ref is None:
        return None
    handle = ref.get("handle") if isinstance(ref, dict) else str(ref).lstrip("$")
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
    if not names:
        st.ignored, st.ignore_all = set(), False


def is_ignored(rt: OracleRuntime, sig: str) -> bool:
    st = sigs(rt)
    return sig in st.ignored or (st.ignore_all and sig not in ("SIGKILL", "SIGSTOP"))


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
    else:
        st.ignore_all = True


@step("os/signal.Ignored")
def ignored(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> bool:
    return is_ignored(rt, canon(args[0]))


@step("os/signal.NotifyContext")
def notify_context(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    if args[0] is not None:
        raise Unsupported("the oracle models NotifyContext on context.Background only")
    names = [canon(s) for s in args[1:]]
    handle, c = _new_chan(rt, 1)
    _notify(rt, c, names)
    shown = " ".join(NAMES.get(n, n) for n in names)
    c.context = {"string": f"signal.NotifyContext(context.Background, [{shown}])"}
    return [{"handle": handle, "type": "*signal.signalCtx"}, {"handle": handle + "-stop", "type": "context.CancelFunc"}]


def dump(rt: OracleRuntime, sig: str) -> None:
    from rthooks.oracle import proc

    text = f"{sig}: {DUMPING[sig]}\nPC=0x46f0a1 m=0 sigcode=0\n\ngoroutine 0 [idle]:\nruntime.futex(...)\n"
    text += proc.goroutine_dump(rt, "system", current="syscall.Kill(0x0?, 0x0?)", all_goroutines=True)
    raise Exited(2, text)


@step("op:signal.raise")
def signal_raise(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> None:
    sig = canon(w["signal"])
    listeners = [c for c in sigs(rt).chans.values() if c.wants(sig)]
    for c in listeners:
        if len(c.queue) < c.buffer:  # Notify never blocks: a full (or unbuffered) channel drops it
            c.queue.append(sig)
    if listeners or is_ignored(rt, sig):
        return
    if sig in TERMINATING:
        raise Exited(-1, signal=sig)
    if sig in DUMPING:
        dump(rt, sig)
    if sig in ("SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGKILL", "SIGSTOP"):
        raise Unsupported(f"the oracle does not model {sig}'s system default")
    # every other signal is caught and ignored


@step("op:signal.recv")
def signal_recv(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> Any:
    ref = w.get("channel")
    if isinstance(ref, str) and "[" in ref:  # "$ctx[0]": a NotifyContext's context
        name, _, idx = ref.lstrip("$").partition("[")
        ref = (rt.bound.get(name) or [None])[int(idx.rstrip("]"))]
    c = _chan(rt, ref)
    if c is None:
        raise Unsupported("bad arguments: op signal.recv needs a channel")
    if c.context is not None:
        if not c.queue:
            return None
        cause = "context canceled"
        if rt.release >= GoVersion.parse("1.26"):
            cause = f"{NAMES.get(c.queue[0], c.queue[0])} signal received"
        return {"err": "context canceled", "cause": cause, "string": c.context["string"]}
    return c.queue.pop(0) if c.queue else None
