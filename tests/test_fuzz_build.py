"""The build fuzz area (go lines, go.mod godebug lines, //go:debug directives): its programs are valid
cases, its strategy reaches every class of input, the oracle agrees with itself, and a planted lie about
one precedence rule is found and shrunk to the smallest program that shows it. Also the cmd/go facts the
oracle's build model was fixed for, each observed on a real toolchain (go1.21.13, go1.27.3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from rthooks import casepolicy
from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case
from rthooks.harness.fuzz import Fuzzer
from rthooks.harness.fuzz._strategies import Program
from rthooks.harness.fuzz.areas import AREAS
from rthooks.harness.fuzz.areas.build import BUILDINFO, build_programs
from rthooks.harness.impls import OracleImpl
from rthooks.harness.matchers import Observed, evaluate
from rthooks.harness.program import Compiled
from rthooks.oracle import godebugmodel
from rthooks.oracle.godebugmodel import build_error, gover_parse
from rthooks.oracle.state import OracleRuntime
from rthooks.protocol.results import RawRun
from rthooks.spec.lint import lint_paths
from rthooks.spec.load import Spec
from tests.conftest import LyingOracle

OLDEST, NEWEST = GoVersion(21), GoVersion(27)


def _rt(release: GoVersion, setup: dict[str, Any]) -> OracleRuntime:
    return OracleRuntime(release, 100, (1 << 63) - 1, 1, {}, Path("."), setup=setup)


def _sets(p: Program, section: str, key: str) -> bool:
    return key in (p.setup.get(section) or {})


@pytest.mark.parametrize("release", [OLDEST, NEWEST])
def test_programs_are_valid_cases(spec: Spec, tmp_path: Path, release: GoVersion) -> None:
    cases: list[dict[str, Any]] = []

    @settings(max_examples=40, database=None, suppress_health_check=list(HealthCheck), deadline=None)
    @given(build_programs(spec, release))
    def collect(p: Program) -> None:
        data = p.case_data(f"fuzz-build-t{len(cases)}")
        data["title"] = "a generated build program"
        data["expect"] = [{"exit_status": 0}]
        assert casepolicy.check_case(data) == [], data
        cases.append(data)

    collect()
    path = tmp_path / "build.yaml"
    path.write_text(yaml.safe_dump({"cases": cases}, sort_keys=False))
    assert lint_paths([path]) == []
    assert any("setup" in c for c in cases)


def _program_class(spec: Spec, release: GoVersion, name: str, pred: Any) -> Program:
    p: Program = find(build_programs(spec, release), pred, settings=settings(database=None, max_examples=3000))
    assert pred(p), name
    return p


def test_strategy_reaches_every_class_of_input(spec: Spec) -> None:
    """panicnil set each of the three build-time ways and at run time, default=, a go line before GODEBUG
    existed, and a setup the go command refuses: each is generated, and each shrinks to the class alone."""
    go = NEWEST
    by_line = _program_class(
        spec, go, "go line", lambda p: p.setup.get("goline") in ("1.13", "1.16", "1.17", "1.20") and not p.env
    )
    assert "godebug:panicnil#goline-default" in by_line.covers
    gomod = _program_class(spec, go, "go.mod", lambda p: _sets(p, "godebug", "panicnil"))
    assert gomod.setup == {"godebug": {"panicnil": "0"}}
    directive = _program_class(spec, go, "directive", lambda p: _sets(p, "directives", "panicnil"))
    assert directive.setup == {"directives": {"panicnil": "0"}}
    both = _program_class(
        spec, go, "both", lambda p: _sets(p, "godebug", "panicnil") and _sets(p, "directives", "panicnil")
    )
    assert both.setup == {"godebug": {"panicnil": "0"}, "directives": {"panicnil": ""}}  # the override rule
    default = _program_class(spec, go, "default=", lambda p: _sets(p, "directives", "default"))
    assert set(default.setup) == {"directives"}
    env = _program_class(spec, go, "env", lambda p: "panicnil=1" in p.env.get("GODEBUG", ""))
    assert env.setup == {} and env.env == {"GODEBUG": "panicnil=1"}
    refused = _program_class(spec, go, "refused", lambda p: build_error(p.setup, go) is not None)
    assert build_error(refused.setup, go)
    removed = _program_class(spec, go, "removed", lambda p: "removed GODEBUG" in (build_error(p.setup, go) or ""))
    assert removed.setup
    for p in (by_line, gomod, directive, default, env, refused):
        assert [s.get("call") or s.get("op") for s in p.steps] == [
            "runtime/debug.ReadBuildInfo",
            "panic",
            "godebug.timer",
        ]
        assert p.relations == {0: BUILDINFO}


def test_go_lines_come_from_the_spec_releases(spec: Spec) -> None:
    lines: set[str] = set()

    @settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck), deadline=None)
    @given(build_programs(spec, OLDEST))
    def collect(p: Program) -> None:
        lines.add(str(p.setup.get("goline")))

    collect()
    assert "1.22" in lines, "one past the toolchain (refused) is drawn"
    assert "1.23" not in lines and not any(line.startswith("1.1") and line < "1.13" for line in lines)


def test_buildinfo_relation_ignores_only_the_patch() -> None:
    def value(version: str, default: str | None) -> list[Any]:
        settings_ = [{"Key": "-compiler", "Value": "gc"}]
        if default is not None:
            settings_.append({"Key": "DefaultGODEBUG", "Value": default})
        bi = {"GoVersion": version, "Path": "p", "Main": {"Path": "p"}, "Deps": None, "Settings": settings_}
        return [bi, True]

    def holds(a: list[Any], b: list[Any]) -> bool:
        obs = Observed(values={"s0": b}, statuses={"s0": {"status": "ok"}})
        return all(evaluate(f, obs) is None for f in BUILDINFO.facts("$s0", a))

    assert holds(value("go1.27", "panicnil=1"), value("go1.27.3", "panicnil=1"))
    assert holds(value("go1.27.3", "panicnil=1"), value("go1.27", "panicnil=1"))
    assert not holds(value("go1.27", "panicnil=1"), value("go1.26.3", "panicnil=1"))
    assert not holds(value("go1.27", "panicnil=1"), value("go1.27", "panicnil=0"))
    assert not holds(value("go1.27", None), value("go1.27", "panicnil=1"))


def test_the_oracle_against_itself_finds_nothing(spec: Spec) -> None:
    for release in (OLDEST, NEWEST):
        fz = Fuzzer((OracleImpl(release), OracleImpl(release)), spec, area="build", examples=40, seed=3, every=1e9)
        result = fz.run()
        assert result.programs >= 40
        assert [d.comparison.signature for d in result.divergences] == []


class GomodOverDirectives(LyingOracle):
    """The oracle, except that a go.mod godebug line beats a //go:debug directive for the same key (cmd/go
    does the opposite: load/godebug.go defaultGODEBUG copies the go.mod lines first, then the directives
    over them). The smallest program that shows it sets one key both ways to different values."""

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        setup = compiled.program.get("setup") or {}
        gomod, directives = dict(setup.get("godebug") or {}), dict(setup.get("directives") or {})
        if set(gomod) & set(directives):
            program = dict(compiled.program)
            program["setup"] = {**setup, "directives": {**directives, **gomod}}
            compiled = Compiled(program=program, binds=compiled.binds)
        return super().run(case, compiled, workdir)


def test_planted_precedence_lie_is_found_and_shrunk(spec: Spec, tmp_path: Path) -> None:
    fz = Fuzzer((OracleImpl(NEWEST), GomodOverDirectives(NEWEST)), spec, area="build", examples=200, seed=5,
                save=tmp_path, every=1e9)  # fmt: skip
    result = fz.run()
    assert result.divergences, "the planted lie was not found"
    div = result.divergences[0]
    # panicnil (the generator's first key) set to 0 in go.mod and overridden by an empty directive value:
    # the two smallest different values. Both mean the default behaviour to the runtime, so only the
    # embedded DefaultGODEBUG tells them apart, and the panic(nil) probe is dropped; no go line, no GODEBUG.
    assert div.program.setup == {"godebug": {"panicnil": "0"}, "directives": {"panicnil": ""}}
    assert div.program.env == {}
    assert [s.get("call") for s in div.program.steps] == ["runtime/debug.ReadBuildInfo"]
    assert div.comparison.signature == frozenset({"build:DefaultGODEBUG"})
    assert div.saved is not None and lint_paths([div.saved]) == []


def test_area_is_listed_with_its_relation() -> None:
    area = AREAS["build"]
    assert area.programs is build_programs and BUILDINFO in area.relations and not area.batched


# ---- the oracle's build model: cmd/go facts, each observed on a real toolchain ---------------------


def test_default_directive_replaces_the_go_line() -> None:
    """go1.27.3: `//go:debug default=go1.0` with the toolchain's go line embeds panicnil=1 and recover sees
    nil; `default=go1` (valid, but not "1.N") embeds no defaults at all: no DefaultGODEBUG setting."""
    rt = _rt(NEWEST, {"directives": {"default": "go1.0"}})
    assert godebugmodel.default_godebug(rt)["panicnil"] == "1"
    assert "default" not in godebugmodel.default_godebug(rt)
    assert godebugmodel.binary_value(rt, "panicnil") == "1"
    assert godebugmodel.default_godebug(_rt(NEWEST, {"goline": "1.20", "directives": {"default": "go1"}})) == {}
    kept = _rt(NEWEST, {"goline": "1.20", "directives": {"default": "go1", "panicnil": "0"}})
    assert godebugmodel.default_godebug(kept) == {"panicnil": "0"}
    assert (
        godebugmodel.binary_value(_rt(NEWEST, {"goline": "1.20", "directives": {"default": "go1"}}), "panicnil") == "0"
    )


@pytest.mark.parametrize(
    ("text", "valid"),
    [("1", True), ("1.21", True), ("1.21.0", True), ("1.21rc1", True), ("1.22rc", True), ("1.020", False),
     ("1.21.0rc1", False), ("x", False), ("", False), ("1.x", False)],
)  # fmt: skip
def test_gover_parse_is_internal_gover(text: str, valid: bool) -> None:
    assert (gover_parse(text) is not None) is valid


def test_build_refusals_follow_the_go_command_order() -> None:
    """go1.27.3 with `go 1.28` and an unknown godebug key reports only the go line; go1.21.13 with the same
    go.mod reports only the godebug block; a comma in a go.mod godebug value is modfile's usage error."""
    setup = {"goline": "1.28", "godebug": {"nosuch": "1"}}
    assert "requires go >= 1.28" in (build_error(setup, NEWEST) or "")
    assert "unknown block type: godebug" in (build_error(setup, OLDEST) or "")
    assert build_error({"goline": "1.22"}, OLDEST) is not None
    comma = build_error({"godebug": {"panicnil": "1,2"}}, NEWEST) or ""
    assert "usage: godebug key=value" in comma
    assert "too new" in (build_error({"directives": {"default": "go1.28"}}, NEWEST) or "")
    assert build_error({"directives": {"default": "go1.27.0"}}, NEWEST) is None
    assert "must be goVERSION" in (build_error({"directives": {"default": "go1.020"}}, NEWEST) or "")


@given(st.sampled_from(["1.13", "1.20", "1.21", "1.27"]))
@settings(max_examples=10, database=None)
def test_default_godebug_without_default_is_the_go_lines(line: str) -> None:
    rt = _rt(NEWEST, {"goline": line})
    assert godebugmodel.default_godebug(rt) == godebugmodel.godebug_for_go_version(NEWEST, line)
