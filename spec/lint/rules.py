"""The lint rules, one class each, in ID order. IDs are stable: never renumber.

RTH000-RTH003 are reported by the engine while loading (missing file,
malformed YAML, duplicate key); they are listed here so that every ID a
finding can carry has a documented rule. RTH060-RTH067 hold case files to
contract 5 (a case is data: no command, flag, environment key or path outside
an allow-list); their tables live in :mod:`rthooks.casepolicy`, which the
harness also applies before it runs a case.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import jsonschema

from rthooks import casepolicy
from rthooks.goversion import GoVersion, is_version
from rthooks.protocol import schemas
from rthooks.protocol.refs import Ref, parse_ref, schema_pattern
from rthooks.spec.lint.engine import Finding, LintContext, Rule, SourceFile, schema_path
from rthooks.ui import did_you_mean
from rthooks.yamlsrc import Node, line_of


class LoadRule(Rule):
    """Findings of the loader itself; check() adds nothing."""

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        return ()


class MissingFile(LoadRule):
    id = "RTH000"
    title = "a path given to validate does not exist"


class MalformedYaml(LoadRule):
    id = "RTH001"
    title = "the file is not well-formed YAML"


class SchemaViolation(Rule):
    id = "RTH002"
    title = "the file does not match its JSON Schema (unknown key, missing field, wrong type)"
    schema = True  # runs first; files it finds fault with are kept from the semantic rules

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        clause_ids: list[str] | None = None  # for "did you mean", built only when a message needs it
        for f in ctx.files:
            if f.data is None or f.load_error:
                if f.data is None and not f.load_error:
                    yield self.at(f, 1, "empty file")
                continue
            try:
                errors = list(schemas.validator(schema_path(f.role)).iter_errors(f.data))
            except (RecursionError, MemoryError, TypeError, ValueError) as e:
                # A hostile document (thousands of nesting levels, odd key types) must still end in a finding.
                yield self.at(
                    f, getattr(f.data, "line", 1) or 1, f"cannot be checked against its schema ({type(e).__name__})"
                )
                continue
            for err in errors:
                leaf = _deepest(err)
                path = list(leaf.absolute_path)
                if leaf.validator == "pattern" and _CLAUSE_SHAPE in str(leaf.validator_value) and clause_ids is None:
                    clause_ids = sorted(ctx.all_clause_ids())
                if leaf.validator == "additionalProperties":
                    # Point at the offending key itself, not at its mapping.
                    extra = _extra_keys(leaf)
                    path = [*path, extra[0]] if extra else path
                    yield self.at(f, line_of(f.data, path), _describe(leaf, path[:-1] if extra else path))
                    continue
                yield self.at(f, line_of(f.data, path) or 1, _describe(leaf, path, clause_ids or ()))


def _deepest(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """Descend into oneOf/anyOf/allOf so the message names the real problem."""
    best = err
    while best.context:
        best = max(best.context, key=lambda e: (len(e.absolute_path), -len(e.message)))
    return best


#: The schemas' patterns, in words: a contributor should read what shape is wanted, never a regex.
_CLAUSE_SHAPE = "+#[a-z0-9]"
_PATTERN_WORDS = {
    "^[a-z0-9]+(-[a-z0-9]+)*$": "lower-case letters and digits in words joined by single '-' (like 'returns-previous')",
    "^[^#\\s]+#[a-z0-9]+(-[a-z0-9]+)*$": "a clause id, ITEM#CLAUSE (like 'runtime/debug.SetGCPercent#returns-previous')",
    "^1\\.(0|[1-9][0-9]?)$": "a Go release, 1.N (like '1.21')",
    "^1\\.[0-9]+$": "a Go release, 1.N (like '1.21')",
    "^1\\.[0-9]+\\.[0-9]+(\\.[0-9]+)?$": "a full Go version, 1.N.P (like '1.27.3')",
    "^src/": "a GOROOT path starting with 'src/' (like 'src/runtime/mgc.go')",
    "^s[0-9]+-[a-z0-9]+(-[a-z0-9]+)*$": "a claim id: 's', a number, then lower-case words joined by '-' (like 's12-gogc-default')",
    "^\\s*(>=|<|>|<=|==)?\\s*1\\.[0-9]+(\\s*,\\s*(>=|<|>|<=)\\s*1\\.[0-9]+)?\\s*$": "a release range: "
    "'1.N' or a comparison such as '>=1.23', optionally a second after a comma ('>=1.21, <1.25')",
    "^[a-z_][a-z0-9_]*$": "a name of lower-case letters, digits and '_', not starting with a digit (like 'first')",
    "^[a-z][a-z0-9_.-]*$": "lower-case letters, digits, '_', '.' and '-', starting with a letter",
    "^SIG[A-Z0-9]+$": "a signal name in capitals starting with SIG (like 'SIGINT')",
    "^(SIG)?[A-Z0-9]+$": "a signal name in capitals (like 'SIGINT' or 'INT')",
    "^-": "a flag starting with '-'",
    schema_pattern(): "stdout, stderr, exit, signal, build, or a bound name such as '$first' (then '.field',"
    " '[N]' or '[key]' to reach inside it)",
}
_TYPE_WORDS = {
    "array": "a list",
    "object": "a mapping",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing (null)",
}


def _extra_keys(err: jsonschema.ValidationError) -> list[str]:
    """The keys an additionalProperties error is about (read from the instance, not the message)."""
    inst = err.instance if isinstance(err.instance, dict) else {}
    allowed = set((err.schema.get("properties") or {}) if isinstance(err.schema, dict) else ())
    patterns = list((err.schema.get("patternProperties") or {}) if isinstance(err.schema, dict) else ())
    extra = [str(k) for k in inst if k not in allowed and not any(re.search(p, str(k)) for p in patterns)]
    return extra or re.findall(r"'([^']+)'", err.message)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json_like(value)
    return text if len(text) <= 60 else text[:57] + "..."


def json_like(value: Any) -> str:
    """A value as the YAML author wrote it, short: lists and mappings by their size."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"a mapping of {len(value)} key(s)"
    return str(value)


