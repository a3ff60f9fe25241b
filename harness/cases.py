"""Loading cases: YAML files under cases/, validated, selected, and gated by `requires`."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.locations import cache_dir
from rthooks.spec.lint import lint_paths
from rthooks.spec.lint.engine import cases_root, file_digest
from rthooks.yamlsrc import Node, display_name, load


@dataclass(frozen=True)
class Case:
    """One case as written, with where it was written."""

    id: str
    data: Node = field(compare=False, hash=False)
    file: str = field(compare=False, hash=False)
    line: int = field(compare=False, hash=False)

    @property
    def covers(self) -> list[str]:
        return list(self.data.get("covers") or [])

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.data.get("steps") or [])

    @property
    def expect(self) -> list[dict[str, Any]]:
        return list(self.data.get("expect") or [])

    @property
    def setup(self) -> dict[str, Any]:
        return dict(self.data.get("setup") or {})

    @property
    def timeout_s(self) -> float:
        return float(self.data.get("timeout_s") or 30)

    def expects_build_failure(self) -> bool:
        """A build case: it expects the toolchain to reject the program's build configuration."""
        return any(e.get("of") == "build" for e in self.expect)

    def expects_termination(self) -> bool:
        """Whether the case expects the process to end other than by finishing its steps."""
        for s in self.steps:
            if s.get("op") in ("exit", "fatal") or s.get("call") in ("os.Exit", "runtime.Goexit"):
                return True
            if s.get("op") == "panic" and (s.get("with") or {}).get("recover") is False:
                return True
            if s.get("op") == "process.defers" and (s.get("with") or {}).get("body") == "exit":
                return True  # os.Exit inside a deferred chain
        for e in self.expect:
            if "signal" in e:
                return True
            if "exit_status" in e:
                want = e["exit_status"] if isinstance(e["exit_status"], list) else [e["exit_status"]]
                if any(w != 0 for w in want):
                    return True
        return False


def load_cases(
    root: Path | None = None, *, validate: bool = True, wanted: Callable[[str, list[str]], bool] | None = None
) -> list[Case]:
    """Every case under ``root`` (default: the project's cases/), sorted by id.

    With ``validate``, any lint finding in the case files is an error: the harness
    does not run cases that the linter rejects (every file is linted, whatever is selected).

    With ``wanted(id, covers)``, the selection a command will make, only the files holding a wanted
    case are parsed when an index of the same files (by content) says which they are: the
    contributor's ``--id`` rerun parses one file, not twenty. The other cases of those files come
    too (the caller selects); when nothing in the index is wanted, everything loads, so a selection
    that matches nothing gets the usual error with its suggestions.
    """
    root = root or cases_root()
    if root is None or not root.is_dir():
        raise RthooksError("no cases/ folder found (run from an rthooks checkout or set RTHOOKS_CASES)")
    paths = sorted(root.rglob("*.yaml"))
    if validate:
        findings = lint_paths(paths) if paths else []
        if findings:
            raise RthooksError(f"{findings[0]}" + (f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""))
    key = _index_key(root, paths) if wanted else None
    index = _index_get(key) if key else None
    if wanted and index is not None:
        files = {entry["file"] for cid, entry in index.items() if wanted(cid, entry["covers"])}
        if files:
            chosen = (c for p in paths if str(p.relative_to(root)) in files for c in cases_in_file(p))
            return sorted(chosen, key=lambda c: c.id)
    cases = sorted((c for p in paths for c in cases_in_file(p)), key=lambda c: c.id)
    if key:
        _index_put(key, {c.id: {"file": str(Path(c.file).relative_to(root)), "covers": c.covers} for c in cases})
    return cases


def _index_key(root: Path, paths: list[Path]) -> str | None:
    """A digest of the case files' names and contents (each file's digest is remembered by size and
    modification time, as the lint cache does): an index is valid for exactly those files."""
    if os.environ.get("RTHOOKS_LINT_CACHE") == "0":
        return None
    h = hashlib.sha256(b"case-index-1\0")
    for p in paths:
        h.update(str(p.relative_to(root)).encode() + b"\0" + file_digest(p) + b"\0")
    return h.hexdigest()


