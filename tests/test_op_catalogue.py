"""The op catalogue (harness/ops.yaml) against its schema and against every side of the protocol:
the Go driver's registered ops and the `with` keys each op function reads, the oracle's `op:`
steps, the cases, and PROTOCOL.md's generated table."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rthooks import opcatalogue
from rthooks.errors import RthooksError
from rthooks.oracle.registry import STEPS, load_areas
from rthooks.yamlsrc import load as load_yaml
from tests.conftest import ROOT

DRIVER = ROOT / "harness" / "driver"

# --- the Go driver, read from its source -------------------------------------------------------

_FUNC = re.compile(r"^func (?:\([^)]*\) )?(\w+)\(([^)]*)\)[^\n]*\{$", re.M)
_CLOSURE = re.compile(r'registerOp\("([^"]+)",\s*func\(r \*runner, w \*withArgs\)[^\n]*\{$', re.M)
_REGISTER = re.compile(r'registerOp\("([^"]+)",\s*(\w+)\)')
_TABLE = re.compile(r"var opTable = map\[string\]opFunc\{(.*?)\n\}", re.S)
# w.<getter>("key"...): the withArgs getters (harness/driver/args_with.go), and w.m["key"].
_READ = re.compile(r'\bw\.(?:str|needStr|int|float|bool|strs|strMap|get|has)\("([^"]+)"')
_RAW = re.compile(r'\bw\.m\["([^"]+)"\]')
# Helpers that read a key named by their second argument: libTLSVersion(w, "client_min").
_KEYED = re.compile(r'\b\w+\(w, "([^"]+)"')
# Any call that hands the op's withArgs on (panicTrigger(w), r.namedObject(w)).
_PASSES_W = re.compile(r"\b(\w+)\((?:[^()]*?,\s*)?w[,)]")
# A local closure that reads the key it is given: b := func(k string, def bool) string { ... w.bool(k, def) ...
_WRAPPER = re.compile(r"\b(\w+) := func\((\w+) string[^)]*\)[^{\n]*\{")


def _block_end(src: str, start: int) -> int:
    """Index past the brace block opening at src[start], skipping strings, runes and comments."""
    depth, i = 0, start
    while i < len(src):
        c = src[i]
        if src.startswith("//", i):
            i = src.find("\n", i)
            continue
        if src.startswith("/*", i):
            i = src.find("*/", i) + 2
            continue
        if c in "\"'":
            i += 1
            while src[i] != c:
                i += 2 if src[i] == "\\" else 1
        elif c == "`":
            i = src.find("`", i + 1)
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise AssertionError("unbalanced braces in the driver source")


def driver_source() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Function bodies by name (build variants joined) and, per op, the bodies that implement it."""
    bodies: dict[str, str] = {}
    ops: dict[str, list[str]] = {}
    for f in sorted(DRIVER.glob("*.go")):
        src = f.read_text()
        for m in _FUNC.finditer(src):
            bodies[m.group(1)] = bodies.get(m.group(1), "") + src[m.end() : _block_end(src, m.end() - 1)]
        for m in _CLOSURE.finditer(src):
            key = f"{f.name}:{m.group(1)}"
            bodies[key] = src[m.end() : _block_end(src, m.end() - 1)]
            ops.setdefault(m.group(1), []).append(key)
        for name, fn in _REGISTER.findall(src):
            ops.setdefault(name, []).append(fn)
        table = _TABLE.search(src)
        if table:
            for name, fn in re.findall(r'^\s*"([^"]+)":\s*(\w+),', table.group(1), re.M):
                ops.setdefault(name, []).append(fn)
    return bodies, ops


def keys_read(body: str, bodies: dict[str, str], seen: set[str] | None = None) -> set[str]:
    """The `with` keys a body reads, following the helpers it hands `w` to."""
    seen = set() if seen is None else seen
    keys = set(_READ.findall(body)) | set(_RAW.findall(body)) | set(_KEYED.findall(body))
    for m in _WRAPPER.finditer(body):
        inner = body[m.end() : _block_end(body, m.end() - 1)]
        if re.search(rf"\bw\.\w+\({m.group(2)}\b", inner):
            keys |= set(re.findall(rf'\b{m.group(1)}\("([^"]+)"', body))
    for callee in _PASSES_W.findall(body):
        if callee in bodies and callee not in seen:
            seen.add(callee)
            keys |= keys_read(bodies[callee], bodies, seen)
    return keys