def _type_of(value: Any) -> str:
    for name, t in (("boolean", bool), ("integer", int), ("number", float), ("string", str), ("array", list)):
        if isinstance(value, t):
            return _TYPE_WORDS[name]
    return _TYPE_WORDS["object"] if isinstance(value, dict) else _TYPE_WORDS["null"]


def _describe(err: jsonschema.ValidationError, path: list[Any], clause_ids: Iterable[str] = ()) -> str:
    """The schema error in words: what is wrong, where, what is wanted, and a close name when there is one."""
    # A key is shown as written unless it is not plain printable text (then quoted, escaped): a finding is one line.
    where = (
        "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" if str(p).isprintable() and str(p).strip() else f"[{str(p)!r}]"
            for p in path
        ).lstrip(".")
        or "top level"
    )
    v: Any = err.validator
    want: Any = err.validator_value
    inst: Any = err.instance
    sch = err.schema if isinstance(err.schema, dict) else {}
    if v == "additionalProperties":
        extra = _extra_keys(err)
        allowed = sorted(sch.get("properties") or {})
        if not extra:
            return f"{where}: a key that is not allowed here (allowed: {', '.join(allowed)})"
        hint = did_you_mean(extra[0], allowed)
        if not hint and allowed:
            listed = ", ".join(allowed[:15]) + (", ..." if len(allowed) > 15 else "")
            hint = f" (allowed: {listed})"
        return f"unknown key {extra[0]!r} in {where}{hint}"
    if v == "required":
        missing = [k for k in want if isinstance(inst, dict) and k not in inst] or list(want)
        return f"{where}: missing required key {' and '.join(repr(k) for k in missing[:3])}"
    if v == "type":
        wanted = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in (want if isinstance(want, list) else [want]))
        return f"{where}: want {wanted}, got {_type_of(inst)} ({_shown(inst)})"
    if v == "pattern":
        words = _PATTERN_WORDS.get(str(want)) or sch.get("description") or "text of another shape"
        hint = did_you_mean(str(inst), clause_ids) if _CLAUSE_SHAPE in str(want) else ""
        return f"{where}: {_shown(inst)} is not {words}{hint}"
    if v == "enum":
        options = [str(o) for o in want]
        listed = ", ".join(repr(o) for o in options[:12]) + (", ..." if len(options) > 12 else "")
        return f"{where}: {_shown(inst)} is not one of {listed}{did_you_mean(str(inst), options)}"
    if v == "const":
        return f"{where}: want {want!r}, got {_shown(inst)}"
    bounds = {
        "minItems": ("at least {} {}", len),
        "maxItems": ("at most {} {}", len),
        "minLength": ("at least {} {}", len),
        "maxLength": ("at most {} {}", len),
        "minProperties": ("at least {} {}", len),
        "maxProperties": ("at most {} {}", len),
        "minimum": ("at least {}", None),
        "maximum": ("at most {}", None),
        "exclusiveMinimum": ("more than {}", None),
        "exclusiveMaximum": ("less than {}", None),
    }
    if v in bounds:
        text, measure = bounds[v]
        unit = {"I": ("entry", "entries"), "L": ("character", "characters"), "P": ("key", "keys")}.get(v[3:4], ("", ""))
        got = measure(inst) if measure is not None and isinstance(inst, list | str | dict) else _shown(inst)
        return f"{where}: want {text.format(want, unit[want != 1]).rstrip()}, got {got}"
    if v == "uniqueItems":
        return f"{where}: the entries must all differ, and this list repeats one"
    if v in ("oneOf", "anyOf"):
        return f"{where}: {_shown(inst)} matches none of the forms allowed here" + (
            f" ({sch['description']})" if sch.get("description") else ""
        )
    if v == "not" or v is False or want is False:
        return f"{where}: {_shown(inst)} is not allowed here"
    msg = err.message if len(err.message) < 160 else err.message[:157] + "..."
    return f"{where}: {msg}"


