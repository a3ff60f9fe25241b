"""The lint findings cache: a hit returns exactly what linting again would, and any change misses.

Every command that reads cases lints them first, so the cache is what makes `rthooks validate`
and a one-case `rthooks run` take a fraction of a second on an unchanged checkout (README).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from rthooks.spec.lint import RULES, engine, lint_paths

FIXTURE = Path(__file__).parent / "lint_fixtures" / "RTH070-unknown-op"


@pytest.fixture
def fixture_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RTHOOKS_CACHE", str(tmp_path / "cache"))
    d = tmp_path / "fx"
    shutil.copytree(FIXTURE, d)
    return d


def _no_linting(*_: Any) -> Any:
    raise AssertionError("linted although the cache holds these findings")


def test_a_hit_returns_the_same_findings_without_linting(fixture_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = lint_paths([fixture_dir])
    assert any(f.rule == "RTH070" for f in first)
    monkeypatch.setattr(engine, "_lint_files", _no_linting)
    assert lint_paths([fixture_dir]) == first


def test_an_edited_file_a_changed_rule_or_no_cache_lints_again(
    fixture_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = lint_paths([fixture_dir])
    cases = fixture_dir / "cases.yaml"
    cases.write_text(cases.read_text() + "\n# an edit\n")
    calls: list[int] = []
    real = engine._lint_files

    def counting(*a: Any) -> Any:
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(engine, "_lint_files", counting)
    assert lint_paths([fixture_dir]) == first  # same findings (a comment changes nothing) but linted again
    assert calls == [1]

    class Swapped(type(RULES[-1])):  # type: ignore[misc]
        def check(self, ctx: Any) -> Any:
            return []

    engine.lint_files([fixture_dir], [*RULES[:-1], Swapped()])
    assert calls == [1, 1]  # a rule with other code is another key

    monkeypatch.setenv("RTHOOKS_LINT_CACHE", "0")
    lint_paths([fixture_dir])
    assert calls == [1, 1, 1]


def test_a_damaged_entry_is_a_miss(fixture_dir: Path, tmp_path: Path) -> None:
    first = lint_paths([fixture_dir])
    for entry in (tmp_path / "cache" / "lint").glob("*.json"):
        entry.write_text('[["x", "not a number"')
    assert lint_paths([fixture_dir]) == first
