"""Lint rules for expectations that cannot fail (RTH080-RTH083).

A covered clause is worth the faults its cases catch. An expectation that holds whatever the
implementation does (a range spanning the result type's whole domain, a pattern that matches any
text, a relation that the result's Go type always satisfies or that compares a value with itself;
a relation between two constants is refused by the case schema already) makes a case pass on a
broken runtime and its clause look covered when it is not (issue 15: nominal coverage). Each rule
names the case and the line, and why the check is empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rthooks import opcatalogue, regex
from rthooks.errors import RthooksError
from rthooks.protocol.refs import parse_ref
from rthooks.spec.lint.contract_rules import go_result, signatures
from rthooks.spec.lint.engine import Finding, LintContext, Rule, SourceFile
from rthooks.yamlsrc import Node, line_of

#: Go integer types' domains; int, uint and uintptr at their widest (64-bit ports).
_DOMAINS: dict[str, tuple[int, int]] = {
    **{f"int{b}": (-(1 << (b - 1)), (1 << (b - 1)) - 1) for b in (8, 16, 32, 64)},
    **{f"uint{b}": (0, (1 << b) - 1) for b in (8, 16, 32, 64)},
    "int": (-(1 << 63), (1 << 63) - 1),
    "uint": (0, (1 << 64) - 1),
    "uintptr": (0, (1 << 64) - 1),
}
#: Any integer a result of unknown Go type can be: int64's minimum to uint64's maximum.
_ANY_INT = (-(1 << 63), (1 << 64) - 1)
#: Texts a pattern must match (besides the empty text) to be reported as matching every text.
_PROBES = ("x", "\n", "0", " ", "goroutine 1 [running]:\nmain.main()\n", "\x00\xff", "ABC def 123\n\n")


def _expectations(ctx: LintContext) -> Iterator[tuple[SourceFile, Node, Node, dict[str, Node]]]:
    """Each expectation of each case, with the steps it can refer to by bound name."""
    for f in ctx.of_role("cases"):
        for case in f.data.get("cases") or []:
            if not isinstance(case, Node):
                continue
            bound = {
                str(st["bind"]): st
                for st in case.get("steps") or []
                if isinstance(st, Node) and isinstance(st.get("bind"), str)
            }
            for exp in case.get("expect") or []:
                if isinstance(exp, Node):
                    yield f, case, exp, bound


def _go_result(ref_text: Any, bound: dict[str, Node], sigs: dict[str, Any]) -> str | None:
    """The Go type of ``$name`` or ``$name[N]`` when it is a call's result, else None."""
    ref = parse_ref(ref_text)
    if ref is None or (ref.path and ref.single_index is None):
        return None
    st = bound.get(ref.name)
    if st is None or st.get("repeat"):
        return None
    return go_result(st, ref.single_index, sigs)


def _op_result_type(ref_text: Any, bound: dict[str, Node], cat: opcatalogue.Catalogue | None) -> Any:
    ref = parse_ref(ref_text)
    if cat is None or ref is None or ref.path:
        return None
    st = bound.get(ref.name)
    if st is None or st.get("repeat") or "op" not in st:
        return None
    op = cat.op(str(st["op"]))
    return (op.result or {}).get("type") if op else None


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


class AdmitsEveryValue(Rule):
    id = "RTH080"
    title = "an expectation admits every value its result can have (a range over the whole domain, both booleans)"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        sigs = signatures(ctx)
        try:
            cat: opcatalogue.Catalogue | None = opcatalogue.load()
        except RthooksError:
            cat = None  # RTH070 reports an unreadable catalogue
        for f, case, exp, bound in _expectations(ctx):
            of = exp.get("of")
            if "range" in exp and isinstance(exp["range"], list) and len(exp["range"]) == 2:
                lo, hi = exp["range"]
                gotype = _go_result(of, bound, sigs)
                dom = _DOMAINS.get(gotype or "", _ANY_INT)
                nlo, nhi = _number(lo), _number(hi)
                low_open = lo is None or (nlo is not None and nlo <= dom[0])
                high_open = hi is None or (nhi is not None and nhi >= dom[1])
                if low_open and high_open:
                    what = f"Go {gotype}" if gotype in _DOMAINS else "any integer"
                    yield self.at(
                        f,
                        line_of(exp, ["range"]) or exp.line,
                        f"case {case.get('id')}: range {exp['range']!r} admits every value of {of} ({what}):"
                        " it cannot fail; bound it by what the clause says",
                    )
            if "one_of" in exp and isinstance(exp["one_of"], list):
                vals = exp["one_of"]
                boolean = _go_result(of, bound, sigs) == "bool" or _op_result_type(of, bound, cat) == "boolean"
                if boolean and True in vals and False in vals and all(isinstance(v, bool) for v in vals):
                    yield self.at(
                        f,
                        line_of(exp, ["one_of"]) or exp.line,
                        f"case {case.get('id')}: one_of {vals!r} admits both values of the boolean {of}: it cannot fail",
                    )