class DuplicateKey(LoadRule):
    id = "RTH003"
    title = "a mapping repeats a key (YAML would silently keep only the last)"


class DuplicateItemId(Rule):
    id = "RTH010"
    title = "two spec items share an id"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        seen: dict[str, str] = {}
        for f, item in ctx.items():
            iid = str(item.get("id"))
            if iid in seen:
                yield self.at(f, item.line, f"duplicate item id {iid!r} (first at {seen[iid]})")
            else:
                seen[iid] = f"{f.display}:{item.line}"


class DuplicateClauseId(Rule):
    id = "RTH011"
    title = "two clauses of one item share an id"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f, item in ctx.items():
            seen: set[str] = set()
            for c in item.get("clauses") or []:
                if not isinstance(c, Node):
                    continue
                cid = str(c.get("id"))
                if cid in seen:
                    yield self.at(f, c.line, f"duplicate clause id {item.get('id')}#{cid}")
                seen.add(cid)


_ID_SHAPES = {
    "metric": lambda i: f"metric:{i.get('name')}",
    "godebug": lambda i: f"godebug:{i.get('name')}",
    "env": lambda i: f"env:{i.get('name')}",
    "process": lambda i: f"process:{i.get('name')}",
}


class IdShape(Rule):
    id = "RTH012"
    title = "an item id does not follow from its kind, package, receiver and name"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f, item in ctx.items():
            kind = item.get("kind")
            if kind in _ID_SHAPES:
                want = _ID_SHAPES[kind](item)
            else:
                recv = f"{item.get('receiver')}." if item.get("receiver") else ""
                want = f"{item.get('package')}.{recv}{item.get('name')}"
            if item.get("id") != want:
                yield self.at(f, item.line, f"id {item.get('id')!r} should be {want!r}")


class FilePackage(Rule):
    id = "RTH013"
    title = "an item's package differs from its API file's package"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f in ctx.of_role("spec"):
            pkg = f.data.get("package") if isinstance(f.data, dict) else None
            if not pkg:
                continue
            for item in f.data.get("items") or []:
                if isinstance(item, Node) and item.get("package") != pkg:
                    yield self.at(
                        f,
                        item.line,
                        f"item {item.get('id')!r} has package {item.get('package')!r} in a file of package {pkg!r}",
                    )


