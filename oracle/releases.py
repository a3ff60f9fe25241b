"""Release facts, read in one place: the spec's dates, and the cut-off table for the rest.

"Facts about releases live in the spec and are read through it; the oracle keeps behaviour, not
tables" (shared/ARCHITECTURE.md). So when the model needs to know whether a release has a
behaviour, it asks the spec first: an item's ``since``/``removed`` (``godebug:tlsrsakex``,
``runtime.AddCleanup``) or a clause's (``runtime.PanicNilError.Error#message-127``), through
:func:`spec_since`, :func:`spec_removed` and :func:`in_spec`. Only a change the spec has no date
for is read from oracle/cutoffs.py, through :func:`cutoff`. Every release comparison in the
oracle is then spelled ``rt.release >= spec_since(...)`` / ``rt.release >= cutoff(...)`` (or
``in_spec(rt.release, ...)``), on :class:`rthooks.goversion.GoVersion`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle.cutoffs import CUTOFFS
from rthooks.spec.load import default_spec


class UnknownFact(KeyError):
    """A release fact the oracle asked for is not in the spec (or not in the cut-off table)."""


@cache
def _dates(ref: str) -> tuple[GoVersion, GoVersion | None]:
    """(since, removed) of a spec item ``ID`` or clause ``ID#CLAUSE``; a clause without dates of
    its own has its item's."""
    item_id, _, clause_id = ref.partition("#")
    item = default_spec().items.get(item_id)
    if item is None:
        raise UnknownFact(f"no spec item {item_id!r}")
    since, removed = item.since, item.removed
    if clause_id:
        clause: Any = next((c for c in item.data.get("clauses") or [] if c["id"] == clause_id), None)
        if clause is None:
            raise UnknownFact(f"no spec clause {ref!r}")
        if clause.get("since"):
            since = GoVersion.parse(clause["since"])
        if clause.get("removed"):
            removed = GoVersion.parse(clause["removed"])
    return since, removed


def spec_since(ref: str) -> GoVersion:
    """The first release of a spec item or clause."""
    return _dates(ref)[0]


def spec_removed(ref: str) -> GoVersion | None:
    """The release that no longer has a spec item or clause (None: every release since has it)."""
    return _dates(ref)[1]


def in_spec(release: GoVersion, ref: str) -> bool:
    """Whether ``release`` has the spec item or clause ``ref``."""
    since, removed = _dates(ref)
    return since <= release.release and (removed is None or release.release < removed)


_BY_NAME = {c.name: c for c in CUTOFFS}


def cutoff(name: str) -> GoVersion:
    """The first release with the behaviour change ``name`` of oracle/cutoffs.py."""
    try:
        return _BY_NAME[name].release
    except KeyError:
        raise UnknownFact(f"no cut-off {name!r} in oracle/cutoffs.py") from None
