"""The model's runtime state and the steps it can perform."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rthooks.goversion import GoVersion


class Unsupported(Exception):
    """The model does not (yet) perform this step."""


class Exited(Exception):
    """The modelled process ended: with an exit status, or killed by a signal."""

    def __init__(self, status: int, stderr: str = "", signal: str | None = None) -> None:
        super().__init__(status)
        self.status, self.stderr, self.signal = status, stderr, signal


# Signals whose default action in a Go program ends it (os/signal package doc).
_TERMINATING = {"SIGHUP", "SIGINT", "SIGTERM"}


class PanicError(Exception):
    """A recovered panic: its printed text and its dynamic type."""

    def __init__(self, text: str, type_: str) -> None:
        super().__init__(text)
        self.text, self.type = text, type_


@dataclass
class OracleRuntime:
    release: GoVersion
    gcpercent: int
    memlimit: int
    gomaxprocs: int
    env: dict[str, str]
    workdir: Path
    setup: dict[str, Any] = field(default_factory=dict)
    gc_forced: int = 0
    gc_automatic: int = 0
    maxstack: int = 1_000_000_000
    maxthreads: int = 10_000
    stdout: str = ""
    stderr: str = ""
    bound: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)

    Panic = PanicError

    def step(self, step: dict[str, Any]) -> Any:
        def ref(a: Any) -> Any:
            return self.bound.get(a[1:], a) if isinstance(a, str) and a.startswith("$") else a

        args = [ref(a) for a in step.get("args") or []]
        with_ = {k: ref(v) for k, v in (step.get("with") or {}).items()}
        name = step.get("call") or f"op:{step.get('op')}"
        fn = _STEPS.get(name)
        if fn is None:
            raise Unsupported(f"the oracle does not model {name} yet")
        value = fn(self, args, with_)
        if step.get("bind"):
            self.bound[step["bind"]] = value
        return value

    # --- runtime/debug and runtime setters -------------------------------------------------
    def set_gc_percent(self, args: list[Any], _: dict[str, Any]) -> int:
        prev = self.gcpercent
        self.gcpercent = -1 if int(args[0]) < 0 else int(args[0])
        return prev

    def set_memory_limit(self, args: list[Any], _: dict[str, Any]) -> int:
        prev = self.memlimit
        if int(args[0]) >= 0:
            self.memlimit = int(args[0])
        return prev

    def set_max_stack(self, args: list[Any], _: dict[str, Any]) -> int:
        prev, self.maxstack = self.maxstack, int(args[0])
        return prev

    def set_max_threads(self, args: list[Any], _: dict[str, Any]) -> int:
        prev, self.maxthreads = self.maxthreads, int(args[0])
        return prev

    def gomaxprocs_call(self, args: list[Any], _: dict[str, Any]) -> int:
        prev = self.gomaxprocs
        if int(args[0]) >= 1:
            self.gomaxprocs = int(args[0])
        return prev

    def gc(self, _a: list[Any], _w: dict[str, Any]) -> None:
        self.gc_forced += 1
        if (self.env_godebug("gctrace") or "0") not in ("", "0"):
            # The summary line's shape (runtime/extern.go); the model's numbers are placeholders.
            n = self.gc_forced + self.gc_automatic
            self.stderr += (
                f"gc {n} @0.{n:03d}s 0%: 0.010+0.10+0.001 ms clock, 0.020+0/0.050/0+0.002 ms cpu, "
                f"0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, {self.gomaxprocs} P (forced)\n"
            )

    def busy(self, _a: list[Any], _w: dict[str, Any]) -> None:
        """CPU work has no observable effect in the model."""

    def version(self, _a: list[Any], _w: dict[str, Any]) -> str:
        return f"go{self.release}"

    # --- metrics -------------------------------------------------------------------------
    def metrics_read(self, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
        known: dict[str, Any] = {
            "/gc/gogc:percent": self.gcpercent if self.gcpercent >= 0 else (1 << 64) - 1,
            "/gc/gomemlimit:bytes": self.memlimit,
            "/sched/gomaxprocs:threads": self.gomaxprocs,
            "/gc/cycles/forced:gc-cycles": self.gc_forced,
            "/gc/cycles/automatic:gc-cycles": self.gc_automatic,
            "/gc/cycles/total:gc-cycles": self.gc_forced + self.gc_automatic,
        }
        names = w.get("names") or list(known)
        out: dict[str, Any] = {}
        for n in names:
            if n in known:
                out[n] = known[n]
            elif not self.metric_exists(n):
                out[n] = {"kind": "bad"}  # metrics.Read reports KindBad for names it does not know
            else:
                raise Unsupported(f"the oracle does not model metric {n} yet")
        return out

    def metric_exists(self, name: str) -> bool:
        from rthooks.spec.load import default_spec

        item = default_spec().items.get(f"metric:{name}")
        return item is not None and item.exists_in(self.release)

    # --- profiles and traces ---------------------------------------------------------------
    def pprof_lookup(self, args: list[Any], _: dict[str, Any]) -> Any:
        predefined = {"goroutine", "threadcreate", "heap", "allocs", "block", "mutex"}
        if self.release >= GoVersion.parse("1.27"):
            predefined.add("goroutineleak")
        name = str(args[0])
        return {"handle": f"profile:{name}", "type": "*pprof.Profile"} if name in predefined else None

    def trace_is_enabled(self, _a: list[Any], _w: dict[str, Any]) -> bool:
        return False

    # --- signals -----------------------------------------------------------------------------
    def signal_notify(self, _a: list[Any], w: dict[str, Any]) -> dict[str, str]:
        handle = f"chan{len(self.channels)}"
        self.channels[handle] = {"signals": set(w.get("signals") or []), "buffer": int(w.get("buffer", 1)), "queue": []}
        return {"handle": handle, "type": "chan os.Signal"}

    def signal_raise(self, _a: list[Any], w: dict[str, Any]) -> None:
        sig = str(w["signal"])
        listeners = [c for c in self.channels.values() if not c["signals"] or sig in c["signals"]]
        for c in listeners:
            if len(c["queue"]) < c["buffer"]:  # Notify never blocks: a full channel drops the signal
                c["queue"].append(sig)
        if not listeners and sig in _TERMINATING:
            raise Exited(-1, signal=sig)

    def signal_recv(self, _a: list[Any], w: dict[str, Any]) -> str | None:
        ref = w.get("channel")
        handle = ref.get("handle") if isinstance(ref, dict) else str(ref)
        chan = self.channels.get(str(handle))
        if chan is None:
            raise Unsupported(f"unknown channel {ref!r}")
        return chan["queue"].pop(0) if chan["queue"] else None

    # --- process ----------------------------------------------------------------------------
    def exit(self, _a: list[Any], w: dict[str, Any]) -> None:
        raise Exited(int(w.get("code", 0)) & 0xFF)

    def panic(self, _a: list[Any], w: dict[str, Any]) -> None:
        kind = w.get("type", "string")
        value = w.get("value", "")
        if kind == "nil":
            if self.release >= GoVersion.parse("1.21") and self.env_godebug("panicnil") != "1":
                text, typ = (
                    "panic called with nil argument (use GODEBUG=panicnil=1 to get old behavior)",
                    "*runtime.PanicNilError",
                )
                if self.release >= GoVersion.parse("1.27"):
                    text = "runtime error: " + text
            else:
                text, typ = "nil", "<nil>"
        elif kind == "error":
            text, typ = str(value), "*errors.errorString"
        elif kind == "int":
            text, typ = str(value), "int"
        else:
            text, typ = str(value), "string"
        if w.get("recover", True):
            raise PanicError(text, typ)
        shown = f"{text}" if kind != "string" else text
        raise Exited(2, f"panic: {shown}\n\ngoroutine 1 [running]:\nmain.main()\n")

    def env_get(self, _a: list[Any], w: dict[str, Any]) -> str | None:
        return self.env.get(str(w.get("name")))

    def env_godebug(self, key: str) -> str | None:
        """The effective GODEBUG value: environment, then //go:debug, go.mod godebug, then the go line's default."""
        found = None
        for kv in (self.env.get("GODEBUG") or "").split(","):
            k, _, v = kv.partition("=")
            if k == key:
                found = v
        if found is not None:
            return found
        for source in ("directives", "godebug"):
            if key in (self.setup.get(source) or {}):
                return str(self.setup[source][key])
        from rthooks.spec.load import default_spec, godebug_default

        item = default_spec().items.get(f"godebug:{key}")
        if item is None or not item.exists_in(self.release):
            return None
        goline = GoVersion.parse(self.setup.get("goline") or str(self.release))
        return godebug_default(item, self.release, goline)

    def write(self, _a: list[Any], w: dict[str, Any]) -> int:
        text = str(w.get("text", ""))
        if int(w.get("fd", 1)) == 2:
            self.stderr += text
        else:
            self.stdout += text
        return len(text.encode())