def _v(text: object) -> GoVersion | None:
    return GoVersion.parse(str(text)) if text is not None and is_version(text) else None


class VersionOrder(Rule):
    id = "RTH020"
    title = (
        "versions out of order: since > removed, deprecated before since, a change or clause outside its item's life"
    )

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f, item in ctx.items():
            since, removed, dep = _v(item.get("since")), _v(item.get("removed")), _v(item.get("deprecated"))
            if since and removed and not since < removed:
                yield self.at(
                    f,
                    item.key_lines.get("removed", item.line),
                    f"{item.get('id')}: removed {removed} is not after since {since}",
                )
            if since and dep and dep < since:
                yield self.at(
                    f,
                    item.key_lines.get("deprecated", item.line),
                    f"{item.get('id')}: deprecated {dep} before since {since}",
                )
            last = since
            for ch in item.get("changes") or []:
                if not isinstance(ch, Node):
                    continue
                cs = _v(ch.get("since"))
                if cs and since and (cs <= since or (removed and cs >= removed) or (last and cs < last)):
                    yield self.at(
                        f,
                        ch.line,
                        f"{item.get('id')}: change at {cs} is outside ({since}, {removed or 'now'}) or out of order",
                    )
                last = cs or last
            for c in item.get("clauses") or []:
                if not isinstance(c, Node):
                    continue
                cs, cr = _v(c.get("since")), _v(c.get("removed"))
                if cs and since and cs < since:
                    yield self.at(f, c.line, f"{item.get('id')}#{c.get('id')}: since {cs} before the item's {since}")
                if cs and cr and not cs < cr:
                    yield self.at(f, c.line, f"{item.get('id')}#{c.get('id')}: removed {cr} is not after since {cs}")
                if cr and removed and cr > removed:
                    yield self.at(f, c.line, f"{item.get('id')}#{c.get('id')}: removed {cr} after the item's {removed}")


class UnsortedTable(Rule):
    id = "RTH021"
    title = "a table whose order matters is not sorted (metrics and GODEBUG by name, releases by version)"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f in ctx.of_role("spec"):
            items = [i for i in (f.data.get("items") or []) if isinstance(i, Node)]
            kinds = {i.get("kind") for i in items}
            if kinds and kinds <= {"metric", "godebug", "env"}:
                yield from self._sorted(f, items, lambda i: str(i.get("name")), "name")
        for f in ctx.of_role("releases"):
            rel = [r for r in f.data.get("releases") or [] if isinstance(r, Node) and is_version(r.get("go"))]
            yield from self._sorted(f, rel, lambda r: GoVersion.parse(str(r.get("go"))), "go release")

    def _sorted(self, f: SourceFile, rows: list[Node], key: Any, what: str) -> Iterator[Finding]:
        for a, b in itertools.pairwise(rows):
            if key(b) < key(a):
                yield self.at(f, b.line, f"not sorted by {what}: {key(b)} after {key(a)}")


class UnknownReference(Rule):
    id = "RTH030"
    title = "a reference (uses, a seed claim's items or evidence) names no spec item"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        ids = ctx.all_item_ids()
        pkgs = {i.split(".", 1)[0] for i in ids if "/" in i or i.startswith("runtime.")}
        for f, item in ctx.items():
            for u in item.get("uses") or []:
                # Only references into the spec's own packages must resolve (io.Writer need not).
                pkg = str(u).rsplit(".", 1)[0]
                if (
                    pkg
                    in pkgs
                    | {"runtime", "runtime/debug", "runtime/metrics", "runtime/pprof", "runtime/trace", "os/signal"}
                    and u not in ids
                ):
                    yield self.at(f, item.line, f"{item.get('id')}: uses unknown item {u!r}")
        for f in ctx.of_role("seed"):
            for claim in f.data.get("claims") or []:
                if not isinstance(claim, Node):
                    continue
                for ref in claim.get("items") or []:
                    if ref not in ids:
                        yield self.at(
                            f,
                            claim.key_lines.get("items", claim.line),
                            f"claim {claim.get('id')}: unknown item {ref!r}",
                        )
                for ev in claim.get("evidence") or []:
                    if isinstance(ev, Node) and ev.get("kind") == "api" and ev.get("item") not in ids:
                        yield self.at(
                            f, ev.line, f"claim {claim.get('id')}: evidence names unknown item {ev.get('item')!r}"
                        )


