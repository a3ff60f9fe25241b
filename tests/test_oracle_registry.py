"""The oracle's registry, release facts and driver positions hold without tricks (issue 11 item 7).

- A step is registered once: a second registration, or one after load_areas froze the registry,
  is an error naming both places; composition is declared (``before=`` checks, op:ran
  contributors), and the registry does not depend on the order the area modules are imported in.
- Release facts come from the spec or from oracle/cutoffs.py: no other oracle module spells a
  release literal, and every fact the oracle names exists.
- Positions in the Go driver are read from its source: no oracle module holds a driver
  ``file.go:NNN``, and the positions it derives are the lines the driver's source has.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rthooks.goversion import GoVersion
from rthooks.oracle import callers, cutoffs, driversrc, gc, godebugops, libgodebug, releases
from rthooks.oracle.registry import AREAS, REGISTRY, STEPS, Registry, RegistryError, load_areas
from rthooks.oracle.state import OracleRuntime

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT / "oracle"
DRIVER = ROOT / "harness" / "driver"
DRIVER_FILES = {p.name for p in DRIVER.glob("*.go")}


def _noop(rt: OracleRuntime, a: list[Any], w: dict[str, Any]) -> None:
    """A step that does nothing."""


def _other(rt: OracleRuntime, a: list[Any], w: dict[str, Any]) -> None:
    """Another step that does nothing."""


# --- the registry ---------------------------------------------------------------------------------


def test_a_second_registration_is_an_error_naming_both_places() -> None:
    reg = Registry()
    reg.step("op:x")(_noop)
    with pytest.raises(RegistryError, match="registered twice") as e:
        reg.step("op:x")(_other)
    assert "_noop" in str(e.value) and "_other" in str(e.value)
    assert reg.steps["op:x"].fn is _noop  # the first registration stands


def test_a_second_contributor_of_the_same_name_is_an_error() -> None:
    reg = Registry()
    reg.contributor("op:ran", "a")(lambda rt: ["1"])
    with pytest.raises(RegistryError, match="contributor a of op:ran registered twice"):
        reg.contributor("op:ran", "a")(lambda rt: ["2"])


def test_the_registry_is_frozen_after_loading() -> None:
    load_areas()
    assert REGISTRY.frozen
    with pytest.raises(RegistryError, match="frozen"):
        REGISTRY.step("op:late")(_noop)
    with pytest.raises(RegistryError, match="frozen"):
        REGISTRY.contributor("op:ran", "late")(lambda rt: [])
    with pytest.raises(TypeError):
        STEPS["op:gc"] = STEPS["op:gc"]
    assert "op:late" not in STEPS


def test_before_checks_run_ahead_of_the_step_in_order() -> None:
    reg, seen = Registry(), []

    def first(rt: OracleRuntime) -> None:
        seen.append("first")

    def second(rt: OracleRuntime) -> None:
        seen.append("second")

    def body(rt: OracleRuntime, a: list[Any], w: dict[str, Any]) -> str:
        seen.append("body")
        return "done"

    reg.step("op:y", before=(first, second))(body)
    assert reg.steps["op:y"](None, [], {}) == "done"
    assert seen == ["first", "second", "body"]


def test_composition_is_declared() -> None:
    """Every GODEBUG op runs the start-up refusals, every lib probe its start-up; op:ran gathers the
    tags the trace area contributes, by name."""
    load_areas()
    godebug = [s for i, s in STEPS.items() if i.startswith("op:godebug.")]
    assert len(godebug) > 15
    assert all(s.before == (godebugops.startup_checks,) for s in godebug)
    libs = [s for i, s in STEPS.items() if i.startswith("op:lib.")]
    assert len(libs) > 30
    assert all(s.before == (libgodebug._startup,) for s in libs)
    assert sum(1 for s in STEPS.values() if s.before) == len(godebug) + len(libs)
    assert sorted(REGISTRY._contributors) == ["op:ran"]
    assert sorted(REGISTRY._contributors["op:ran"]) == ["trace.stringers"]


def test_op_ran_lists_heap_events_then_contributions(tmp_path: Path) -> None:
    rt = OracleRuntime(GoVersion.parse("1.27"), 100, 2**63 - 1, 2, {}, tmp_path)
    load_areas()
    rt.step({"op": "alloc", "with": {"name": "a"}})
    rt.step({"op": "finalizer", "with": {"name": "a", "tag": "fin-a"}})
    rt.step({"op": "drop", "with": {"name": "a"}})
    rt.step({"op": "gc"})
    rt.step({"call": "runtime/trace.Start", "args": ["t.out"]})
    rt.step({"call": "runtime/trace.Logf", "args": [None, "c", "%v", {"stringer": "s1"}]})
    assert rt.step({"op": "ran"}) == ["fin-a", "s1"]


def test_areas_names_every_module_that_registers() -> None:
    """load_areas imports exactly the modules that register steps or contributors: none is left to
    be imported by chance (a late one would raise, a missing one would lose its steps)."""
    registering = {
        p.stem
        for p in ORACLE.glob("*.py")
        if p.stem != "registry" and re.search(r"^@(step|contributor|godebug_op|_lib)\(", p.read_text(), re.M)
    }
    assert registering == set(AREAS)


def test_the_registry_does_not_depend_on_import_order() -> None:
    """The area modules imported in reverse order give the same steps, registered at the same places."""
    script = (
        "import importlib, json\n"
        "from rthooks.oracle import registry\n"
        f"for name in reversed({list(AREAS)!r}):\n"
        "    importlib.import_module('rthooks.oracle.' + name)\n"
        "registry.load_areas()\n"
        "print(json.dumps({i: [s.where, len(s.before)] for i, s in registry.STEPS.items()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    load_areas()
    assert json.loads(out.stdout) == {i: [s.where, len(s.before)] for i, s in STEPS.items()}


# --- release facts --------------------------------------------------------------------------------

_RELEASE_TEXT = re.compile(r"^(go)?1\.\d+(\.\d+)?$")


def _oracle_modules() -> Iterator[tuple[str, ast.Module]]:
    for p in sorted(ORACLE.glob("*.py")):
        yield p.name, ast.parse(p.read_text(), filename=str(p))


def _release_literals(tree: ast.Module) -> list[str]:
    """Release literals: GoVersion.parse/GoVersion(...) of a constant, an alias of either, and an
    ordering comparison with a constant that spells a release."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = ast.unparse(node.func)
            if f in ("GoVersion.parse", "GoVersion") and any(isinstance(a, ast.Constant) for a in node.args):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Assign) and ast.unparse(node.value) in ("GoVersion.parse", "GoVersion"):
            found.append(f"{node.lineno}: alias {ast.unparse(node)}")
        elif isinstance(node, ast.Compare) and any(isinstance(o, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for o in node.ops):
            for operand in (node.left, *node.comparators):
                if isinstance(operand, ast.Constant) and _RELEASE_TEXT.match(str(operand.value)):
                    found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_oracle_module_but_the_cutoff_table_spells_a_release() -> None:
    found = {
        name: lits for name, tree in _oracle_modules() if name != "cutoffs.py" for lits in [_release_literals(tree)]
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_the_literal_finder_finds_what_it_should() -> None:
    tree = ast.parse(
        "V = GoVersion.parse\nA = GoVersion.parse('1.22')\nif rt.release >= GoVersion(25): pass\nif v < '1.23': pass\n"
    )
    assert len(_release_literals(tree)) == 4


def test_the_cutoff_table_is_sorted_described_and_used() -> None:
    keys = [(c.release, c.name) for c in cutoffs.CUTOFFS]
    assert keys == sorted(keys)
    assert len({c.name for c in cutoffs.CUTOFFS}) == len(keys)
    assert all(c.change and c.source for c in cutoffs.CUTOFFS)
    used = {m for p in ORACLE.glob("*.py") for m in re.findall(r'cutoff\("([^"]+)"\)', p.read_text())}
    assert used == {c.name for c in cutoffs.CUTOFFS}


def test_every_release_fact_the_oracle_names_exists() -> None:
    """Each spec_since/spec_removed/in_spec/cutoff call with a constant names a real spec item or
    clause (or cut-off): a renamed clause fails here, not in a run."""
    calls = 0
    for _name, tree in _oracle_modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id in ("spec_since", "spec_removed") and args:
                getattr(releases, node.func.id)(args[0])
            elif node.func.id == "in_spec" and args:
                releases.in_spec(GoVersion.parse("1.27"), args[0])
            elif node.func.id == "cutoff" and args:
                releases.cutoff(args[0])
            else:
                continue
            calls += 1
    assert calls > 50
    with pytest.raises(releases.UnknownFact):
        releases.spec_since("godebug:no-such-key")
    with pytest.raises(releases.UnknownFact):
        releases.cutoff("no-such-change")


def test_spec_dates_are_read_from_the_spec() -> None:
    """tlsrsakex: since 1.22 and removed 1.27 in spec/godebug.yaml; a clause's own since wins."""
    assert releases.spec_since("godebug:tlsrsakex") == GoVersion.parse("1.22")
    assert releases.spec_removed("godebug:tlsrsakex") == GoVersion.parse("1.27")
    assert not releases.in_spec(GoVersion.parse("1.21"), "godebug:tlsrsakex")
    assert releases.in_spec(GoVersion.parse("1.26.3"), "godebug:tlsrsakex")
    assert not releases.in_spec(GoVersion.parse("1.27"), "godebug:tlsrsakex")
    assert releases.spec_since("runtime.PanicNilError.Error#message-127") == GoVersion.parse("1.27")


# --- driver positions -----------------------------------------------------------------------------

_POSITION = re.compile(r"([\w./-]+\.go):(\d+)")


def _driver_position_literals(tree: ast.Module) -> list[str]:
    """String constants naming a driver file and a line, and (file, ..., line) tuples of them."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in _POSITION.finditer(node.value):
                if m.group(1).rsplit("/", 1)[-1] in DRIVER_FILES:
                    found.append(f"{node.lineno}: {m.group(0)}")
        elif isinstance(node, ast.Tuple):
            names = [
                e.value
                for e in node.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value.endswith(".go")
            ]
            ints = [e for e in node.elts if isinstance(e, ast.Constant) and type(e.value) is int]
            if ints and any(n.rsplit("/", 1)[-1] in DRIVER_FILES for n in names):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_driver_file_line_literal_remains() -> None:
    found = {name: _driver_position_literals(tree) for name, tree in _oracle_modules()}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_position_finder_finds_what_it_should() -> None:
    tree = ast.parse(
        "A = 'x\\n\\trthooks.dev/driver/runner.go:203 +0x1'\nB = ('f', 'rthooks.dev/driver/main.go', 32)\n"
    )
    assert len(_driver_position_literals(tree)) == 2


def _line_in(file: str, func_decl: str, call: str) -> int:
    """The driver line, after the declaration ``func_decl`` (a regex), whose text contains ``call``:
    found here independently of oracle/driversrc.py."""
    lines = (DRIVER / file).read_text().splitlines()
    start = next(i for i, t in enumerate(lines) if re.match(func_decl, t))
    return next(i for i in range(start, len(lines)) if call in lines[i]) + 1


def test_derived_positions_are_what_the_driver_source_says() -> None:
    pc = callers.PERFORM_CALL
    assert (pc.file, pc.line) == ("runner.go", _line_in("runner.go", r"func \(r \*runner\) performCall\(", "impl.fn("))
    perform = callers.FUNCS[2][3]
    assert (perform.file, perform.line) == (
        "runner.go",
        _line_in("runner.go", r"func \(r \*runner\) perform\(", "return r.performCall("),
    )
    caller = callers.CALLER_CALL
    assert (caller.file, caller.line) == (
        "dispatch_runtime.go",
        _line_in("dispatch_runtime.go", r'\s*"runtime\.Caller":', "runtime.Caller("),
    )
    bottom = gc.DEEP_BOTTOM_STACK
    assert (bottom.file, bottom.line) == (
        "ops_runtime_misc.go",
        _line_in("ops_runtime_misc.go", r"func rthDeepBottom\(", "debug.Stack()"),
    )
    main_line = _line_in("main.go", r"func main\(\) \{", "r.runStep(")
    assert str(callers.FUNCS[-1][3]) == f"rthooks.dev/driver/main.go:{main_line}"
    assert f"\trthooks.dev/driver/runner.go:{pc.line} +" in callers.STACK


def _positions() -> Iterator[tuple[str, driversrc.Pos]]:
    """Every driver position an oracle module holds (module constants, and in lists, tuples, dicts)."""
    load_areas()
    for name in sorted(sys.modules):
        if not name.startswith("rthooks.oracle."):
            continue
        for attr, value in vars(sys.modules[name]).items():
            stack = [value]
            while stack:
                v = stack.pop()
                if isinstance(v, driversrc.Pos):
                    yield f"{name}.{attr}", v
                elif isinstance(v, (list, tuple)):
                    stack.extend(v)
                elif isinstance(v, dict):
                    stack.extend(v.values())


def test_every_position_names_a_line_of_the_driver() -> None:
    positions = list(_positions())
    assert len(positions) > 30
    for where, pos in positions:
        lines = (DRIVER / pos.file).read_text().splitlines()
        assert 1 <= pos.line <= len(lines), where
        if pos.line > 1:  # line 1 is the placeholder of frames the model does not place
            assert lines[pos.line - 1].strip(), f"{where}: {pos} is an empty line"


def test_a_missing_or_ambiguous_anchor_is_an_error() -> None:
    with pytest.raises(driversrc.DriverSourceError, match="0 times"):
        driversrc.at("func noSuchFunctionInTheDriver(")
    with pytest.raises(driversrc.DriverSourceError, match="not once"):
        driversrc.at("func main(")
    with pytest.raises(driversrc.DriverSourceError, match="no 'noSuchCall"):
        driversrc.func("main.opDeepStack", "noSuchCall(")


# ---- steps that are not models (issue 14 item 5): declared in one place, never fuzzed -------------------


def _constant_steps() -> dict[str, str]:
    """Registered steps that return the same constant whatever the model's state (straight-line code
    whose every ``return`` is a literal): answers a model could not get wrong, which
    registry.NOT_MODELLED must declare."""
    found: dict[str, str] = {}
    for name, tree in _oracle_modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            ids = [
                d.args[0].value
                for d in node.decorator_list
                if isinstance(d, ast.Call)
                and isinstance(d.func, ast.Name)
                and d.func.id in ("step", "godebug_op")
                and d.args
                and isinstance(d.args[0], ast.Constant)
            ]
            if not ids:
                continue
            returns = [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None]
            if not returns or not all(_is_constant(v) for v in returns):
                continue
            branches = (ast.If, ast.IfExp, ast.Raise, ast.For, ast.While, ast.Match, ast.Try)
            if any(isinstance(n, branches) for n in ast.walk(node)):
                continue  # the answer depends on the model's state: a model, however small
            for d in node.decorator_list:
                if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "godebug_op":
                    ids = [f"op:godebug.{i}" for i in ids]
            for i in ids:
                found[str(i)] = f"{name}:{node.lineno}"
    return found


def _is_constant(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


def test_every_constant_answer_is_declared_not_modelled() -> None:
    from rthooks.oracle.registry import NOT_MODELLED

    undeclared = {sid: where for sid, where in _constant_steps().items() if sid not in NOT_MODELLED}
    assert undeclared == {}, "steps answering constants must be declared in oracle/registry.py NOT_MODELLED"


def test_not_modelled_names_registered_steps_with_a_reason() -> None:
    from rthooks.oracle.registry import NOT_MODELLED

    load_areas()
    assert set(NOT_MODELLED) <= set(STEPS)
    assert all(why.startswith(("stated: ", "host: ")) for why in NOT_MODELLED.values())


def test_the_fuzzer_never_generates_a_step_that_is_not_modelled() -> None:
    """Agreement on a stated answer would prove nothing: the fuzz areas keep clear of them."""
    from rthooks.harness.fuzz._strategies import MEMPROFILERATE, SETTERS
    from rthooks.oracle.registry import NOT_MODELLED

    generated = {*SETTERS, "op:runtime.memprofilerate", "op:panic", MEMPROFILERATE}
    assert generated.isdisjoint(NOT_MODELLED)