_STEPS = {
    "runtime/debug.SetGCPercent": OracleRuntime.set_gc_percent,
    "runtime/debug.SetMemoryLimit": OracleRuntime.set_memory_limit,
    "runtime/debug.SetMaxStack": OracleRuntime.set_max_stack,
    "runtime/debug.SetMaxThreads": OracleRuntime.set_max_threads,
    "runtime.GOMAXPROCS": OracleRuntime.gomaxprocs_call,
    "runtime.GC": OracleRuntime.gc,
    "runtime.Version": OracleRuntime.version,
    "op:gc": OracleRuntime.gc,
    "op:busy": OracleRuntime.busy,
    "op:version": OracleRuntime.version,
    "op:metrics.read": OracleRuntime.metrics_read,
    "op:exit": OracleRuntime.exit,
    "op:panic": OracleRuntime.panic,
    "op:env.get": OracleRuntime.env_get,
    "op:write": OracleRuntime.write,
    "runtime/pprof.Lookup": OracleRuntime.pprof_lookup,
    "runtime/trace.IsEnabled": OracleRuntime.trace_is_enabled,
    "op:signal.notify": OracleRuntime.signal_notify,
    "op:signal.raise": OracleRuntime.signal_raise,
    "op:signal.recv": OracleRuntime.signal_recv,
}