class DuplicateClaimId(Rule):
    id = "RTH031"
    title = "two seed claims share an id"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f in ctx.of_role("seed"):
            seen: set[str] = set()
            for claim in f.data.get("claims") or []:
                if isinstance(claim, Node):
                    cid = str(claim.get("id"))
                    if cid in seen:
                        yield self.at(f, claim.line, f"duplicate claim id {cid!r}")
                    seen.add(cid)


class UnknownClause(Rule):
    id = "RTH040"
    title = "a case covers a clause id that the spec does not define"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        clauses = ctx.all_clause_ids()
        for f, case, line, cid in _covers(ctx):
            if "#" in cid and cid not in clauses:
                yield self.at(f, line, f"case {case.get('id')}: covers unknown clause {cid!r}")


def _covers(ctx: LintContext) -> Iterator[tuple[SourceFile, Node, int, str]]:
    """Every clause id a case lists in `covers:`, with the line it stands on."""
    for f in ctx.of_role("cases"):
        for case in f.data.get("cases") or []:
            if not isinstance(case, Node):
                continue
            covers = case.get("covers") or []
            for n, cid in enumerate(covers):
                if isinstance(cid, str):
                    yield f, case, covers.item_lines[n] if hasattr(covers, "item_lines") else case.line, cid


class DuplicateCaseId(Rule):
    id = "RTH041"
    title = "two cases share an id, or a case reuses a renamed id"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        seen: dict[str, str] = {}
        retired: set[str] = set()
        for f in ctx.of_role("cases"):
            retired.update((f.data.get("renamed") or {}).keys())
        for f in ctx.of_role("cases"):
            for case in f.data.get("cases") or []:
                if not isinstance(case, Node):
                    continue
                cid = str(case.get("id"))
                if cid in seen:
                    yield self.at(f, case.line, f"duplicate case id {cid!r} (first at {seen[cid]})")
                elif cid in retired:
                    yield self.at(f, case.line, f"case id {cid!r} was renamed and may not be reused")
                seen.setdefault(cid, f"{f.display}:{case.line}")


class UnknownCall(Rule):
    id = "RTH042"
    title = "a case step calls something that is not a function or method of the spec"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        kinds: dict[str, str] = {k: str(v.get("kind")) for k, v in ctx.reference_items.items()}
        kinds.update({str(i.get("id")): str(i.get("kind")) for _, i in ctx.items()})
        for f in ctx.of_role("cases"):
            for case in f.data.get("cases") or []:
                if not isinstance(case, Node):
                    continue
                for step in case.get("steps") or []:
                    if isinstance(step, Node) and "call" in step:
                        kind = kinds.get(str(step["call"]))
                        if kind not in ("function", "method"):
                            why = "unknown" if kind is None else f"a {kind}, not a function"
                            yield self.at(f, step.line, f"case {case.get('id')}: call {step['call']!r} is {why}")


class UnboundName(Rule):
    id = "RTH043"
    title = "an expectation refers to a name no earlier step binds"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f in ctx.of_role("cases"):
            for case in f.data.get("cases") or []:
                if not isinstance(case, Node):
                    continue
                bound = {str(s.get("bind")) for s in case.get("steps") or [] if isinstance(s, dict) and s.get("bind")}
                for exp in case.get("expect") or []:
                    if not isinstance(exp, Node):
                        continue
                    for ref in _refs(exp):
                        if ref.name not in bound:
                            yield self.at(f, exp.line, f"case {case.get('id')}: ${ref.name} is never bound")


