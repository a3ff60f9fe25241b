"""Lint rules that hold cases to the protocol's contracts (RTH070-RTH075).

The op vocabulary is the catalogue (harness/ops.yaml, read through :mod:`rthooks.opcatalogue`);
a `call` is held to its spec signature. A case that names an op no implementation has, passes a
`with` key no op reads or a string where the driver decodes an integer, or expects a string of
an integer result can never pass anywhere: `rthooks validate` refuses it before any
implementation runs it, with the file, the line, the case id and, where a close name exists, a
"did you mean".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rthooks import gosig, opcatalogue
from rthooks.errors import RthooksError
from rthooks.protocol.refs import parse_ref
from rthooks.spec.lint.engine import Finding, LintContext, Rule, SourceFile
from rthooks.yamlsrc import Node, line_of


@dataclass(frozen=True)
class _Step:
    """A step of a case (callback steps nested in arguments included), with its file and case."""

    file: SourceFile
    case: Node
    step: Node

    @property
    def cid(self) -> str:
        return str(self.case.get("id"))


def _nested(v: Any) -> Iterator[Node]:
    """Steps inside a value: a callback argument's `steps: [...]` (harness/driver/callbacks.go)."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "steps" and isinstance(x, list):
                for s in x:
                    if isinstance(s, Node) and ("op" in s or "call" in s):
                        yield s
                        yield from _nested(s.get("args"))
                        yield from _nested(s.get("with"))
            else:
                yield from _nested(x)
    elif isinstance(v, list):
        for x in v:
            yield from _nested(x)


def _steps(ctx: LintContext) -> Iterator[_Step]:
    for f in ctx.of_role("cases"):
        for case in f.data.get("cases") or []:
            if not isinstance(case, Node):
                continue
            for st in case.get("steps") or []:
                if isinstance(st, Node):
                    yield _Step(f, case, st)
                    for inner in _nested([st.get("args"), st.get("with")]):
                        yield _Step(f, case, inner)


class _CatalogueRule(Rule):
    """A rule that needs the catalogue; an unreadable catalogue is one finding, not a traceback."""

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        try:
            cat = opcatalogue.load()
        except RthooksError as e:
            yield self.at("harness/ops.yaml", 0, str(e))
            return
        yield from self.check_ops(ctx, cat)

    def check_ops(self, ctx: LintContext, cat: opcatalogue.Catalogue) -> Iterable[Finding]:
        raise NotImplementedError


class UnknownOp(_CatalogueRule):
    id = "RTH070"
    title = "a case step runs an op that the op catalogue (harness/ops.yaml) does not define"

    def check_ops(self, ctx: LintContext, cat: opcatalogue.Catalogue) -> Iterable[Finding]:
        for s in _steps(ctx):
            name = s.step.get("op")
            if isinstance(name, str) and cat.op(name) is None:
                hint = cat.suggest(name)
                more = f"; did you mean {hint!r}?" if hint else ""
                yield self.at(s.file, s.step.line, f"case {s.cid}: unknown op {name!r}{more}")


class _WithRule(_CatalogueRule):
    """One kind of `with` problem: the rule keeps the findings whose message it owns."""

    def owns(self, where: list[str | int], message: str) -> bool:
        raise NotImplementedError

    def check_ops(self, ctx: LintContext, cat: opcatalogue.Catalogue) -> Iterable[Finding]:
        for s in _steps(ctx):
            op = cat.op(str(s.step.get("op"))) if "op" in s.step else None
            if op is None:
                continue
            for where, message in opcatalogue.with_problems(op, s.step.get("with")):
                if self.owns(where, message):
                    line = line_of(s.step, ["with", *where]) or s.step.line
                    yield self.at(s.file, line, f"case {s.cid}: {message}")


class UnknownWithKey(_WithRule):
    id = "RTH071"
    title = "an op step passes a `with` key the op does not take"

    def owns(self, where: list[str | int], message: str) -> bool:
        return "takes no `with` key" in message or "`with` must be a mapping" in message


class MissingWithKey(_WithRule):
    id = "RTH072"
    title = "an op step lacks a `with` key the op requires"

    def owns(self, where: list[str | int], message: str) -> bool:
        return " needs `with." in message


