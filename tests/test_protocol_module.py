"""The protocol module (rthooks.protocol): one reference parser, one set of statuses, RawRun in the core.

The ``$name.path`` syntax used to be parsed in a dozen places with different rules; now every
layer calls :func:`rthooks.protocol.refs.parse_ref`. The table below pins the grammar case by
case, and the resolvers built on it (the matchers', the oracle's, the program compiler's) are held
to what they did before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case
from rthooks.harness.matchers import _MISSING, Observed
from rthooks.harness.program import compile_case
from rthooks.oracle.callargs import call_problem, generated_calls, with_problem
from rthooks.protocol import statuses
from rthooks.protocol.refs import Ref, Segment, is_reference, literal, parse_ref
from rthooks.yamlsrc import load

ROOT = Path(__file__).resolve().parent.parent

D, B = (lambda t: Segment(t, False)), (lambda t: Segment(t, True))

# text -> the reference it spells (None: not a reference, or a malformed one).
GRAMMAR: list[tuple[object, Ref | None]] = [
    ("$x", Ref("x")),
    ("$_", Ref("_")),
    ("$first_2", Ref("first_2")),
    ("$x.Field", Ref("x", (D("Field"),))),
    ("$x.a.b.c", Ref("x", (D("a"), D("b"), D("c")))),
    ("$x[0]", Ref("x", (B("0"),))),
    ("$x[12][3]", Ref("x", (B("12"), B("3")))),
    ("$c[1][0].PC", Ref("c", (B("1"), B("0"), D("PC")))),
    ("$m./gc/gogc:percent", Ref("m", (D("/gc/gogc:percent"),))),
    ("$m[/gc/gogc:percent]", Ref("m", (B("/gc/gogc:percent"),))),
    ("$m[/a.b:c]", Ref("m", (B("/a.b:c"),))),  # a dot inside brackets is part of the key
    ("$x.0", Ref("x", (D("0"),))),  # a field named "0", not an index
    ("$x[a b]", Ref("x", (B("a b"),))),
    # not references
    ("$$x", None),  # the literal "$x"
    ("$$", None),
    ("x", None),
    ("", None),
    ("stdout", None),
    (None, None),
    (5, None),
    (["$x"], None),
    ({"handle": "h1"}, None),
    # malformed references
    ("$", None),
    ("$X", None),  # bind names are lower case
    ("$1x", None),
    ("$x-y", None),
    ("$x.", None),
    ("$x..a", None),
    ("$x[", None),
    ("$x[]", None),
    ("$x[1", None),
    ("$x]", None),
    ("$x[0]y", None),
    ("$x y", None),
]


@pytest.mark.parametrize(("text", "want"), GRAMMAR, ids=[repr(t) for t, _ in GRAMMAR])
def test_grammar(text: object, want: Ref | None) -> None:
    assert parse_ref(text) == want
    if want is not None:
        assert str(want) == text  # a reference prints back as written


def test_reference_and_literal() -> None:
    assert is_reference("$x") and is_reference("$X-bad")  # malformed, but meant as a reference
    assert not is_reference("$$x") and not is_reference("x") and not is_reference(3)
    assert literal("$$x") == "$x" and literal("$x") == "$x" and literal("plain") == "plain"


def test_segment_views() -> None:
    ref = parse_ref("$c[1][0].PC")
    assert ref is not None
    assert [s.index for s in ref.path] == [1, 0, None]
    assert ref.dotted == "1.0.PC"
    assert ref.single_index is None and ref.single_key is None
    m = parse_ref("$m[/gc/gogc:percent]")
    assert m is not None and m.single_key == "/gc/gogc:percent" and m.single_index is None
    i = parse_ref("$x[2]")
    assert i is not None and i.single_index == 2 and i.single_key == "2"
    assert parse_ref("$x[٣]") == Ref("x", (B("٣"),)) and B("٣").index is None  # ASCII digits only


def _case_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _case_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _case_strings(v)]
    return []


def test_every_reference_in_the_cases_parses() -> None:
    """Every "$..." string of every case file is a well-formed reference and prints back unchanged."""
    refs = [s for f in sorted((ROOT / "cases").rglob("*.yaml")) for s in _case_strings(load(f)) if is_reference(s)]
    assert len(refs) > 500
    bad = [s for s in refs if (r := parse_ref(s)) is None or str(r) != s]
    assert not bad


def test_matchers_resolve() -> None:
    obs = Observed(
        values={"x": {"a": [10, 20], "0": "zero"}, "rep": [{"n": 1}, {"n": 2}], "l": [5, 6]},
        statuses={"x": {"status": "ok"}},
    )
    assert obs.resolve("$x.a[1]") == 20
    assert obs.resolve("$x.0") == "zero"  # a field, not an index
    assert obs.resolve("$rep.n") == [1, 2]  # a repeated step: the field over its samples
    assert obs.resolve("$x.status") == "ok"  # the step's status behind its value
    assert obs.resolve("$l[1]") == 6
    for missing in ("$l[2]", "$x[0]", "$y", "$x.b", "$x-y", "$$x"):
        assert obs.resolve(missing) is _MISSING, missing


def test_oracle_resolve() -> None:
    from rthooks.oracle.state import resolve

    class Rt:
        bound: dict[str, Any] = {"x": {"a": [10, 20]}, "l": [1]}  # noqa: RUF012 - a stand-in runtime

    rt: Any = Rt()
    assert resolve(rt, "$x.a[1]") == 20
    assert resolve(rt, "$x.b") is None  # a missing field of a mapping is null
    assert resolve(rt, "$l[3]") == "$l[3]"  # what does not resolve passes through
    assert resolve(rt, "$$x") == "$$x" and resolve(rt, "$nope") == "$nope" and resolve(rt, 4) == 4


def _case(expect: list[dict[str, Any]]) -> Case:
    data = {
        "id": "t",
        "covers": [],
        "steps": [{"op": "gc.count", "bind": "n"}],
        "expect": expect,
    }
    return Case(id="t", file="t.yaml", line=1, data=data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("of", "until_path"),
    [("$n", None), ("$n.a", "a"), ("$n.a[0].b", "a.0.b"), ("$n./gc/x:y", "/gc/x:y"), ("$n[0]", "none")],
)
def test_eventually_becomes_until(of: str, until_path: str | None) -> None:
    case = _case([{"of": of, "equals": 1, "eventually": {"within_s": 1}}])
    step = compile_case(case, GoVersion.parse("1.27")).program["steps"][0]
    if until_path == "none":  # a path starting with an index was never compiled into an until
        assert "until" not in step
        return
    assert step["until"].get("path") == until_path


def test_failing_statuses() -> None:
    assert {"fail", "error", "timeout", "crash", "xpass"} == statuses.FAILING
    assert statuses.GOOD | statuses.FAILING | {"skip"} == set(statuses.STATUSES)


def test_oracle_reads_call_decoding_from_the_driver() -> None:
    calls = generated_calls()
    assert calls["runtime/debug.SetMaxThreads"] == (1, ("int",))
    assert calls["runtime.GC"] == (0, ())
    assert call_problem("runtime/debug.SetMaxThreads", [5000]) is None
    assert call_problem("runtime/debug.SetMaxThreads", [5000.0]) is None  # a whole number
    assert call_problem("runtime/debug.SetMaxThreads", ["$prev"]) is None  # resolved at run time
    for bad in (["5000"], [True], [None], [1.5], [5000, 6000], []):
        why = call_problem("runtime/debug.SetMaxThreads", bad)
        assert why is not None and why.startswith(statuses.BAD_ARGUMENTS), bad
    assert call_problem("runtime/debug.WriteHeapDump", ["heap.dump"]) is None  # dispatched by hand


def test_oracle_checks_with_values() -> None:
    assert with_problem("alloc", {"name": "a", "bytes": 64}) is None
    assert with_problem("alloc", {"name": "a", "bytes": "$n"}) is None
    assert with_problem("alloc", {"name": "a", "zzz": 1}) is None  # unknown keys: the driver ignores them
    why = with_problem("alloc", {"name": "a", "bytes": "64"})
    assert why is not None and why.startswith("bad arguments: ")
    missing = with_problem("alloc", {"bytes": 64})
    assert missing is not None and "needs `with.name`" in missing


def test_a_wrongly_typed_argument_is_an_error_on_the_oracle(tmp_path: Path) -> None:
    """The issue's example: SetMaxThreads("5000") passed on the oracle; the driver refuses it."""
    from rthooks.harness.impls import OracleImpl
    from rthooks.harness.verdict import judge

    data = {
        "id": "t",
        "covers": [],
        "steps": [{"call": "runtime/debug.SetMaxThreads", "args": ["5000"], "bind": "prev"}],
        "expect": [{"of": "$prev", "equals": 10000}],
    }
    case = Case(id="t", file="t.yaml", line=1, data=data)  # type: ignore[arg-type]
    compiled = compile_case(case, GoVersion.parse("1.27"))
    raw = OracleImpl(GoVersion.parse("1.27")).run(case, compiled, tmp_path)
    verdict = judge(case, compiled, raw, tmp_path)
    assert verdict.status == "error"
    assert any("argument 0 must be an integer" in r for r in verdict.reasons)


