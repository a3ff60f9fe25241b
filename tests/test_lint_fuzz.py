"""`rthooks validate` answers any document with findings, never an exception (Hypothesis).

Three sources of hostile input: documents built from the case schema with a value of any
type injected at every position the schema describes; real case files with keys dropped,
duplicated, moved or retyped; and random YAML-ish text. Each example is written to a file
under a `cases/` folder and validated; the run must return a list of findings (possibly
empty), within a per-example deadline, and no rule may have failed internally. The case
policy, which the harness also calls at run time, must likewise never give up on a case.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rthooks import casepolicy
from rthooks.spec.lint import Finding, lint_paths
from rthooks.yamlsrc import Node, Seq, load
from tests.conftest import ROOT

FUZZ = settings(
    max_examples=120,
    deadline=3000,  # ms per example: validating one small file takes milliseconds once the spec is cached
    derandomize=True,  # the same examples on every run: a failure here is reproducible, not flaky
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SCHEMA = json.loads((ROOT / "spec" / "schema" / "case.schema.json").read_text())

# Any JSON-like value (and YAML's extras: NaN, infinities, big integers), nested a little.
ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

BASE: dict[str, Any] = {
    "renamed": {"old-case": "fuzz-case"},
    "cases": [
        {
            "id": "fuzz-case",
            "title": "a case",
            "covers": ["runtime/debug.SetGCPercent#returns-previous"],
            "requires": {"go": ">=1.21", "capabilities": ["files"], "goos": ["linux"], "min_cpus": 1},
            "setup": {
                "env": {"GOGC": "50"},
                "goline": "1.21",
                "godebug": {"panicnil": "1"},
                "directives": {"panicnil": "1"},
                "build_flags": ["-tags=rthooks_lib"],
                "launch": {"ignore_signals": ["SIGHUP"], "cpus": [0]},
            },
            "steps": [
                {"call": "runtime/debug.SetGCPercent", "args": [80], "bind": "prev"},
                {"op": "profile.write", "with": {"profile": "heap", "file": "heap.txt", "debug": 1}, "repeat": 2},
                {
                    "call": "runtime/pprof.Do",
                    "args": [None, "$l", {"steps": [{"op": "write", "with": {"fd": 1, "text": "x"}}]}],
                },
            ],
            "expect": [
                {"of": "$prev", "equals": 100},
                {"of": "stderr", "regex": "^ok$", "not_regex": "panic", "nondeterminism": "none"},
                {"relation": {"left": "$prev", "op": "<=", "right": 200, "tolerance": {"abs": 1}}},
                {"of": "$prev", "range": [0, None], "one_of": [1, 2], "length": [0, 3]},
                {"of": "$prev", "tolerance": {"value": 1, "rel": 0.1}, "monotonic": "increasing"},
                {"of": "$prev", "eventually": {"within_s": 1}, "histogram": {"sorted": True}},
                {"file": {"path": "heap.txt", "regex": "^heap", "not_regex": "x", "nonempty": True}},
                {"exit_status": [0, 2], "signal": "SIGABRT"},
            ],
            "timeout_s": 30,
        }
    ],
}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        out: dict[str, Any] = SCHEMA["$defs"][ref.rsplit("/", 1)[1]]
        return out
    return node


def schema_positions(node: dict[str, Any], path: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[Any, ...]]:
    """Every position the case schema describes, as a path (list items at index 0)."""
    node = _resolve(node)
    yield path
    if depth > 12:
        return
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in node.get(key) or []:
            yield from schema_positions(branch, path, depth + 1)
    for name, sub in (node.get("properties") or {}).items():
        yield from schema_positions(sub, (*path, name), depth + 1)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from schema_positions(extra, (*path, "EXTRA_KEY"), depth + 1)
    items = node.get("items")
    if isinstance(items, dict):
        yield from schema_positions(items, (*path, 0), depth + 1)


POSITIONS = sorted(set(schema_positions(SCHEMA)), key=repr)


def put(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``doc`` with ``value`` at ``path``, creating (or replacing) containers on the way."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        seq = doc if isinstance(doc, list) else []
        if not seq:
            seq.append(None)
        seq[0] = put(seq[0], rest, value)
        return seq
    mapping = doc if isinstance(doc, dict) else {}
    mapping[head] = put(mapping.get(head), rest, value)
    return mapping


def plain(x: Any) -> Any:
    """Nodes and Seqs as plain dicts and lists, which yaml.safe_dump can write."""
    if isinstance(x, (Node, dict)):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (Seq, list)):
        return [plain(v) for v in x]
    return x


REAL_CASES: list[Any] = [plain(c) for p in sorted((ROOT / "cases").glob("*.yaml")) for c in load(p)["cases"]]


def validate_text(text: str) -> list[Finding]:
    """Write ``text`` as a case file and validate it; the harness's run-time check too."""
    with tempfile.TemporaryDirectory(prefix="rthooks-fuzz-") as d:
        path = Path(d) / "cases" / "fuzz.yaml"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        findings = lint_paths([path])
        try:
            data = load(path)
        except Exception:  # the loader's own errors are RTH001 findings above
            data = None
    assert isinstance(findings, list)
    for f in findings:
        assert isinstance(f, Finding)
        assert "internal error" not in f.message, f
        assert "\n" not in f.message, f
    cases = data.get("cases") if isinstance(data, dict) else None
    for case in cases if isinstance(cases, list) else []:
        for _, message in casepolicy.check_case(case):
            assert "could not be checked" not in message, message
    return findings


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def test_base_document_is_valid() -> None:
    """The fuzzers start from a clean document, so what they find comes from their mutations."""
    assert validate_text(dump(BASE)) == []