@pytest.fixture(scope="module")
def catalogue() -> opcatalogue.Catalogue:
    return opcatalogue.load()


def test_catalogue_validates_against_its_schema(catalogue: opcatalogue.Catalogue) -> None:
    data = load_yaml(catalogue.path, "harness/ops.yaml")
    assert opcatalogue.validate(data, "harness/ops.yaml") == []
    names = [o["name"] for o in data["ops"]]
    assert names == sorted(names) and len(names) == len(set(names)) == len(catalogue) > 100


def test_a_broken_catalogue_is_one_clear_error_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "ops.yaml"
    bad.write_text(
        "ops:\n"
        "- {name: zeta, description: z, impls: [driver]}\n"
        "- {name: alpha, description: a, impls: [driver], with: {properties: {n: {type: integer, default: x}}}}\n"
        "- {name: beta, description: b, impls: [gccgo]}\n"
    )
    with pytest.raises(RthooksError) as e:
        opcatalogue.load(bad)
    assert f"{bad}:4: ops/2/impls/0: 'gccgo' is not one of" in str(e.value)
    bad.write_text(bad.read_text().replace("[gccgo]", "[oracle]"))
    problems = opcatalogue.validate(load_yaml(bad, str(bad)), str(bad))
    assert any(":3: op 'alpha' is not in sorted order" in p for p in problems)
    assert any("the default of 'n' fails its schema" in p for p in problems)


def test_driver_registers_exactly_the_catalogues_driver_ops(catalogue: opcatalogue.Catalogue) -> None:
    _, ops = driver_source()
    assert len(ops) > 100
    assert sorted(set(ops) - catalogue.names()) == [], "ops the driver registers but the catalogue lacks"
    assert sorted(set(ops) ^ catalogue.names("driver")) == [], "driver ops of the catalogue and the driver differ"


def test_each_driver_op_reads_only_declared_with_keys(catalogue: opcatalogue.Catalogue) -> None:
    bodies, ops = driver_source()
    wrong = {}
    for name, impls in sorted(ops.items()):
        op = catalogue.op(name)
        assert op is not None
        read = set().union(*(keys_read(bodies[b], bodies) for b in impls))
        if read != set(op.properties):
            wrong[name] = {"undeclared": sorted(read - set(op.properties)), "unread": sorted(set(op.properties) - read)}
    assert wrong == {}


def test_the_go_parser_sees_helpers_and_closures() -> None:
    """The parser must follow `w` into helpers (or the check above could pass by seeing nothing)."""
    bodies, ops = driver_source()
    assert keys_read(bodies[ops["panic"][0]], bodies) >= {"type", "value", "recover"}  # via panicTrigger(w)
    assert keys_read(bodies[ops["lib.tls.handshake"][0]], bodies) >= {"client_min", "server_suites"}
    assert {"name", "tag"} <= set().union(*(keys_read(bodies[b], bodies) for b in ops["cleanup"]))
    assert "env" in keys_read(bodies[ops["runtime.build.run"][0]], bodies)  # w.m["env"]
    assert {"host_handler", "notify", "work_ms"} <= keys_read(bodies[ops["cgo.carchive-cpuprofile"][0]], bodies)


def test_oracle_steps_are_exactly_the_catalogues_oracle_ops(catalogue: opcatalogue.Catalogue) -> None:
    load_areas()
    oracle = {name.removeprefix("op:") for name in STEPS if name.startswith("op:")}
    assert len(oracle) > 100
    assert sorted(oracle ^ catalogue.names("oracle")) == []


def case_steps() -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """Every step of every case, nested callback steps included."""

    def walk(v: Any) -> Iterator[dict[str, Any]]:
        if isinstance(v, dict):
            if "op" in v or "call" in v:
                yield v
            for x in v.values():
                yield from walk(x)
        elif isinstance(v, list):
            for x in v:
                yield from walk(x)

    for p in sorted((ROOT / "cases").rglob("*.yaml")):
        for case in load_yaml(p, str(p)).get("cases") or []:
            for st in walk(case.get("steps") or []):
                yield p, case, st


def test_every_op_a_case_uses_is_in_the_catalogue(catalogue: opcatalogue.Catalogue) -> None:
    used = {(st["op"], case["id"]) for _, case, st in case_steps() if "op" in st}
    assert len(used) > 100
    assert sorted((op, cid) for op, cid in used if catalogue.op(op) is None) == []