def _matches_everything(pattern: Any) -> bool:
    if not isinstance(pattern, str) or regex.problem(pattern):
        return False  # RTH064 reports a pattern that cannot be used
    c = regex.compile(pattern)
    return all(c.search(t) is not None for t in ("", *_PROBES))


class RegexMatchesEverything(Rule):
    id = "RTH081"
    title = "a text expectation matches every text (a regex matching the empty text everywhere, contains '')"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f, case, exp, _ in _expectations(ctx):
            paths: list[list[str | int]] = [["regex"], ["file", "regex"]]
            for path in paths:
                node: Any = exp
                for k in path:
                    node = node.get(k) if isinstance(node, dict) else None
                if node is not None and _matches_everything(node):
                    yield self.at(
                        f,
                        line_of(exp, path) or exp.line,
                        f"case {case.get('id')}: regex {node!r} matches every text, so it cannot fail"
                        " (a pattern whose every part is optional matches the empty text)",
                    )
            if exp.get("contains") == "":
                yield self.at(
                    f,
                    line_of(exp, ["contains"]) or exp.line,
                    f"case {case.get('id')}: contains '' holds for every text, so it cannot fail",
                )


def _observed(side: Any) -> bool:
    """Whether a relation side reads an observation (a reference, stdout, a sum of references)."""
    if isinstance(side, str):
        return True
    return isinstance(side, list) and any(isinstance(x, str) for x in side)


class TypeBoundRelation(Rule):
    id = "RTH082"
    title = "a relation with a constant that every value of the result's Go type satisfies (a uint32 >= 0)"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        sigs = signatures(ctx)
        for f, case, exp, bound in _expectations(ctx):
            rel = exp.get("relation")
            if not isinstance(rel, dict) or rel.get("each") or rel.get("tolerance"):
                continue
            gotype = _go_result(rel.get("left"), bound, sigs)
            right = _number(rel.get("right"))
            if gotype not in _DOMAINS or right is None:
                continue
            lo, hi = _DOMAINS[gotype]
            op = rel.get("op")
            always = {">=": lo >= right, ">": lo > right, "<=": hi <= right, "<": hi < right}.get(str(op), False)
            if always:
                yield self.at(
                    f,
                    line_of(exp, ["relation"]) or exp.line,
                    f"case {case.get('id')}: relation {rel.get('left')} {op} {rel.get('right')!r} holds for every"
                    f" Go {gotype}: it cannot fail",
                )


class SelfRelation(Rule):
    id = "RTH083"
    title = "a relation compares an observation with itself: it always holds (or never)"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for f, case, exp, _ in _expectations(ctx):
            rel = exp.get("relation")
            if not isinstance(rel, dict) or not _observed(rel.get("left")):
                continue
            left, right = rel.get("left"), rel.get("right")
            same = left == right or (
                isinstance(left, list) and isinstance(right, list) and sorted(map(str, left)) == sorted(map(str, right))
            )
            if same:
                always = rel.get("op") in ("==", "<=", ">=", "sum==")
                yield self.at(
                    f,
                    line_of(exp, ["relation"]) or exp.line,
                    f"case {case.get('id')}: relation {left!r} {rel.get('op')} {right!r} compares a value with itself:"
                    f" it {'always holds' if always else 'can never hold'}",
                )


WEAK_RULES: list[type[Rule]] = [AdmitsEveryValue, RegexMatchesEverything, TypeBoundRelation, SelfRelation]