def test_the_case_schema_spells_the_reference_grammar_of_refs() -> None:
    """One grammar: the case schema's ``ref`` pattern is the one refs.py builds from its own parser's parts."""
    import json

    from rthooks.protocol.refs import schema_pattern
    from rthooks.protocol.schemas import spec_schema

    schema = json.loads(spec_schema("case.schema.json").read_text())
    assert schema["$defs"]["ref"]["pattern"] == schema_pattern()


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="$abz_09.[]/: -x\n", max_size=16),
        st.builds(
            lambda n, p: f"${n}{p}",
            st.from_regex(r"[a-z_][a-z0-9_]{0,4}", fullmatch=True),
            st.text(".[]a0/:", max_size=8),
        ),
    )
)
def test_the_schema_pattern_accepts_what_parse_ref_parses(text: str) -> None:
    """The pattern (as jsonschema applies it: re.search) accepts a reference exactly when parse_ref
    parses it, except that a JSON Schema ``$`` also matches before a final newline, which parse_ref
    refuses (the lint rules then report the name as unbound)."""
    import re

    from rthooks.protocol.refs import SPECIAL, parse_ref, schema_pattern

    matched = re.search(schema_pattern(), text) is not None
    parsed = parse_ref(text) is not None or text in SPECIAL
    if text.endswith("\n"):
        assert not parsed
    else:
        assert matched == parsed, text