def _index_get(key: str) -> dict[str, dict[str, Any]] | None:
    try:
        data = json.loads((cache_dir() / "case-index" / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and all(
        isinstance(v, dict)
        and isinstance(v.get("file"), str)
        and isinstance(v.get("covers"), list)
        and all(isinstance(c, str) for c in v["covers"])
        for v in data.values()
    )
    return data if ok else None  # a damaged entry is a miss, never a wrong file


def _index_put(key: str, index: dict[str, dict[str, Any]]) -> None:
    d = cache_dir() / "case-index"
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f"{key}.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(index))
        tmp.replace(d / f"{key}.json")
        for old in sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime)[:-8]:
            old.unlink(missing_ok=True)  # the newest few are enough: one per checkout state in use
    except OSError:
        pass  # a cache that cannot be written is only slower


def cases_in_file(path: Path) -> list[Case]:
    """The cases of one case file, in file order (no validation).

    The file is loaded under the name the linter gives it, so the parse made while validating
    is reused (yamlsrc caches by content and name) instead of parsing every case file twice.
    """
    data = load(path, display_name(path))
    return [Case(id=str(c["id"]), data=c, file=str(path), line=c.line) for c in (data or {}).get("cases") or []]


def select(cases: list[Case], patterns: list[str] | None) -> list[Case]:
    """Cases whose id matches any glob or substring pattern (pytest -k style, without boolean logic)."""
    if not patterns:
        return cases
    out = []
    for c in cases:
        for pat in patterns:
            if (any(ch in pat for ch in "*?[") and fnmatch.fnmatchcase(c.id, pat)) or pat in c.id:
                out.append(c)
                break
    return out


def select_ids(cases: list[Case], ids: list[str] | None) -> list[Case]:
    """Cases whose id is exactly one of ``ids`` (``--id``): the selector a rerun command uses, since a
    ``-k`` substring also matches every longer id that contains it."""
    if not ids:
        return cases
    wanted = set(ids)
    return [c for c in cases if c.id in wanted]


def select_covering(
    cases: list[Case],
    *,
    clauses: list[str] | None = None,
    items: list[str] | None = None,
    packages: list[str] | None = None,
    package_of: dict[str, str] | None = None,
) -> list[Case]:
    """Cases by what they cover (``--clause``, ``--item``, ``--package``).

    Within one kind any value may match (``--item A --item B``: cases covering A or B); kinds given
    together must all match (``--package runtime --clause X``: cases covering X, which is in runtime).
    ``package_of`` maps an item id to its package (the spec's ``package`` field).
    """
    package_of = package_of or {}
    out = []
    for c in cases:
        covered = c.covers
        item_ids = {cid.partition("#")[0] for cid in covered}
        if clauses and not set(clauses) & set(covered):
            continue
        if items and not set(items) & item_ids:
            continue
        if packages and not set(packages) & {package_of.get(i, "") for i in item_ids}:
            continue
        out.append(c)
    return out


def shard(cases: list[Case], k: int, n: int) -> list[Case]:
    """The K-th of N deterministic shards (1-based), by position in id order."""
    if not 1 <= k <= n:
        raise RthooksError(f"shard {k}/{n}: K must be between 1 and N")
    return [c for i, c in enumerate(cases) if i % n == k - 1]


_RANGE = re.compile(r"(>=|<=|>|<|==)?\s*(1\.\d+)")


def version_in_range(go: GoVersion, spec: str) -> bool:
    """Whether release ``go`` satisfies a range like ">=1.23" or ">=1.21, <1.25"."""
    for part in spec.split(","):
        m = _RANGE.fullmatch(part.strip())
        if not m:
            raise RthooksError(f"bad Go version range {spec!r}")
        op, v = m.group(1) or "==", GoVersion.parse(m.group(2))
        ok = {">=": go >= v, "<=": go <= v, ">": go > v, "<": go < v, "==": go == v}[op]
        if not ok:
            return False
    return True


def skip_reason(case: Case, go: GoVersion, goos: str, goarch: str, capabilities: AbstractSet[str]) -> str | None:
    """Why ``case`` does not apply to this implementation, or None if it does."""
    req = case.data.get("requires") or {}
    if req.get("go") and not version_in_range(go, req["go"]):
        return f"requires go {req['go']}; implementation models {go}"
    if req.get("goos") and goos not in req["goos"]:
        return f"requires GOOS in {req['goos']}"
    if req.get("goarch") and goarch not in req["goarch"]:
        return f"requires GOARCH in {req['goarch']}"
    missing = set(req.get("capabilities") or []) - capabilities
    if missing:
        return f"requires capabilities {sorted(missing)}"
    if req.get("min_cpus"):
        have = len(os.sched_getaffinity(0))
        if have < int(req["min_cpus"]):
            return f"requires at least {req['min_cpus']} CPUs; this machine gives the harness {have}"
    return None
