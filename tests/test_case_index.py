"""The case index: a selection parses only the case files holding selected cases, and selects exactly
what loading everything would (issue 12: a one-case rerun on the oracle in half a second)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rthooks.harness import cases as case_mod

ONE = """cases:
  - id: a-first
    covers: [runtime.GC#blocks-until-complete]
    steps: [{call: runtime.GC}]
    expect: [{exit_status: 0}]
"""
TWO = """cases:
  - id: b-second
    covers: [runtime/debug.SetGCPercent#returns-previous]
    steps: [{call: runtime/debug.SetGCPercent, args: [50], bind: p}]
    expect: [{of: $p, equals: 100}]
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RTHOOKS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RTHOOKS_LINT_CACHE", raising=False)
    r = tmp_path / "cases"
    r.mkdir()
    (r / "one.yaml").write_text(ONE)
    (r / "two.yaml").write_text(TWO)
    return r


def _parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = case_mod.cases_in_file

    def spy(path: Path) -> list[case_mod.Case]:
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(case_mod, "cases_in_file", spy)
    return seen


def test_a_selection_parses_only_the_files_it_needs(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    want = lambda cid, covers: cid == "b-second"  # noqa: E731
    first = case_mod.load_cases(root, wanted=want)  # no index yet: everything, and the index is written
    assert sorted(c.id for c in first) == ["a-first", "b-second"]
    seen = _parsed(monkeypatch)
    again = case_mod.load_cases(root, wanted=want)
    assert [c.id for c in again] == ["b-second"] and seen == ["two.yaml"]
    by_clause = case_mod.load_cases(root, wanted=lambda cid, covers: "runtime.GC#blocks-until-complete" in covers)
    assert [c.id for c in by_clause] == ["a-first"]


def test_an_edited_file_or_a_damaged_index_is_a_miss(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    want = lambda cid, covers: cid == "c-third"  # noqa: E731
    case_mod.load_cases(root, wanted=want)
    (root / "one.yaml").write_text(ONE + ONE.replace("a-first", "c-third").removeprefix("cases:\n"))
    got = case_mod.load_cases(root, wanted=want)  # the old index does not know c-third: a full load
    assert "c-third" in [c.id for c in got]
    seen = _parsed(monkeypatch)
    assert [c.id for c in case_mod.load_cases(root, wanted=want)] == ["a-first", "c-third"]
    assert seen == ["one.yaml"]
    for entry in (Path(str(root.parent / "cache")) / "case-index").glob("*.json"):
        entry.write_text(json.dumps({"c-third": {"file": 5, "covers": []}}))
    seen.clear()
    assert "b-second" in [c.id for c in case_mod.load_cases(root, wanted=want)] and len(seen) == 2


def test_nothing_wanted_loads_everything_for_the_error_message(root: Path) -> None:
    case_mod.load_cases(root, wanted=lambda cid, covers: True)
    got = case_mod.load_cases(root, wanted=lambda cid, covers: False)
    assert sorted(c.id for c in got) == ["a-first", "b-second"]