def _refs(exp: Node) -> Iterator[Ref]:
    """The references an expectation reads: its ``of`` and its relation's operands."""
    for v in (exp.get("of"), *(exp.get("relation") or {}).values()):
        for x in v if isinstance(v, list) else [v]:
            ref = parse_ref(x)
            if ref is not None:
                yield ref


class CoversUntestable(Rule):
    id = "RTH044"
    title = "a case covers a clause the spec marks untestable"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        untestable = ctx.untestable_clause_ids()
        for f, case, line, cid in _covers(ctx):
            if cid in untestable:
                yield self.at(f, line, f"case {case.get('id')}: covers {cid!r}, which the spec marks untestable")


class BuildCaseShape(Rule):
    id = "RTH045"
    title = "a case that expects a failed build also runs steps or expects anything but the build"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f in ctx.of_role("cases"):
            for case in f.data.get("cases") or []:
                if not isinstance(case, Node):
                    continue
                exps = [e for e in case.get("expect") or [] if isinstance(e, dict)]
                if not any(e.get("of") == "build" for e in exps):
                    continue
                if case.get("steps"):
                    yield self.at(f, case.line, f"case {case.get('id')}: a build case has no steps (steps: [])")
                for e in exps:
                    if e.get("of") != "build":
                        line = e.line if isinstance(e, Node) else case.line
                        yield self.at(f, line, f"case {case.get('id')}: a build case expects only `of: build`")


class SeedEvidence(Rule):
    id = "RTH050"
    title = "a seed claim judged wrong, outdated or imprecise carries no evidence, or evidence ranges are inverted"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f in ctx.of_role("seed"):
            for claim in f.data.get("claims") or []:
                if not isinstance(claim, Node):
                    continue
                if claim.get("verdict") in ("wrong", "outdated", "imprecise") and not claim.get("evidence"):
                    yield self.at(
                        f, claim.line, f"claim {claim.get('id')}: verdict {claim.get('verdict')} needs evidence"
                    )
                for ev in claim.get("evidence") or []:
                    if isinstance(ev, Node):
                        g, u = _v(ev.get("go")), _v(ev.get("until"))
                        if g and u and not g < u:
                            yield self.at(f, ev.line, f"claim {claim.get('id')}: until {u} is not after go {g}")


class CasePolicyRule(Rule):
    """One concern of :mod:`rthooks.casepolicy`, checked case by case (contract 5: a case is data).

    The policy functions are total and report (path inside the case, message); the line is
    the one the path leads to.
    """

    concern: ClassVar[str]

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f in ctx.of_role("cases"):
            cases = f.data.get("cases") if isinstance(f.data, dict) else None
            for case in cases if isinstance(cases, list) else []:
                if not isinstance(case, Node):
                    continue
                for where, message in casepolicy.check_concern(self.concern, case):
                    line = line_of(case, list(where)) or case.line
                    yield self.at(f, line, f"case {case.get('id')}: {message}")


class BuildFlagPolicy(CasePolicyRule):
    """setup.build_flags reach `go build` of the driver on the machine running the suite.

    Allowed: -race, -trimpath, -trimpath=true|false and -tags=LIST. Refused, for example:
    -toolexec and -exec (run a program of the case's choosing), -overlay, -modfile and -pkgdir
    (read files from anywhere), -o (write anywhere), -ldflags, -gcflags and -asmflags (pass
    arbitrary flags to the toolchain, -ldflags=-extld= runs a program), -C (change directory).
    """

    id = "RTH060"
    title = (
        "a case passes a build flag outside the allow-list (-race, -tags=LIST, -trimpath[=true|false]; "
        "never -toolexec, -exec, -overlay, -modfile, -o, -ldflags, -gcflags, -asmflags, -pkgdir, -C)"
    )
    concern = "build-flags"


