"""The lint engine: classify files, load them with line numbers, run every rule."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any, ClassVar

import rthooks
from rthooks.errors import RthooksError
from rthooks.locations import cache_dir, data_dir
from rthooks.protocol.schemas import spec_schema
from rthooks.spec.load import SPEC_FILES, spec_root
from rthooks.yamlsrc import Node, display_name, load


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where it is, which rule found it, and what is wrong."""

    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule} {self.message}"


@dataclass
class SourceFile:
    """A file under validation: its role (spec, seed, cases, releases) and its loaded data."""

    path: Path
    display: str
    role: str
    data: Any = None
    load_error: RthooksError | None = None
    # False once the JSON Schema rejected the file: semantic rules read data of the shape the
    # schema promises (a `covers` that is a list, a `renamed` that is a mapping), so they skip it.
    schema_ok: bool = True


@dataclass
class LintContext:
    """What rules see: the files under validation and the shipped spec for references."""

    files: list[SourceFile]
    reference_items: dict[str, Node] = field(default_factory=dict)
    reference_clauses: set[str] = field(default_factory=set)
    reference_untestable: set[str] = field(default_factory=set)

    def of_role(self, role: str) -> Iterator[SourceFile]:
        """Files of a role that loaded and passed their schema: what semantic rules may read."""
        return (f for f in self.files if f.role == role and f.data is not None and f.schema_ok)

    def items(self) -> Iterator[tuple[SourceFile, Node]]:
        for f in self.of_role("spec"):
            for item in f.data.get("items") or [] if isinstance(f.data, dict) else []:
                if isinstance(item, Node):
                    yield f, item

    def _referable_items(self) -> Iterator[Node]:
        """Items of every spec file under validation, schema-clean or not, read defensively.

        References resolve against these too, so that one schema error in a spec file does not
        also turn every case covering its clauses into an "unknown clause" finding.
        """
        for f in self.files:
            items = f.data.get("items") if f.role == "spec" and isinstance(f.data, dict) else None
            for item in items if isinstance(items, list) else []:
                if isinstance(item, Node) and isinstance(item.get("id"), str):
                    yield item

    def all_item_ids(self) -> set[str]:
        ids = set(self.reference_items)
        ids.update(str(i.get("id")) for i in self._referable_items())
        return ids

    def _clauses(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for item in self._referable_items():
            clauses = item.get("clauses")
            for c in clauses if isinstance(clauses, list) else []:
                if isinstance(c, dict) and isinstance(c.get("id"), str):
                    yield f"{item['id']}#{c['id']}", c

    def untestable_clause_ids(self) -> set[str]:
        """Clauses marked `untestable` (coverage excludes them, so no case may claim them)."""
        out = set(self.reference_untestable)
        out.update(cid for cid, c in self._clauses() if c.get("untestable"))
        return out

    def all_clause_ids(self) -> set[str]:
        out = set(self.reference_clauses)
        out.update(cid for cid, _ in self._clauses())
        return out


class Rule:
    """A lint rule. Subclasses set ``id``/``title`` and implement :meth:`check`.

    A rule with ``schema = True`` runs first, on every loaded file; the others (semantic
    rules) then see only the files it found nothing wrong with (see :func:`run_rules`).
    """

    id: ClassVar[str]
    title: ClassVar[str]
    schema: ClassVar[bool] = False

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        raise NotImplementedError

    def at(self, f: SourceFile | str, line: int, message: str) -> Finding:
        name = f.display if isinstance(f, SourceFile) else f
        return Finding(name, line, self.id, message)


def role_of(path: Path, data: Any) -> str:
    """Decide what a YAML file is, by its content first and its name second."""
    if isinstance(data, dict):
        if "cases" in data:
            return "cases"
        if "claims" in data:
            return "seed"
        if "releases" in data:
            return "releases"
        if "items" in data:
            return "spec"
    if path.name == "seed.yaml":
        return "seed"
    if path.name == "releases.yaml":
        return "releases"
    if "cases" in path.parts:
        return "cases"
    return "spec"


SCHEMAS = {
    "spec": "spec.schema.json",
    "seed": "seed.schema.json",
    "cases": "case.schema.json",
    "releases": "releases.schema.json",
}


def schema_path(role: str) -> Path:
    """The JSON Schema a file of ``role`` is checked against (loaded by rthooks.protocol.schemas)."""
    return spec_schema(SCHEMAS[role])


def project_paths() -> list[Path]:
    """The files `rthooks validate` checks when given no paths: the spec and the cases."""
    root = spec_root()
    out: list[Path] = []
    for pattern in SPEC_FILES:
        out.extend(sorted(root.glob(pattern)))
    out += [root / "seed.yaml", root / "releases.yaml"]
    cases = cases_root()
    if cases is not None:
        out.extend(sorted(cases.rglob("*.yaml")))
    return [p for p in out if p.exists()]


def cases_root() -> Path | None:
    """cases/ beside spec/ in a checkout (RTHOOKS_CASES overrides)."""
    env = os.environ.get("RTHOOKS_CASES")
    if env:
        return Path(env)
    for base in (Path.cwd(), spec_root().parent):
        if (base / "cases").is_dir() and (base / "spec").is_dir():
            return base / "cases"
    return None


def expand(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.yaml") if q.is_file()))
        else:
            out.append(p)
    return out


def lint_files(paths: list[Path] | None, rules: Sequence[Rule]) -> list[Finding]:
    """Validate files (default: the project's spec and cases) with ``rules``; return every finding, sorted.

    The rules are a parameter because they import this module (rthooks.spec.lint.lint_paths passes
    the registered RULES).
    """
    targets = expand(paths) if paths else project_paths()
    key = _cache_key(targets, rules)
    cached = _cache_get(key)
    if cached is not None:
        return cached
    found = _lint_files(targets, rules)
    _cache_put(key, found)
    return found


def _lint_files(targets: list[Path], rules: Sequence[Rule]) -> list[Finding]:
    files: list[SourceFile] = []
    findings: list[Finding] = []
    for p in targets:
        disp = display_name(p)
        sf = SourceFile(path=p, display=disp, role="spec")
        if not p.exists():
            findings.append(Finding(disp, 0, "RTH000", "no such file"))
            continue
        try:
            sf.data = load(p, disp)
        except RthooksError as e:
            sf.load_error = e
            line = 0
            if e.where and ":" in e.where:
                tail = e.where.rsplit(":", 1)[1]
                line = int(tail) if tail.isdigit() else 0
            rule = "RTH003" if "duplicate key" in e.message else "RTH001"
            findings.append(Finding(disp, line, rule, e.message))
        sf.role = role_of(p, sf.data)
        files.append(sf)
    ctx = LintContext(files=files)
    _add_references(ctx, {f.path.resolve() for f in files})
    findings.extend(run_rules(ctx, rules))
    return sorted(set(findings))


def run_rules(ctx: LintContext, rules: Iterable[Rule]) -> list[Finding]:
    """Schema rules first, then semantic rules on the files that passed them.

    Semantic rules are written for documents of the schema's shape; a file that is not (a
    `covers` that is a number, a top level that is a list) gets its schema findings and no
    more. Any exception a rule still raises becomes a finding of that rule: `rthooks
    validate` answers every input with findings, never a traceback.
    """
    rules = list(rules)
    out: list[Finding] = []
    for rule in [r for r in rules if r.schema]:
        found = _guarded(rule, ctx)
        failed = {f.file for f in found}
        for sf in ctx.files:
            if sf.display in failed:
                sf.schema_ok = False
        out.extend(found)
    for rule in [r for r in rules if not r.schema]:
        out.extend(_guarded(rule, ctx))
    return out


def _guarded(rule: Rule, ctx: LintContext) -> list[Finding]:
    try:
        return list(rule.check(ctx))
    except Exception as e:  # a bug in a rule must still end in one line per problem
        said = " ".join(str(e).split())[:200]
        return [Finding("rthooks", 0, rule.id, f"internal error in rule {rule.id}: {type(e).__name__}: {said}")]


def _add_references(ctx: LintContext, validating: set[Path]) -> None:
    """Items of the shipped spec that are not under validation resolve references too."""
    root = spec_root()
    for pattern in SPEC_FILES:
        for p in sorted(root.glob(pattern)):
            if p.resolve() in validating:
                continue
            try:
                # The name spec.load uses too, so the reference spec and the spec index share a parse.
                data = load(p, display_name(p))
            except RthooksError:
                continue
            for item in (data or {}).get("items") or []:
                if isinstance(item, Node) and "id" in item:
                    ctx.reference_items[str(item["id"])] = item
                    for c in item.get("clauses") or []:
                        if isinstance(c, dict) and "id" in c:
                            ctx.reference_clauses.add(f"{item['id']}#{c['id']}")
                            if c.get("untestable"):
                                ctx.reference_untestable.add(f"{item['id']}#{c['id']}")


# ---- the findings cache ------------------------------------------------------------------------
# Findings are a function of the files linted, the files rules read beside them (the spec, the
# schemas, the op catalogue, the driver sources), and the code of the engine and the rules. All of
# those are hashed into the key, so a hit returns exactly what linting again would; a contributor's
# edit to one case file misses once and is cached again. RTHOOKS_LINT_CACHE=0 turns it off.
_CACHE_VERSION = "1"
_CACHE_KEEP = 64  # entries kept (the newest); each is a few KiB of findings


def _inputs_digest() -> str:
    """One digest of the code and data every rule may read, whatever files are being linted.

    Recomputed per call (the spec folder may be another one, a file may have been edited since),
    but each file's content hash is remembered by its size and modification time.
    """
    h = hashlib.sha256(_CACHE_VERSION.encode())
    core = Path(rthooks.__file__).resolve().parent
    lint_pkg = Path(__file__).resolve().parent.parent  # rthooks.spec
    harness = data_dir("harness", "ops.yaml")
    groups = [
        sorted(core.glob("*.py")) + sorted((core / "protocol").glob("*.py")),
        sorted(lint_pkg.rglob("*.py")),
        sorted(p for p in spec_root().rglob("*") if p.suffix in (".yaml", ".json")),
        [
            harness / "ops.yaml",
            *sorted((harness / "schema").glob("*.json")),
            *sorted((harness / "driver").glob("*.go")),
        ],
    ]
    for group in groups:
        for p in group:
            h.update(str(p).encode() + b"\0" + _file_digest(p) + b"\0")
    return h.hexdigest()


_FILE_DIGESTS: dict[tuple[str, int, int], bytes] = {}


def file_digest(p: Path) -> bytes:
    """A file's content hash, remembered by size and modification time (the case index uses it too)."""
    return _file_digest(p)


def _file_digest(p: Path) -> bytes:
    try:
        st = p.stat()
        key = (str(p), st.st_size, st.st_mtime_ns)
        got = _FILE_DIGESTS.get(key)
        if got is None:
            got = _FILE_DIGESTS[key] = hashlib.sha256(p.read_bytes()).digest()
        return got
    except OSError as e:
        return f"unreadable {e.errno}".encode()


def _cache_key(targets: list[Path], rules: Sequence[Rule]) -> str | None:
    if os.environ.get("RTHOOKS_LINT_CACHE") == "0":
        return None
    h = hashlib.sha256(_inputs_digest().encode())
    for r in rules:  # a rule's id and the code of its check (a test may swap one in)
        h.update(f"{r.id}\0{type(r).__qualname__}\0".encode())
        _hash_code(h, type(r).check.__code__)
    for p in targets:
        h.update(str(p).encode() + b"\0")
        try:
            if p.is_file():
                h.update(p.read_bytes())  # the content itself: an edit within a second still misses
            else:
                h.update(b"\1not a regular file")
        except OSError as e:
            h.update(f"\1{e.errno}".encode())
    return h.hexdigest()[:32]


def _hash_code(h: Any, code: CodeType) -> None:
    """The bytecode and constants of ``code`` and its nested functions (reprs of code objects carry
    addresses, which differ in every process)."""
    h.update(code.co_code)
    for c in code.co_consts:
        if isinstance(c, CodeType):
            _hash_code(h, c)
        elif isinstance(c, frozenset):  # its repr's order follows string hashing, which varies by process
            h.update(repr(sorted(repr(x) for x in c)).encode())
        else:
            h.update(repr(c).encode())


def _cache_dir() -> Path:
    return cache_dir() / "lint"


def _cache_get(key: str | None) -> list[Finding] | None:
    if key is None:
        return None
    try:
        rows = json.loads((_cache_dir() / f"{key}.json").read_text())
        return [Finding(str(a), int(b), str(c), str(d)) for a, b, c, d in rows]
    except (OSError, ValueError, TypeError):
        return None


def _cache_put(key: str | None, findings: list[Finding]) -> None:
    if key is None:
        return
    d = _cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".lint-", dir=d)
        with os.fdopen(fd, "w") as f:
            json.dump([[x.file, x.line, x.rule, x.message] for x in findings], f)
        os.replace(tmp, d / f"{key}.json")
        entries = sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[_CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written is only slower