class WrongWithType(_WithRule):
    id = "RTH073"
    title = "an op step passes a `with` value of the wrong type (or outside the op's allowed values)"

    def owns(self, where: list[str | int], message: str) -> bool:
        return bool(where) and ": with." in message


# --- calls against spec signatures --------------------------------------------------------------

_INTS = {"int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr"}
_GO_JSON = {
    **{t: "integer" for t in _INTS},
    "float32": "number",
    "float64": "number",
    "string": "string",
    "bool": "boolean",
}

# Where the driver's hand-written dispatch (harness/driver/dispatch_*.go) decodes an argument more
# generously than the Go signature reads: (call id, argument index incl. receiver) -> extra JSON types.
_DRIVER_ALSO_ACCEPTS: dict[tuple[str, int], set[str]] = {
    ("runtime/debug.WriteHeapDump", 0): {"string"},  # a file name in the working directory, or a descriptor
}
# Calls whose dispatch takes an optional argument the signature has (ReadGCStats: none = a zero GCStats).
_OPTIONAL_FROM: dict[str, int] = {"runtime/debug.ReadGCStats": 0}


@dataclass(frozen=True)
class Signature:
    """A spec function's parameters (the receiver first for a method) and results, as Go types."""

    params: tuple[str, ...]
    results: tuple[str, ...]

    @property
    def variadic(self) -> bool:
        return bool(self.params) and self.params[-1].startswith("...")


def parse_signature(text: str) -> Signature | None:
    """Parse `func (p *Profile) WriteTo(w io.Writer, debug int) error` (rthooks.gosig, the parser the
    dispatch generator uses); None if it is not one."""
    try:
        f = gosig.parse(text)
    except ValueError:
        return None
    receiver = (f.receiver_type,) if f.receiver_type else ()
    return Signature(receiver + f.params, f.results)


def _json_kind(v: Any) -> str | None:
    """The JSON type of a literal argument; None for what is resolved at run time (references...)."""
    if opcatalogue.is_special(v) or v is None:
        return None
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "integer" if v.is_integer() else "number"  # NaN and infinities are numbers
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def _accepts(want: str, got: str) -> bool:
    return got == want or (want == "number" and got == "integer")


def signatures(ctx: LintContext) -> dict[str, Signature]:
    """Every function and method of the spec (and of the reference items) by id, with its parsed signature."""
    out: dict[str, Signature] = {}
    items = list(ctx.reference_items.items()) + [(str(i.get("id")), i) for _, i in ctx.items()]
    for iid, item in items:
        sig = item.get("signature")
        if item.get("kind") in ("function", "method") and isinstance(sig, str):
            parsed = parse_signature(sig)
            if parsed is not None:
                out[iid] = parsed
    return out


class CallArguments(Rule):
    id = "RTH074"
    title = "a call passes a number or type of arguments its spec signature (receiver included) does not take"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        sigs = signatures(ctx)
        for s in _steps(ctx):
            call = s.step.get("call")
            sig = sigs.get(str(call)) if isinstance(call, str) else None
            if sig is None:
                continue
            args = s.step.get("args") or []
            if not isinstance(args, list):
                continue
            n, want = len(args), len(sig.params)
            low = min(_OPTIONAL_FROM.get(str(call), want), want - 1 if sig.variadic else want)
            if n < low or (not sig.variadic and n > want):
                takes = f"at least {want - 1}" if sig.variadic else (f"{low} to {want}" if low < want else str(want))
                recv = " (the receiver included)" if len(sig.params) and self._is_method(ctx, str(call)) else ""
                noun = "argument" if takes == "1" else "arguments"
                yield self.at(s.file, s.step.line, f"case {s.cid}: {call} takes {takes} {noun}{recv}, got {n}")
                continue
            for i, v in enumerate(args):
                gotype = sig.params[min(i, len(sig.params) - 1)].removeprefix("...")
                want_kind = _GO_JSON.get(gotype)
                got = _json_kind(v)
                if want_kind is None or got is None or _accepts(want_kind, got):
                    continue
                if got in _DRIVER_ALSO_ACCEPTS.get((str(call), i), set()):
                    continue
                line = line_of(s.step, ["args", i]) or s.step.line
                yield self.at(
                    s.file,
                    line,
                    f"case {s.cid}: {call} argument {i} must be {want_kind} (Go {gotype}), got {got} {v!r}",
                )

    @staticmethod
    def _is_method(ctx: LintContext, call: str) -> bool:
        item = ctx.reference_items.get(call)
        return item is not None and item.get("kind") == "method"


