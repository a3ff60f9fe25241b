"""The debug area: a state machine over the setters that keep process-wide state.

The machine is :func:`rthooks.harness.fuzz._strategies.setter_machine` (one rule per setter of the
driver's BATCH_CALLS, arguments from the signatures). Its programs need no start-up state, so they run
in the Go driver's batch process; one that crashes, starts with GOTRACEBACK or starts the CPU profiler
gets a process of its own, started ahead.
"""

from __future__ import annotations

from rthooks.harness.fuzz._strategies import setter_machine
from rthooks.harness.fuzz.areas import Area

AREA = Area(
    name="debug",
    description="a state machine over the setters that keep state (SetGCPercent, SetMemoryLimit, SetMaxStack, "
    "SetMaxThreads, SetTraceback, GOMAXPROCS, the profile rates)",
    machine=setter_machine,
    batched=True,
)