@pytest.mark.parametrize(
    ("value", "until", "want"),
    [
        (80, {"equals": 80.0}, True),
        (True, {"equals": 1}, False),  # a boolean is no number, as in the driver's jsonNumber
        (["a", "b"], {"contains": "b"}, True),
        ("xabcx", {"contains": "abc"}, True),
        ({"k": 1}, {"contains": "k"}, True),
        ([{"name": "/gc/x", "kind": 1}], {"contains": {"name": "/gc/x"}}, True),
        ([1, 2], {"at_least": 2}, True),
        ([1], {"at_least": 2}, False),
        ({"/gc/gogc:percent": 80}, {"path": "/gc/gogc:percent", "equals": 80}, True),
        ({"Main": {"Path": "m"}}, {"path": "Main.Path", "equals": "m"}, True),
        ([{"PC": 5}, {"PC": 6}], {"path": "[1].PC", "at_least": 6}, True),
        ({"a": 1}, {"path": "b", "equals": 1}, False),
        (5, {"equals": 5, "at_least": 6}, False),  # every target must hold
    ],
)
def test_until_rules_match_the_driver(value: Any, until: dict[str, Any], want: bool) -> None:
    """The oracle judges ``until`` by the rules of harness/driver/until.go (examples from its comments)."""
    from rthooks.protocol.until import met

    assert met(value, until) is want


@pytest.mark.parametrize("gc", [True, False])
def test_the_oracle_models_until_with_collections(tmp_path: Path, gc: bool) -> None:
    """An ``until`` step is retried after a modelled GC: a dropped object's finalizer then runs.

    Without ``gc`` nothing in the model changes between tries, so the step runs once and its value
    stays what it was, as on a runtime where no collection happens meanwhile.
    """
    from rthooks.oracle.process import run_program

    until = {"within_s": 5, "gc": gc, "contains": "fin"}
    program = {
        "steps": [
            {"op": "alloc", "with": {"name": "a"}},
            {"op": "finalizer", "with": {"name": "a", "tag": "fin"}},
            {"op": "drop", "with": {"name": "a"}},
            {"op": "ran", "bind": "r", "until": until},
        ]
    }
    raw = run_program(program, env={}, release=GoVersion.parse("1.27"), workdir=tmp_path)
    last = next(o for o in raw.observations if o.get("step") == 3)
    assert last["status"] == "ok"
    if gc:
        assert last["value"] == ["fin"] and last["tries"] >= 2
    else:
        assert last["value"] == [] and last["tries"] == 1
