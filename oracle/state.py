"""The model's runtime state and the steps it can perform."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rthooks.goversion import GoVersion
from rthooks.oracle import (
    casefiles,  # casefiles imports this module too: names are read at call time
    godebugmodel,  # the build model (DefaultGODEBUG); it needs this module for types only
)
from rthooks.oracle.callargs import call_problem, with_problem
from rthooks.oracle.registry import STEPS, load_areas
from rthooks.protocol.refs import parse_ref
from rthooks.protocol.results import OBS_CAP as OBS_CAP  # re-exported: the limits the oracle keeps itself
from rthooks.protocol.results import OUTPUT_CAP as OUTPUT_CAP

if TYPE_CHECKING:
    from rthooks.oracle.casefiles import CaseFiles


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


class Killed(Exception):
    """The harness would have killed this process now; the run ends with what was observed so far.

    The oracle runs inside the harness, so nothing can kill it: it stops itself, where a real
    implementation would have been stopped, and looks the same to the judge. Not a StepError:
    no step function catches it.
    """


class DeadlineExceeded(Killed):
    """The case's timeout passed while the model was working (RawRun.timed_out, as for a real process)."""


class ObservationOverflow(Killed):
    """A result would not fit in what is left of the observation channel (OBS_CAP bytes per run), so a
    real implementation's would not either: the harness stops a process that sends more."""


T = TypeVar("T")

# How often rt.loop looks at the clock: a few hundred cheap iterations take microseconds.
DEADLINE_EVERY = 256
# The model's state kept in proportion to a case-given size (a trace message of `bytes` bytes, say),
# summed over a run. The model itself holds a few kilobytes; the bound keeps a hostile case from
# making the harness's process (the oracle runs inside it) hold gigabytes before its deadline.
MAX_HELD_BYTES = 64 << 20


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
    deadline: float | None = None  # time.monotonic() after which the run is over (the case's timeout_s)
    obs_room: int = OBS_CAP  # bytes left on the observation channel; run_program charges each observation
    held: int = 0  # bytes charged by hold()

    def __post_init__(self) -> None:
        self.files: CaseFiles = casefiles.CaseFiles(self.workdir)

    # --- limits: what the harness enforces on a real process, enforced by the model on itself ----------

    def check_deadline(self) -> None:
        """End the run (DeadlineExceeded) once the case's timeout has passed.

        Called before every step and, through :meth:`loop`, inside every loop whose length a case
        controls, so no count, repeat, size or duration keeps the model busy past the deadline.
        """
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded()

    def loop(self, n: int) -> Iterator[int]:
        """``range(n)`` that looks at the deadline every DEADLINE_EVERY iterations."""
        for i in range(n):
            if i % DEADLINE_EVERY == 0:
                self.check_deadline()
            yield i

    def reserve(self, nbytes: int) -> None:
        """Before building a result of at least ``nbytes`` bytes of JSON from a case-given count: end the
        run as the harness would (ObservationOverflow) if it cannot fit on the observation channel, so
        the model never builds a value no implementation could deliver."""
        if nbytes > self.obs_room:
            raise ObservationOverflow()

    def gather(self, items: Iterable[T]) -> list[T]:
        """The elements of a result whose length a case controls, as a list: the deadline is checked as
        they come, and the list ends the run (ObservationOverflow) as soon as its JSON outgrows the
        observation channel's room, before the model has built more than the channel could carry."""
        out: list[T] = []
        room = self.obs_room - 2  # the brackets
        for i, x in enumerate(items):
            if i % DEADLINE_EVERY == 0:
                self.check_deadline()
            room -= len(json.dumps(x, separators=(",", ":"), default=str)) + 1
            if room < 0:
                raise ObservationOverflow()
            out.append(x)
        return out

    def hold(self, nbytes: int, what: str) -> None:
        """Charge ``nbytes`` of state the model keeps in proportion to a case-given size; past
        MAX_HELD_BYTES in one run the step is unsupported (a documented bound of the model)."""
        if self.held + nbytes > MAX_HELD_BYTES:
            raise Unsupported(f"the oracle keeps at most {MAX_HELD_BYTES} bytes of {what} in one run")
        self.held += nbytes

    def trim_output(self) -> None:
        """Keep only the start of stdout and stderr: the harness keeps OUTPUT_CAP bytes of each and
        marks the rest truncated; one character past the cap is enough for run_program to say so."""
        if len(self.stdout) > OUTPUT_CAP:
            self.stdout = self.stdout[: OUTPUT_CAP + 1]
        if len(self.stderr) > OUTPUT_CAP:
            self.stderr = self.stderr[: OUTPUT_CAP + 1]

    # --- the case's files: only inside the working directory (oracle/casefiles.py) ---------------------

    def case_path(self, name: str) -> Path:
        """Where the case's file ``name`` is; a StepError if the name leaves the working directory."""
        return self.files.path(name)

    def write_file(self, name: str, data: bytes) -> None:
        """Create or replace the case's regular file ``name`` (confined and capped: oracle/casefiles.py)."""
        self.files.write(name, data)

    def append_file(self, name: str, data: bytes) -> None:
        """Append to (or create) the case's regular file ``name``; an empty ``data`` only creates it."""
        self.files.write(name, data, append=True)

    def read_file(self, name: str) -> bytes:
        """The contents of the case's regular file ``name`` (confined and capped: oracle/casefiles.py)."""
        return self.files.read(name)

    def area(self, name: str, factory: Any) -> Any:
        """State an area module keeps for itself (created on first use), so areas never share fields."""
        if name not in self.areas:
            self.areas[name] = factory()
        return self.areas[name]

    def step(self, step: dict[str, Any]) -> Any:
        def ref(a: Any) -> Any:
            # A plain "$name" is resolved here; a reference with a path reaches the step as written,
            # for the steps that select inside a value themselves (resolve(), "$m[/metric:unit]").
            r = parse_ref(a)
            return self.bound.get(r.name, a) if r is not None and not r.path else a

        self.check_deadline()
        # Arguments the driver would not decode: the same "bad arguments" the driver reports (callargs.py).
        bad = call_problem(step["call"], list(step.get("args") or [])) if "call" in step else None
        if bad is None and "op" in step:
            bad = with_problem(str(step["op"]), step.get("with"))
        if bad is not None:
            raise Unsupported(bad)
        args = [ref(a) for a in step.get("args") or []]
        with_ = {k: ref(v) for k, v in (step.get("with") or {}).items()}
        name = step.get("call") or f"op:{step.get('op')}"
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
        return self.binary_godebug(key)

    def binary_godebug(self, key: str) -> str | None:
        """The value the binary carries (its default GODEBUG, before the environment's): cmd/go's DefaultGODEBUG
        (//go:debug over go.mod godebug over the defaults of the go line, or of ``default=goV`` from go1.23),
        else the key's own default; None for a key the release does not know (godebugmodel.binary_value)."""
        return godebugmodel.binary_value(self, key)


def resolve(rt: OracleRuntime, v: Any) -> Any:
    """Resolve a "$name[1].Field" reference to a bound value; other values, and references that do not resolve, pass through."""
    r = parse_ref(v)
    if r is None or r.name not in rt.bound:
        return v
    cur = rt.bound[r.name]
    for seg in r.path:
        i = seg.index
        if i is None and isinstance(cur, dict):
            cur = cur.get(seg.text)
        elif i is not None and isinstance(cur, list) and i < len(cur):
            cur = cur[i]
        else:
            return v
    return cur