# --- expectations against result types ----------------------------------------------------------

def _fits(value: Any, types: list[str]) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return True  # RTH063 refuses NaN and infinities in a case already: one finding per problem
    kind = _json_kind(value)
    if value is None:
        kind = "null"
    return kind is None or any(_accepts(t, kind) for t in types)


class MatcherType(_CatalogueRule):
    id = "RTH075"
    title = "an expectation compares a bound result with a value of a type the result can never have"

    def check_ops(self, ctx: LintContext, cat: opcatalogue.Catalogue) -> Iterable[Finding]:
        sigs = signatures(ctx)
        for f in ctx.of_role("cases"):
            for case in f.data.get("cases") or []:
                if not isinstance(case, Node):
                    continue
                bound: dict[str, Node] = {}
                for st in case.get("steps") or []:
                    if isinstance(st, Node) and isinstance(st.get("bind"), str):
                        bound[str(st["bind"])] = st
                for exp in case.get("expect") or []:
                    if isinstance(exp, Node):
                        yield from self._check(f, case, exp, bound, cat, sigs)

    def _check(
        self,
        f: SourceFile,
        case: Node,
        exp: Node,
        bound: dict[str, Node],
        cat: opcatalogue.Catalogue,
        sigs: dict[str, Signature],
    ) -> Iterator[Finding]:
        ref = parse_ref(exp.get("of"))
        if ref is None or (ref.path and ref.single_index is None):
            return  # only "$name" and "$name[N]": deeper paths reach parts the catalogue does not type
        st = bound.get(ref.name)
        if st is None or st.get("repeat"):
            return
        types = self._result_types(st, ref.single_index, cat, sigs)
        if not types:
            return
        for key in ("equals", "not_equals", "one_of"):
            if key not in exp:
                continue
            values = exp[key] if key == "one_of" and isinstance(exp[key], list) else [exp[key]]
            for v in values:
                if isinstance(v, (dict, list)) or _fits(v, types):
                    continue  # a mapping may be the step's status object (an error or a panic)
                line = line_of(exp, [key]) or exp.line
                yield self.at(
                    f,
                    line,
                    f"case {case.get('id')}: {key} {v!r} can never match {exp.get('of')}, "
                    f"a {' or '.join(types)} result",
                )

    @staticmethod
    def _result_types(st: Node, index: int | None, cat: opcatalogue.Catalogue, sigs: dict[str, Signature]) -> list[str]:
        if "op" in st:
            op = cat.op(str(st["op"]))
            t = (op.result or {}).get("type") if op and index is None else None
            return [t] if isinstance(t, str) else list(t) if isinstance(t, list) else []
        gotype = go_result(st, index, sigs)
        kind = _GO_JSON.get(gotype) if gotype else None
        return [kind] if kind else []


def go_result(st: Node, index: int | None, sigs: dict[str, Signature]) -> str | None:
    """The Go type of a call step's bound value (``index`` None) or of its result ``index`` (``$x[N]``
    of a call with several results); None for an op, an unknown call, or a call with an error result,
    which changes the value's shape (harness/driver/runner.go performCall). ``$x[N]`` of a call with
    one result indexes into that result, so it has no Go type here either."""
    if "call" not in st:
        return None
    sig = sigs.get(str(st.get("call")))
    if sig is None or not sig.results or sig.results[-1] == "error":
        return None
    if index is None:
        return sig.results[0] if len(sig.results) == 1 else None
    return sig.results[index] if len(sig.results) > 1 and index < len(sig.results) else None


CONTRACT_RULES: list[type[Rule]] = [
    UnknownOp,
    UnknownWithKey,
    MissingWithKey,
    WrongWithType,
    CallArguments,
    MatcherType,
]
