"""Writing a shrunk divergence as a case file (the format of cases/*.yaml) that `rthooks validate` accepts.

The case expects what the reference implementation observed (the second ``--impl``: real Go, whose
behaviour is the truth the suite describes), so the case fails on the other one until it is fixed or the
difference is recorded as a deviation. Both observations are stated in a comment above the case.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import textwrap
from pathlib import Path

import yaml

from rthooks.harness.fuzz._compare import build_facts, facts, summary
from rthooks.harness.fuzz._strategies import Program
from rthooks.protocol.results import CaseResult
from rthooks.spec.lint import lint_paths


def case_id(program: Program) -> str:
    """A stable id from the program's content: the same minimal program saved twice is one file."""
    text = json.dumps(
        {"env": program.env, "steps": program.steps, **({"setup": program.setup} if program.setup else {})},
        sort_keys=True,
    )
    return f"fuzz-{program.area}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def case_text(
    program: Program,
    results: tuple[CaseResult, CaseResult],
    names: tuple[str, str],
    *,
    why: list[str],
    seed: int | None,
    reference: int = 1,
) -> str:
    """The YAML of a case file holding the one case, with the two observations in comments."""
    cid = case_id(program)
    data = program.case_data(cid)
    data["title"] = f"rthooks fuzz ({program.area}): {names[0]} and {names[1]} disagree"
    build = (results[reference].get("observed") or {}).get("build")
    if isinstance(build, str):  # the go command refused the setup: a build case (no steps) expects that refusal
        data["steps"], data["expect"] = [], build_facts(build)
    else:
        data["expect"] = [f.expect for f in facts(results[reference], program)]
    order = ["id", "title", "covers", "requires", "nondeterminism", "setup", "steps", "expect", "timeout_s"]
    case = {k: data[k] for k in order if k in data}
    head = [
        "# yaml-language-server: $schema=../spec/schema/case.schema.json",
        f"# Found by `rthooks fuzz --area {program.area}`"
        + (f" --seed {seed}" if seed is not None else "")
        + f" and shrunk by Hypothesis; the expectations are what {names[reference]} observed.",
    ]
    for name, result in zip(names, results, strict=True):
        head += _comment(f"{name} observed: {summary(result)}")
    for line in why[:8]:
        head += _comment(f"diverged: {line}")
    body = yaml.safe_dump({"cases": [case]}, sort_keys=False, width=100, allow_unicode=False)
    return "\n".join(head) + "\n" + body


def _comment(text: str) -> list[str]:
    """Comment lines for ``text`` (ASCII, wrapped; a comment cannot hold a line break)."""
    clean = text.encode("ascii", "backslashreplace").decode().replace("\r", " ").replace("\n", " ")
    return ["# " + part for part in textwrap.wrap(clean, 110, break_long_words=True, break_on_hyphens=False)]


def save(
    directory: Path,
    program: Program,
    results: tuple[CaseResult, CaseResult],
    names: tuple[str, str],
    *,
    why: list[str],
    seed: int | None,
) -> tuple[Path, list[str]]:
    """Write the case file into ``directory`` (made if missing); return its path and what `rthooks validate`
    still finds in it. The case expects the reference's observations; where the linter refuses them (an
    implementation under test answered with a value the result's type cannot hold, say), it expects the
    other side's instead."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{case_id(program)}.yaml"
    findings: list[str] = []
    # Written and checked in a private folder, then moved into place in one step: two `--jobs` workers that
    # shrank to the same program write the same file name, and neither may read the other's half-written text.
    with tempfile.TemporaryDirectory(dir=directory, prefix=".rthooks-fuzz-") as private:
        draft = Path(private) / path.name
        for reference in (1, 0):
            text = case_text(program, results, names, why=why, seed=seed, reference=reference)
            draft.write_text(text, encoding="utf-8")
            findings = [str(f).replace(str(draft), str(path)) for f in lint_paths([draft])]
            if not findings:
                break
        os.replace(draft, path)
    return path, findings
