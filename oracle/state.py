"""The model's runtime state and the steps it can perform."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rthooks.goversion import GoVersion


class Unsupported(Exception):
    """The model does not (yet) perform this step."""


class StepError(Exception):
    """The modelled call returned a non-nil error (PROTOCOL.md status "error"); ``value`` keeps its other results."""

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


class Exited(Exception):
    """The modelled process ended: with an exit status, or killed by a signal."""

    def __init__(self, status: int, stderr: str = "", signal: str | None = None) -> None:
        super().__init__(status)
        self.status, self.stderr, self.signal = status, stderr, signal


# Signals whose default action in a Go program ends it (os/signal package doc).
TERMINATING = {"SIGHUP", "SIGINT", "SIGTERM"}


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
    areas: dict[str, Any] = field(default_factory=dict)

    def area(self, name: str, factory: Any) -> Any:
        """State an area module keeps for itself (created on first use), so areas never share fields."""
        if name not in self.areas:
            self.areas[name] = factory()
        return self.areas[name]

    def step(self, step: dict[str, Any]) -> Any:
        def ref(a: Any) -> Any:
            return self.bound.get(a[1:], a) if isinstance(a, str) and a.startswith("$") else a

        args = [ref(a) for a in step.get("args") or []]
        with_ = {k: ref(v) for k, v in (step.get("with") or {}).items()}
        name = step.get("call") or f"op:{step.get('op')}"
        from rthooks.oracle.registry import STEPS, load_areas

        load_areas()
        fn = STEPS.get(name)
        if fn is None:
            raise Unsupported(f"the oracle does not model {name} yet")
        value = fn(self, args, with_)
        if step.get("bind"):
            self.bound[step["bind"]] = value
        return value

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


def resolve(rt: OracleRuntime, v: Any) -> Any:
    """Resolve a "$name[1].Field" reference to a bound value; other values, and references that do not resolve, pass through."""
    if not isinstance(v, str) or not v.startswith("$") or v.startswith("$$"):
        return v
    m = re.match(r"^\$([a-z_][a-z0-9_]*)(.*)$", v)
    if not m or m.group(1) not in rt.bound:
        return v
    cur = rt.bound[m.group(1)]
    for key, idx in re.findall(r"\.([^.\[]+)|\[(\d+)\]", m.group(2)):
        if key and isinstance(cur, dict):
            cur = cur.get(key)
        elif idx and isinstance(cur, list) and int(idx) < len(cur):
            cur = cur[int(idx)]
        else:
            return v
    return cur
