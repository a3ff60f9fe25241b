"""The env area: GOGC, GOMEMLIMIT, GOMAXPROCS, GOTRACEBACK and GODEBUG at start-up, one process per program.

The grammars and the probes are in :mod:`rthooks.harness.fuzz._strategies` (``env_programs``). The area
does not batch: every program starts with an environment of its own, and starting its process ahead
measured no faster (the runtime's own work dominates: a GOMEMLIMIT of a few MiB keeps the collector
running) while it costs a second runtime start-up per program.
"""

from __future__ import annotations

from rthooks.harness.fuzz._strategies import env_programs
from rthooks.harness.fuzz.areas import Area

AREA = Area(
    name="env",
    description="GOGC, GOMEMLIMIT, GOMAXPROCS, GOTRACEBACK and GODEBUG at start-up (one process per program)",
    programs=env_programs,
)
