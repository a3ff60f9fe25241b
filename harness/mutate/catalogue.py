"""The mutation catalogue: harness/mutants/*.yaml, loaded, checked and filtered.

A mutant is data (a literal edit of a Go toolchain's source and the spec clauses it breaks), so a
contributor adds one the way they add a case: by pull request, checked by schema and by the
spec. Whether its text still matches a release's source is checked against the real GOROOT
(:func:`problems_in`), because a mutant that silently stops applying measures nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.locations import data_dir
from rthooks.protocol.schemas import harness_schema, validator
from rthooks.ui import did_you_mean
from rthooks.yamlsrc import display_name, line_of, load


@dataclass(frozen=True)
class Edit:
    """One literal replacement in one GOROOT file."""

    file: str
    find: str
    replace: str


@dataclass(frozen=True)
class Needs:
    """What the host must offer for a case to tell the mutant apart (see the schema's ``needs``)."""

    why: str
    cpus: int = 0
    capabilities: tuple[str, ...] = ()

    def unmet(self, cpus: int, capabilities: Collection[str]) -> list[str]:
        """What this host lacks, one phrase each (empty: everything is here)."""
        out = [f"{self.cpus} CPUs (this host has {cpus})"] if cpus < self.cpus else []
        out += [f"capability {c}" for c in self.capabilities if c not in capabilities]
        return out


@dataclass(frozen=True)
class Mutant:
    """One entry of the catalogue, with where it was written."""

    id: str
    title: str
    edits: tuple[Edit, ...]
    breaks: tuple[str, ...]
    since: GoVersion | None
    until: GoVersion | None
    equivalent: str | None
    cases: tuple[str, ...]
    where: str  # file:line
    file: str  # the catalogue file's stem (runtime_debug for harness/mutants/runtime_debug.yaml)
    needs: Needs | None = None

    def applies_to(self, release: GoVersion) -> bool:
        return (self.since is None or release >= self.since) and (self.until is None or release <= self.until)

    @property
    def items(self) -> set[str]:
        """The spec items whose clauses the mutant breaks."""
        return {c.partition("#")[0] for c in self.breaks}

    def describe(self) -> dict[str, Any]:
        """The JSON form --list prints."""
        return {
            "id": self.id,
            "title": self.title,
            "breaks": list(self.breaks),
            "since": str(self.since) if self.since else None,
            "until": str(self.until) if self.until else None,
            "files": sorted({e.file for e in self.edits}),
            "equivalent": self.equivalent,
            "needs": None
            if self.needs is None
            else {
                "cpus": self.needs.cpus or None,
                "capabilities": list(self.needs.capabilities),
                "why": self.needs.why,
            },
            "where": self.where,
        }


def catalogue_root() -> Path:
    """harness/mutants/ of the checkout or the installed package."""
    return data_dir("harness", "mutants") / "mutants"


def load_catalogue(root: Path | None = None, *, clauses: Iterable[str] | None = None) -> list[Mutant]:
    """Every mutant under ``root``, in file then written order. Schema violations, duplicate ids,
    release bounds out of order and (with ``clauses``, the spec's clause ids) unknown clauses are one
    RthooksError naming file:line."""
    root = root or catalogue_root()
    files = sorted(root.glob("*.yaml"))
    if not files:
        raise RthooksError("no mutant files (*.yaml)", where=display_name(root))
    known = set(clauses) if clauses is not None else None
    out: list[Mutant] = []
    seen: dict[str, str] = {}
    check = validator(harness_schema("mutants.schema.json"))
    for path in files:
        name = display_name(path)
        data = load(path)
        errors = sorted(check.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            loc = list(e.absolute_path)
            raise RthooksError(
                f"{'/'.join(str(p) for p in loc) or 'file'}: {e.message[:300]}",
                where=f"{name}:{line_of(data, loc)}",
            )
        for i, m in enumerate(data["mutants"]):
            where = f"{name}:{line_of(data, ['mutants', i])}"
            mid = str(m["id"])
            if mid in seen:
                raise RthooksError(f"mutant {mid!r} is already defined at {seen[mid]}", where=where)
            seen[mid] = where
            since = GoVersion.parse(m["since"]) if m.get("since") else None
            until = GoVersion.parse(m["until"]) if m.get("until") else None
            if since and until and until < since:
                raise RthooksError(f"mutant {mid!r}: until {until} is before since {since}", where=where)
            edits = tuple(Edit(str(e["file"]), str(e["find"]), str(e["replace"])) for e in m["edits"])
            for e in edits:
                if e.find == e.replace:
                    raise RthooksError(f"mutant {mid!r}: an edit of {e.file} replaces its text by itself", where=where)
            if known is not None:
                for c in m["breaks"]:
                    if c not in known:
                        raise RthooksError(
                            f"mutant {mid!r} breaks {c!r}, which is not a clause of the spec", where=where
                        )
            out.append(
                Mutant(
                    id=mid,
                    title=str(m["title"]),
                    edits=edits,
                    breaks=tuple(str(c) for c in m["breaks"]),
                    since=since,
                    until=until,
                    equivalent=str(m["equivalent"]) if m.get("equivalent") else None,
                    cases=tuple(str(c) for c in m.get("cases") or ()),
                    needs=_needs(m.get("needs")),
                    where=where,
                    file=path.stem,
                )
            )
    return out


def _needs(data: Any) -> Needs | None:
    if not data:
        return None
    return Needs(
        why=str(data["why"]),
        cpus=int(data.get("cpus") or 0),
        capabilities=tuple(str(c) for c in data.get("capabilities") or ()),
    )


def select(mutants: Sequence[Mutant], only: Sequence[str] | None) -> list[Mutant]:
    """The mutants named by ``only`` (all when empty); an unknown id is an error that lists none of
    the others (the catalogue is long) but suggests the close one."""
    if not only:
        return list(mutants)
    by_id = {m.id: m for m in mutants}
    for i in only:
        if i not in by_id:
            raise RthooksError(f"--only {i}: no mutant has this id" + did_you_mean(i, list(by_id)))
    return [by_id[i] for i in only]


def problems_in(goroot: Path, mutant: Mutant) -> list[str]:
    """Why ``mutant`` does not apply to the source under ``goroot`` (empty when every edit's text
    occurs exactly once in its file)."""
    out = []
    for e in mutant.edits:
        path = goroot / e.file
        try:
            text = path.read_text()
        except OSError:
            out.append(f"{e.file}: no such file")
            continue
        n = text.count(e.find)
        if n != 1:
            first = e.find.strip().splitlines()[0][:60] if e.find.strip() else repr(e.find)
            out.append(f"{e.file}: the text {first!r} occurs {n} times, not once")
    return out
