"""The steps the model can perform, registered by the area modules (gc, sched, metricsmodel, ...).

One small module per concern, each registering its steps with ``@step(ID)``
where ID is a spec item id ("runtime/debug.SetGCPercent") or "op:NAME" for a
protocol op. A step function takes the runtime, the resolved positional
arguments and the resolved named arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rthooks.oracle.state import OracleRuntime

StepFn = Callable[["OracleRuntime", list[Any], dict[str, Any]], Any]
STEPS: dict[str, StepFn] = {}


def step(*ids: str) -> Callable[[StepFn], StepFn]:
    def register(fn: StepFn) -> StepFn:
        for i in ids:
            if i in STEPS:
                raise RuntimeError(f"oracle step {i} registered twice")
            STEPS[i] = fn
        return fn

    return register


def load_areas() -> None:
    """Import every area module so that its steps are registered."""
    from rthooks.oracle import (  # noqa: F401
        buildinfo,
        callers,
        cgomodel,
        gc,
        godebugmodel,
        goroutines,
        heap,
        libgodebug,
        metricsmodel,
        proc,
        profiles,
        sched,
        signals,
        traceback,
        traces,
    )