def test_cases_set_the_build_tags_and_capabilities_their_ops_need(catalogue: opcatalogue.Catalogue) -> None:
    missing = []
    for _, case, st in case_steps():
        op = catalogue.op(st.get("op", ""))
        if op is None:
            continue
        flags = set((case.get("setup") or {}).get("build_flags") or [])
        caps = set((case.get("requires") or {}).get("capabilities") or [])
        missing += [(case["id"], op.name, f"-tags={t}") for t in op.build_tags if f"-tags={t}" not in flags]
        missing += [(case["id"], op.name, c) for c in op.capabilities if c not in caps]
    assert sorted(set(missing)) == []


def test_check_with_types_keys_and_references(catalogue: opcatalogue.Catalogue) -> None:
    op = catalogue.op("metrics.memstats.read")
    assert op is not None
    assert opcatalogue.check_with(op, {"tries": 5, "names": ["/gc/cycles/total:gc-cycles"]}) == []
    assert opcatalogue.check_with(op, {"tries": "$n", "names": ["$name"]}) == []  # resolved at run time
    got = opcatalogue.check_with(op, {"tries": "20", "nmaes": []})
    assert got == [
        "op metrics.memstats.read takes no `with` key 'nmaes'; did you mean 'names'?",
        'op metrics.memstats.read: with.tries: "20" is not of type integer',
    ]
    alloc = catalogue.op("alloc")
    assert alloc is not None and opcatalogue.check_with(alloc, {}) == ["op alloc needs `with.name`"]
    assert opcatalogue.suggest("metrics.raed") == "metrics.read"
    assert opcatalogue.suggest("qqqqqqqq") is None


def test_protocol_md_op_table_is_generated_from_the_catalogue(tmp_path: Path) -> None:
    tool = ROOT / "tools" / "gen_protocol_ops.py"
    ok = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    stale = tmp_path / "PROTOCOL.md"
    stale.write_text((ROOT / "PROTOCOL.md").read_text().replace("| `gc` |", "| `gc` | stale |", 1))
    p = subprocess.run(
        [sys.executable, str(tool), "--check", "--protocol", str(stale)], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 1
    assert p.stdout.count("\n") == 1 and "op table is stale" in p.stdout and "rows `gc`" in p.stdout


def _judge_unsupported(steps: list[dict[str, Any]], reason: str, impl: str) -> Any:
    """The verdict for a run whose last step came back `unsupported` with that reason."""
    from rthooks.harness.cases import Case
    from rthooks.harness.program import Compiled
    from rthooks.harness.verdict import judge
    from rthooks.protocol.results import RawRun
    from rthooks.yamlsrc import loads

    data = loads("{id: t, covers: [], steps: [], expect: [{exit_status: 0}]}")
    case = Case(id="t", data=data, file="t.yaml", line=1)
    program = {"protocol": 1, "case": "t", "go": "1.23", "setup": {}, "steps": steps}
    obs: list[dict[str, Any]] = [{"hello": {"impl": impl, "protocol": 1}}]
    obs += [{"step": i, "status": "ok", "value": None} for i in range(len(steps) - 1)]
    obs += [{"step": len(steps) - 1, "status": "unsupported", "reason": reason}, {"done": True}]
    return judge(case, Compiled(program, [(None, None)] * len(steps)), RawRun(observations=obs, exit_status=0), None)


def test_bad_arguments_are_an_error_and_only_a_missing_op_is_a_skip() -> None:
    call = [{"call": "runtime/debug.SetMaxThreads", "args": ["5000"]}]
    v = _judge_unsupported(call, "bad arguments: argument 0 must be an integer, got 5000", "go-driver")
    assert v.status == "error" and v.reasons == ["step 0: bad arguments: argument 0 must be an integer, got 5000"]
    v = _judge_unsupported([{"op": "metrics.raed"}], "go-driver does not know op metrics.raed", "go-driver")
    assert v.status == "error" and "did you mean 'metrics.read'?" in v.reasons[0]
    v = _judge_unsupported([{"op": "gc"}, {"op": "trace.capture"}], "no such op", "rthooks-oracle")
    assert v.status == "skip" and "lists trace.capture for driver only" in v.reasons[0]
    v = _judge_unsupported([{"op": "cleanup", "with": {"name": "x"}}], "needs Go 1.24", "go-driver")
    assert v.status == "skip" and "does not exist in go1.23" in v.reasons[0]