@FUZZ
@given(position=st.sampled_from(POSITIONS), value=ANY)
def test_any_value_at_any_schema_position(position: tuple[Any, ...], value: Any) -> None:
    validate_text(dump(put(copy.deepcopy(BASE), position, value)))


def _paths(doc: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*here, i))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


@FUZZ
@given(data=st.data())
def test_mutated_real_cases(data: st.DataObject) -> None:
    cases = copy.deepcopy(data.draw(st.lists(st.sampled_from(REAL_CASES), min_size=1, max_size=2)))
    doc: Any = {"cases": cases}
    for _ in range(data.draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        where = data.draw(st.sampled_from(paths))
        parent, key = _get(doc, where[:-1]), where[-1]
        op = data.draw(st.sampled_from(["drop", "duplicate", "retype", "move", "wrap"]))
        if op == "drop":
            del parent[key]
        elif op == "duplicate":
            if isinstance(parent, list):
                parent.insert(key, copy.deepcopy(parent[key]))
            else:
                parent[data.draw(st.sampled_from([*parent.keys(), "id", "steps", "with", "file", "regex"]))] = (
                    copy.deepcopy(parent[key])
                )
        elif op == "retype":
            parent[key] = data.draw(ANY)
        elif op == "move":
            other = data.draw(st.sampled_from(paths))
            parent[key] = copy.deepcopy(_get(doc, other)) if other[: len(where)] != where else None
        else:
            parent[key] = [parent[key]] if data.draw(st.booleans()) else {"x": parent[key]}
    validate_text(dump(doc))


YAML_TOKENS = [
    "cases:",
    "renamed:",
    "- ",
    "  ",
    "\n",
    "id: x",
    "covers: [a#b]",
    "steps:",
    "expect:",
    "with:",
    "file:",
    "path: /etc/passwd",
    "regex: '(?!x)'",
    "{",
    "}",
    "[",
    "]",
    ": ",
    ", ",
    "? ",
    "&a ",
    "*a",
    "!!str ",
    "!!binary aGk=",
    "!!set ",
    "'",
    '"',
    "# c",
    "|",
    ">",
    ".nan",
    "-.inf",
    "1e999",
    "2024-01-01",
    "~",
    "0x1F",
    "---",
    "...",
    "%YAML 1.1",
    "\t",
    "\\",
    "\x00",
    "\ud800",
    "é",
]


@FUZZ
@given(st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join))
def test_yamlish_token_soup(text: str) -> None:
    validate_text(text)


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200))
def test_random_text(text: str) -> None:
    validate_text(text)
