"""`rthooks validate`: schema and semantic checks of spec, seed and case files.

Modelled on test262's linter: every check is a :class:`Rule` subclass with a
stable ID, and tests/lint_fixtures holds files that name the findings they
expect. A run never stops at the first problem: every file is read, every rule
runs, and each finding is one line ``file:line: RULE-ID message``.
"""

from __future__ import annotations

from pathlib import Path

from rthooks.spec.lint.engine import Finding, LintContext, SourceFile, lint_files
from rthooks.spec.lint.rules import RULES

__all__ = ["RULES", "Finding", "LintContext", "SourceFile", "lint_paths"]


def lint_paths(paths: list[Path] | None = None) -> list[Finding]:
    """Validate files (default: the project's spec and cases) with every rule; every finding, sorted."""
    return lint_files(paths, RULES)