class EnvironmentPolicy(CasePolicyRule):
    """setup.env, runtime.setenv, env.get and the env maps of ops that start commands.

    PATH, LD_*, PYTHON*, HOME, TMPDIR, GOFLAGS, GOTOOLCHAIN, GOPATH, GOCACHE, GOMODCACHE,
    GOPROXY, GOENV, CC, CXX, CGO_* and RTHOOKS_OBS_FD each hand a case the choice of a program,
    library or file the harness or a child process uses; every key outside
    casepolicy.ENV_KEYS is refused, and GOROOT, GOOS and GOARCH take only safe values.
    """

    id = "RTH061"
    title = "a case sets or reads an environment variable outside the allow-list, or a value its key does not allow"
    concern = "environment"


class PathPolicy(CasePolicyRule):
    """Every file a case names (op `file` keys, file arguments of calls, lib.gocmd's files and
    dirs, `file` matchers) must stay in the case's fresh working directory."""

    id = "RTH062"
    title = (
        "a case names a file outside its working directory (file names are relative, normalised, "
        "without '..', of [A-Za-z0-9._/-], at most 255 bytes)"
    )
    concern = "paths"


class BoundsPolicy(CasePolicyRule):
    """Sizes of work (casepolicy.COUNT_BOUNDS), timeout_s, NaN and infinities, nesting depth."""

    id = "RTH063"
    title = "a number in a case is out of bounds: timeout_s, a work size in `with`, NaN or infinity, deep nesting"
    concern = "bounds"


class PatternPolicy(CasePolicyRule):
    r"""Patterns are matched by RE2 (linear time, Go's regexp syntax): one that RE2 refuses
    (look-around, backreferences, \Z) or that Python's backtracking engine would need minutes
    for is caught here, before any implementation runs the case."""

    id = "RTH064"
    title = r"a regex or not_regex does not compile under RE2 (Go's regexp syntax: no look-around, \z not \Z)"
    concern = "patterns"


class GoCommandPolicy(CasePolicyRule):
    """lib.gocmd runs the toolchain's go command on files the case writes, and programs it built.

    Only go build, list and test with plain flags; only go.mod, .txt data and Go sources whose
    hash casepolicy.GOCMD_GO_SOURCES lists (Go code is code: a new program is a reviewed
    change); `prog` only a .bin the step built itself; symlinks only between .txt files.
    """

    id = "RTH065"
    title = "a lib.gocmd step runs something other than go build/list/test with plain flags on reviewed sources"
    concern = "go-command"


class BuildConfigPolicy(CasePolicyRule):
    """go.mod godebug lines and //go:debug directives are written into the driver's sources:
    a newline or quote in a key or value would be source code of the case's choosing."""

    id = "RTH066"
    title = "a go.mod godebug line, //go:debug directive or go line that is not a plain key=value or release"
    concern = "build-config"


class NetworkPolicy(CasePolicyRule):
    """Host names a case looks up stay on the machine: localhost and the reserved test names."""

    id = "RTH067"
    title = "a case looks up a host other than localhost or a reserved name (.test, .invalid, .example, .localhost)"
    concern = "network"


RULES: list[Rule] = [
    cls()
    for cls in (
        MissingFile,
        MalformedYaml,
        SchemaViolation,
        DuplicateKey,
        DuplicateItemId,
        DuplicateClauseId,
        IdShape,
        FilePackage,
        VersionOrder,
        UnsortedTable,
        UnknownReference,
        DuplicateClaimId,
        UnknownClause,
        DuplicateCaseId,
        UnknownCall,
        UnboundName,
        CoversUntestable,
        BuildCaseShape,
        SeedEvidence,
        BuildFlagPolicy,
        EnvironmentPolicy,
        PathPolicy,
        BoundsPolicy,
        PatternPolicy,
        GoCommandPolicy,
        BuildConfigPolicy,
        NetworkPolicy,
    )
]

from rthooks.spec.lint.contract_rules import CONTRACT_RULES  # noqa: E402 - the contract rules (RTH070-RTH075)

RULES += [cls() for cls in CONTRACT_RULES]

from rthooks.spec.lint.weak_rules import WEAK_RULES  # noqa: E402 - expectations that cannot fail (RTH080-RTH083)

RULES += [cls() for cls in WEAK_RULES]
