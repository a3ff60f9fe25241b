"""The steps the model can perform, registered by the area modules (gc, sched, metricsmodel, ...).

One small module per concern, each registering its steps with ``@step(ID)`` where ID is a spec
item id ("runtime/debug.SetGCPercent") or "op:NAME" for a protocol op. A step function takes the
runtime, the resolved positional arguments and the resolved named arguments.

The registry has no tricks, so that what a step does never depends on which module was imported
first:

- every id is registered once, by ``@step``; a second registration is an error naming both places
  (:class:`RegistryError`), and so is any registration after :func:`load_areas` has frozen the
  registry. :data:`STEPS` is a read-only view.
- composition is declared where it happens: ``@step(ID, before=CHECK)`` runs ``CHECK(rt)`` ahead
  of the step (the GODEBUG start-up refusals of every ``op:godebug.*`` op, the lib probes'
  start-up), and a step that gathers what other areas know (``op:ran``) calls the contributors
  registered for it with ``@contributor(ID, NAME)``, in the order of their names.
- :func:`load_areas` imports the area modules listed in :data:`AREAS` (the one place that names
  them all), then freezes the registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rthooks.oracle.state import OracleRuntime

StepFn = Callable[["OracleRuntime", list[Any], dict[str, Any]], Any]
Check = Callable[["OracleRuntime"], None]
ContributorFn = Callable[["OracleRuntime"], list[Any]]

# Every area module that registers steps or contributors, by name under rthooks.oracle.
AREAS = (
    "buildinfo",
    "callers",
    "cgomodel",
    "gc",
    "godebugops",
    "goroutines",
    "heap",
    "libgodebug",
    "metricsmodel",
    "proc",
    "profiles",
    "sched",
    "signals",
    "traceback",
    "traces",
)


class RegistryError(RuntimeError):
    """A step or contributor registered twice, or after the registry was frozen."""


@dataclass(frozen=True)
class Step:
    """A registered step: the function, the checks declared to run before it, and where it was registered."""

    id: str
    fn: StepFn
    before: tuple[Check, ...]
    where: str

    def __call__(self, rt: OracleRuntime, args: list[Any], with_: dict[str, Any]) -> Any:
        for check in self.before:
            check(rt)
        return self.fn(rt, args, with_)


@dataclass(frozen=True)
class Contributor:
    name: str
    fn: ContributorFn
    where: str


def _where(fn: Callable[..., Any]) -> str:
    """``module.function (file:line)`` of a registered function, for error messages."""
    code = getattr(fn, "__code__", None)
    place = f"{code.co_filename}:{code.co_firstlineno}" if code is not None else "?"
    return f"{fn.__module__}.{fn.__qualname__} ({place})"


class Registry:
    """Steps and contributors by id; closed to registration once frozen."""

    def __init__(self) -> None:
        self._steps: dict[str, Step] = {}
        self._contributors: dict[str, dict[str, Contributor]] = {}
        self._frozen = False
        self.steps: Mapping[str, Step] = MappingProxyType(self._steps)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        self._frozen = True

    def _check_open(self, what: str, where: str) -> None:
        if self._frozen:
            raise RegistryError(f"oracle {what} registered by {where} after the registry was frozen (load_areas)")

    def step(self, *ids: str, before: tuple[Check, ...] = ()) -> Callable[[StepFn], StepFn]:
        """Register the decorated function as the step(s) ``ids``; ``before`` runs ahead of it, in order.

        The function itself is returned unchanged, so other modules and tests may call it directly.
        """

        def register(fn: StepFn) -> StepFn:
            where = _where(fn)
            for i in ids:
                self._check_open(f"step {i}", where)
                if i in self._steps:
                    raise RegistryError(f"oracle step {i} registered twice: by {self._steps[i].where} and by {where}")
                self._steps[i] = Step(i, fn, tuple(before), where)
            return fn

        return register

    def contributor(self, step_id: str, name: str) -> Callable[[ContributorFn], ContributorFn]:
        """Register the decorated function as contributor ``name`` of the step ``step_id``."""

        def register(fn: ContributorFn) -> ContributorFn:
            where = _where(fn)
            self._check_open(f"contributor {name} of {step_id}", where)
            mine = self._contributors.setdefault(step_id, {})
            if name in mine:
                raise RegistryError(
                    f"oracle contributor {name} of {step_id} registered twice: by {mine[name].where} and by {where}"
                )
            mine[name] = Contributor(name, fn, where)
            return fn

        return register

    def contributions(self, rt: OracleRuntime, step_id: str) -> list[Any]:
        """What every contributor of ``step_id`` adds, concatenated in the order of their names."""
        out: list[Any] = []
        mine = self._contributors.get(step_id, {})
        for name in sorted(mine):
            out += mine[name].fn(rt)
        return out


# The oracle's one registry; the area modules register through these names.
REGISTRY = Registry()
STEPS: Mapping[str, Step] = REGISTRY.steps
step = REGISTRY.step
contributor = REGISTRY.contributor
contributions = REGISTRY.contributions


def load_areas() -> None:
    """Import every area module of :data:`AREAS` so that its steps are registered, then freeze."""
    if REGISTRY.frozen:
        return
    for name in AREAS:
        importlib.import_module(f"rthooks.oracle.{name}")
    REGISTRY.freeze()


#: The steps that are not models, in one place (issue 14, "the oracle as a model"): each answers what
#: the documentation promises without a mechanism that could answer otherwise ("stated"), or reads a
#: fact of the machine the harness runs on ("host"). Differential fuzzing never generates them
#: (tests/test_oracle_registry.py holds the fuzz areas apart from them), so an agreement found by the
#: fuzzer is never one of these answers agreeing with itself; a test also finds every step whose
#: answers are all constants and requires it to be listed here.
NOT_MODELLED: Mapping[str, str] = MappingProxyType(
    {
        "op:godebug.maps": "host: whether this kernel can name anonymous mappings (prctl PR_SET_VMA_ANON_NAME)",
        "op:pprof.keepalive.probe": "stated: a value added to a profile stays reachable until Remove; the heap "
        "model does not trace references from profiles (oracle/profiles.py)",
        "op:process.gosched-probe": "stated: with one P a new goroutine runs only after the caller yields; the op "
        "takes no input and the model never holds another runnable goroutine, so a run queue (runnext first) "
        "could only ever answer this one value",
        "op:runtime.metrics.all.alias": "stated: metrics.All returns its package-level slice; the model has no "
        "slice identity",
        "op:runtime.metrics.buckets.alias": "stated: a histogram's buckets are one shared array; the model has "
        "no slice identity",
        "op:runtime.consts": "stated: the port the oracle models, gc on linux/amd64",
    }
)
