"""The fuzz areas: what each generates, and how its programs are run and compared.

One module per area, each defining ``AREA`` (an :class:`Area`, whose ``name`` is the module's name):
the modules of this package are the areas, found by listing it, so adding an area touches no other file. An area gives either a Hypothesis
strategy of whole programs (``programs``: the environment area, where nothing carries over from one
step to the next) or a rule-based state machine class (``machine``: the setters, signals, threads,
where a program is a sequence of calls on process-wide state), and the step relations it needs where
the real runtime is nondeterministic (``Relation``: a step's value compared by a stated relation
instead of equality, with the reason written next to it).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from rthooks.goversion import GoVersion
from rthooks.harness.fuzz._strategies import Relation
from rthooks.spec.load import Spec


@dataclass(frozen=True)
class Area:
    """One fuzz area. Exactly one of ``programs`` and ``machine`` is set.

    ``programs(spec, go)``: a strategy of :class:`~rthooks.harness.fuzz._strategies.Program`.
    ``machine(spec, go, check)``: a RuleBasedStateMachine class whose teardown calls ``check(program)``.
    ``batched``: its programs may run in the Go driver's batch process or a process started ahead
    (harness.impls.run_batched decides per program; a program that cannot share a process gets its own).
    ``steps``: the state machine's step budget per program (Hypothesis's ``stateful_step_count``).
    ``requires``: what the area's programs need of the implementation (case ``requires``), so a
    program is skipped, not failed, where it cannot run.
    ``relations``: the step relations the area's programs use (a Program attaches one to a step with
    ``Program.add(..., relation=R)``); listed here so the table of loosened comparisons is complete.
    """

    name: str
    description: str
    programs: Callable[[Spec, GoVersion], st.SearchStrategy[Any]] | None = None
    machine: Callable[[Spec, GoVersion, Callable[[Any], None]], type[RuleBasedStateMachine]] | None = None
    batched: bool = False
    steps: int = 6
    requires: dict[str, Any] = field(default_factory=dict)
    relations: tuple[Relation, ...] = ()


def _load() -> dict[str, Area]:
    areas: dict[str, Area] = {}
    for name in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
        area = importlib.import_module(f"{__name__}.{name}").AREA
        if not isinstance(area, Area) or area.name != name:
            raise RuntimeError(f"rthooks.harness.fuzz.areas.{name}: AREA is not the Area named {name!r}")
        if (area.programs is None) == (area.machine is None):
            raise RuntimeError(f"fuzz area {name}: give exactly one of programs and machine")
        areas[name] = area
    return areas


AREAS: dict[str, Area] = _load()  # by name


def loosened() -> dict[str, str]:
    """Every step relation of every area: ``area:name`` -> why equality is not compared there."""
    return {f"{a.name}:{r.name}": r.reason for a in AREAS.values() for r in a.relations}


__all__ = ["AREAS", "Area", "Relation", "loosened"]
