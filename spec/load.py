"""Loading the spec: the YAML files under spec/ into one in-memory index.

Items are data; the only logic here is (a) resolving an item's facts *as of* a
Go release, by applying its ``changes`` in order, and (b) deriving per-go-line
GODEBUG defaults from the table fields, exactly as cmd/go does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.locations import spec_root as spec_root  # re-exported: where the spec is, found by the core
from rthooks.yamlsrc import Node, display_name, load

SPEC_FILES = ("api/*.yaml", "metrics.yaml", "godebug.yaml", "env.yaml", "process.yaml")


@dataclass
class Item:
    """One spec item, as written (``data``) plus where it was written."""

    data: Node
    file: str

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def line(self) -> int:
        return self.data.line

    @property
    def since(self) -> GoVersion:
        return GoVersion.parse(self.data["since"])

    @property
    def removed(self) -> GoVersion | None:
        r = self.data.get("removed")
        return GoVersion.parse(r) if r else None

    def exists_in(self, go: GoVersion) -> bool:
        """Whether the item is present in release ``go``."""
        removed = self.removed
        return self.since <= go.release and (removed is None or go.release < removed)

    def at(self, go: GoVersion | None) -> dict[str, Any]:
        """The item's fields as of release ``go`` (None: the newest state)."""
        out = {k: v for k, v in self.data.items() if k != "changes"}
        for ch in self.data.get("changes") or []:
            if go is None or GoVersion.parse(ch["since"]) <= go.release:
                out.update(ch.get("set") or {})
                for k in ch.get("unset") or []:
                    out.pop(k, None)
        return out

    def clause_ids(self) -> list[str]:
        return [f"{self.id}#{c['id']}" for c in self.data.get("clauses") or []]


@dataclass
class Spec:
    """Every item of every spec file, indexed by id, plus the seed's claims."""

    root: Path
    items: dict[str, Item] = field(default_factory=dict)
    files: list[tuple[Path, Any]] = field(default_factory=list)
    seed: list[Node] = field(default_factory=list)
    releases: list[GoVersion] = field(default_factory=list)
    _clauses: dict[str, tuple[Item, Node]] | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items.values())

    def get(self, item_id: str) -> Item:
        try:
            return self.items[item_id]
        except KeyError:
            raise RthooksError(f"unknown spec item {item_id!r}") from None

    def clauses(self) -> dict[str, tuple[Item, Node]]:
        """Every clause by full id (computed once: the harness asks for it per case)."""
        if self._clauses is None:
            self._clauses = {f"{item.id}#{c['id']}": (item, c) for item in self for c in item.data.get("clauses") or []}
        return self._clauses

    def in_release(self, go: GoVersion, kinds: Iterable[str] | None = None) -> list[Item]:
        ks = set(kinds) if kinds else None
        return [i for i in self if i.exists_in(go) and (ks is None or i.kind in ks)]


def spec_paths(root: Path) -> list[Path]:
    out: list[Path] = []
    for pattern in SPEC_FILES:
        out.extend(sorted(root.glob(pattern)))
    return out


def load_spec(root: Path | None = None) -> Spec:
    """Load and index the spec (without schema validation; see rthooks.spec.lint)."""
    root = root or spec_root()
    spec = Spec(root=root)
    # Files are named as the linter names them (display_name), so that a command which both
    # validates and indexes the spec parses each file once (yamlsrc caches by content and name).
    for path in spec_paths(root):
        rel = display_name(path)
        data = load(path, rel)
        spec.files.append((path, data))
        for raw in (data or {}).get("items") or []:
            if isinstance(raw, Node) and "id" in raw:
                spec.items.setdefault(str(raw["id"]), Item(raw, rel))
    seed_path = root / "seed.yaml"
    if seed_path.exists():
        data = load(seed_path, display_name(seed_path))
        spec.files.append((seed_path, data))
        spec.seed = list((data or {}).get("claims") or [])
    rel_path = root / "releases.yaml"
    spec.releases = [GoVersion.parse(r["go"]) for r in load(rel_path, display_name(rel_path))["releases"]]
    return spec


@cache
def default_spec() -> Spec:
    return load_spec()


def godebug_default(item: Item, go: GoVersion, goline: GoVersion) -> str | None:
    """The value a GODEBUG key takes by default in release ``go`` for a main module at ``goline``.

    Mirrors cmd/go's ``godebugForGoVersion``: a key whose default changed in
    1.C gets its ``old`` value when the go line's minor version is below C.
    """
    facts = item.at(go)
    table = facts.get("table") or {}
    changed = int(table.get("changed") or 0)
    if changed and goline.minor < changed:
        return str(table.get("old"))
    d = facts.get("default")
    return None if d is None else str(d)
