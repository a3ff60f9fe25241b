"""What flows between the layers at run time, as types.

An implementation (the Go driver, the oracle, any protocol speaker) sends :data:`Observation`
lines (harness/schema/protocol.schema.json); the harness gathers them with the process's output
and ending into a :class:`RawRun`; the judge turns that into a :class:`CaseResult`, the record's
row (harness/schema/result.schema.json), which the reports read back. The types live here, in
the core, so the oracle can produce a RawRun without importing the harness and the reports can
read results without importing either.

The TypedDicts mirror the JSON Schemas (which stay normative: records are validated against
them when read); they are ``total=False`` where the schema has optional keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from rthooks.protocol.statuses import Status

#: Bytes of an implementation's stdout and of its stderr the harness keeps (the rest is marked truncated).
OUTPUT_CAP = 1 << 20
#: Bytes accepted on the observation channel in one run; a process that sends more is stopped.
OBS_CAP = 8 << 20


class Hello(TypedDict, total=False):
    """The first observation: who is speaking."""

    impl: str
    version: str
    goos: str
    goarch: str
    protocol: Literal[1]


class StepResult(TypedDict, total=False):
    """One step's observation: ``step`` and ``status`` always; the rest as the status needs."""

    step: int
    status: Literal["ok", "error", "panic", "unsupported"]
    value: Any
    error: str
    panic: str
    panic_type: str
    reason: str
    tries: int


#: One line on the observation channel: {"hello": ...}, a step result, {"done": true} or
#: {"build_error": "..."}. Kept a plain mapping: a line is untrusted until the schema accepts it.
Observation = dict[str, Any]


@dataclass
class RawRun:
    """What one process did: observations, output, how it ended, how long it took."""

    observations: list[Observation] = field(default_factory=list)
    protocol_errors: list[str] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    exit_status: int | None = None
    signal: str | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    start_error: str | None = None
    build_error: str | None = None  # the program's build failed (for cases that expect it): the toolchain's output


#: What a case observed, as the record keeps it: exit_status, signal, stdout, stderr, the bound
#: values by name, the raw step results, the implementation's hello. Open-ended by design (the
#: schema bounds only its size), so a mapping.
ObservedRecord = dict[str, Any]


class CaseResult(TypedDict, total=False):
    """One row of a run record: one case on one implementation."""

    case: str
    impl: str
    status: Status
    known: str | None
    reasons: list[str]
    covers: list[str]
    duration_s: float
    process_s: float | None
    expected: list[Any]
    observed: ObservedRecord


#: The kinds of implementation a record names (result.schema.json, implementations[].kind).
ImplKind = Literal["oracle", "go", "gccgo", "cmd"]


class Implementation(TypedDict, total=False):
    """An implementation as the record describes it."""

    name: str
    kind: ImplKind
    go_version: str
    goos: str
    goarch: str
    exec: str | None
    toolchain_path: str | None
    toolchain_hash: str | None
    goline: str | None
    command: list[str] | None


class Record(TypedDict, total=False):
    """A run record (harness/schema/result.schema.json)."""

    schema_version: int
    rthooks_version: str
    spec_revision: str
    started: str
    finished: str | None
    interrupted: bool
    shard: str | None
    implementations: list[Implementation]
    results: list[CaseResult]
