"""`rthooks validate`: every rule has fixtures, each fixture names the findings it expects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rthooks.spec.lint import RULES, Finding, LintContext, lint_paths
from rthooks.spec.lint.engine import Rule, run_rules
from tests.conftest import ROOT, run_cli

FIXTURES = ROOT / "tests" / "lint_fixtures"
FIXTURE_PATHS = sorted(FIXTURES.iterdir())


def expected(path: Path) -> set[tuple[str, str, int]]:
    files = [path] if path.is_file() else sorted(path.rglob("*.yaml"))
    out = set()
    for f in files:
        for rule, line in re.findall(r"^# expect: (RTH\d{3})@(\d+)$", f.read_text(), re.M):
            out.add((f.name, rule, int(line)))
    return out


@pytest.mark.parametrize("fixture", FIXTURE_PATHS, ids=lambda p: p.name)
def test_fixture_findings(fixture: Path) -> None:
    got = {(Path(f.file).name, f.rule, f.line) for f in lint_paths([fixture])}
    assert got == expected(fixture)


def test_every_rule_has_a_failing_fixture() -> None:
    covered = {rule for p in FIXTURE_PATHS for _, rule, _ in expected(p)}
    ids = {r.id for r in RULES}
    assert ids - covered <= {"RTH000"}, f"rules without a fixture: {sorted(ids - covered)}"
    assert len(ids) == len(RULES), "rule ids must be unique"


def test_repo_spec_and_cases_are_valid() -> None:
    findings = lint_paths()
    assert findings == [], "\n".join(map(str, findings))


def test_cli_one_line_per_problem_and_exit_1() -> None:
    p = run_cli("validate", str(FIXTURES / "RTH001-malformed.yaml"), str(FIXTURES / "RTH003-duplicate-key.yaml"))
    assert p.returncode == 1
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 2
    assert re.match(r"^tests/lint_fixtures/RTH001-malformed\.yaml:5: RTH001 malformed YAML", lines[0])
    assert re.match(r"^tests/lint_fixtures/RTH003-duplicate-key\.yaml:9: RTH003 duplicate key 'since'$", lines[1])
    assert "Traceback" not in p.stderr


def test_cli_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((FIXTURES / "valid-spec.yaml").read_text().replace("    source:", "    sauce: x\n    source:"))
    p = run_cli("validate", str(bad))
    assert p.returncode == 1
    assert p.stdout.strip().endswith("RTH002 unknown key 'sauce' in items[0] (did you mean 'source'?)")
    assert f"{bad}:10:" in p.stdout


def test_cli_missing_file() -> None:
    p = run_cli("validate", "no/such/file.yaml")
    assert p.returncode == 1 and "no/such/file.yaml:0: RTH000 no such file" in p.stdout


def test_cli_repo_passes() -> None:
    p = run_cli("validate")
    assert p.returncode == 0, p.stdout + p.stderr


def test_rules_listing() -> None:
    p = run_cli("validate", "--rules")
    assert p.returncode == 0
    assert {line.split()[0] for line in p.stdout.splitlines()} == {r.id for r in RULES}


def test_a_rule_that_raises_becomes_a_finding_not_a_traceback() -> None:
    """A bug in a rule must still leave `rthooks validate` with one line per problem."""

    class Broken(Rule):
        id = "RTH999"
        title = "always raises"

        def check(self, ctx: LintContext) -> list[Finding]:
            raise KeyError("boom")

    got = run_rules(LintContext(files=[]), [Broken()])
    assert got == [Finding("rthooks", 0, "RTH999", "internal error in rule RTH999: KeyError: 'boom'")]


def test_semantic_rules_skip_files_the_schema_rejected(tmp_path: Path) -> None:
    """A `covers` that is a number once crashed RTH040; now the file gets its schema finding only."""
    bad = tmp_path / "cases" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("cases:\n  - id: x\n    covers: 5\n    steps: []\n    expect: [{exit_status: 0}]\n")
    good = tmp_path / "cases" / "good.yaml"
    good.write_text(
        "cases:\n  - id: y\n    covers: [no/such.Item#clause]\n    steps: []\n    expect: [{exit_status: 0}]\n"
    )
    got = {(Path(f.file).name, f.rule) for f in lint_paths([bad, good])}
    assert got == {("bad.yaml", "RTH002"), ("good.yaml", "RTH040")}


def test_a_key_that_is_not_plain_text_is_quoted_in_one_line(tmp_path: Path) -> None:
    """A finding is one line even when the offending key holds a newline (found by test_lint_fuzz)."""
    bad = tmp_path / "cases" / "odd.yaml"
    bad.parent.mkdir()
    bad.write_text(
        "cases:\n  - id: odd-env-key\n    covers: [runtime.GC#blocks-until-complete]\n"
        '    setup: {env: {"\\n": null}}\n    steps: [{call: runtime.GC}]\n    expect: [{exit_status: 0}]\n'
    )
    found = [f for f in lint_paths([bad]) if f.rule == "RTH002"]
    assert found and all("\n" not in f.message for f in found), found
    assert "env['\\n']" in found[0].message, found[0].message
