"""Statuses: of one case on one implementation (the record), and of one step (an observation).

One definition for every layer: the CLI's exit status, the summary, the reports' counts and
diffs all ask :data:`FAILING` which statuses fail a run, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Literal

#: Every status a case can end with, in the order reports show them.
STATUSES = ("pass", "fail", "xfail", "skip", "error", "timeout", "crash", "xpass")
Status = Literal["pass", "fail", "xfail", "skip", "error", "timeout", "crash", "xpass"]
#: Statuses that fail a run (exit status 1, a red cell, a regression in a diff).
FAILING: frozenset[str] = frozenset({"fail", "error", "timeout", "crash", "xpass"})
#: Statuses a healthy result has (a diff from these to FAILING is a regression).
GOOD: frozenset[str] = frozenset({"pass", "xfail"})

#: What one step reports (harness/schema/protocol.schema.json, step_result.status).
STEP_STATUSES = ("ok", "error", "panic", "unsupported")
StepStatus = Literal["ok", "error", "panic", "unsupported"]
#: The start of an ``unsupported`` step's reason when the implementation could not decode the
#: step's arguments (the driver writes "bad arguments: ..."): the case is wrong on every
#: implementation, so the verdict is ``error``, never ``skip`` (PROTOCOL.md, "Observations").
BAD_ARGUMENTS = "bad arguments:"
