"""Contract 5: a case file is data. Each attack that once passed `rthooks validate` now fails it.

Every test writes a case file the way a stranger's pull request would, runs the real
`rthooks validate` entry point on it, and asserts exit status 1 with the rule ID and the
file:line of the offending value. The last tests hold the policy's tables to the spec and to
PROTOCOL.md, so that a new op or call that opens a file cannot slip past it.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import pytest

from rthooks import casepolicy, regex
from rthooks.cli import main
from rthooks.spec.lint import lint_paths
from rthooks.spec.load import Spec
from rthooks.yamlsrc import load
from tests.conftest import ROOT

HEAD = """cases:
  - id: attack
    covers: [runtime/debug.SetGCPercent#returns-previous]
"""


def validate(tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], Path]:
    """Write a case file under a cases/ folder, run `rthooks validate` on it: (status, output lines, path)."""
    folder = tmp_path / "cases"
    folder.mkdir(exist_ok=True)
    path = folder / "attack.yaml"
    path.write_text(HEAD + body)
    status = main(["validate", str(path)])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return status, out.out.splitlines(), path


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the file that contains ``needle``."""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def assert_finding(status: int, lines: list[str], path: Path, rule: str, needle: str) -> None:
    """Exit status 1 and a finding `file:line: RULE ...` on the line holding ``needle``."""
    assert status == 1, lines
    want = f"{path}:{line_of(path, needle)}: {rule} "
    assert any(line.startswith(want) for line in lines), (want, lines)


def test_toolexec_build_flag_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = """    setup: {build_flags: ["-toolexec=/nonexistent/rthooks-tool"]}
    steps: [{call: runtime/debug.SetGCPercent, args: [50]}]
    expect: [{exit_status: 0}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH060", "-toolexec")
    assert "-toolexec runs a command of the case's choosing" in "\n".join(lines)


def test_trimpath_typo_gets_a_suggestion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = """    setup: {build_flags: [-trimpath=0]}
    steps: []
    expect: [{exit_status: 0}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH060", "-trimpath=0")
    assert "did you mean -trimpath=false?" in "\n".join(lines)


def test_gocmd_files_cannot_write_absolute_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = """    requires: {capabilities: [go-tool]}
    setup: {build_flags: [-tags=rthooks_lib]}
    steps:
      - op: lib.gocmd
        with:
          files:
            m/go.mod: "module rthooks.test/m\\n\\ngo 1.21\\n"
            /nonexistent/rthooks-planted.txt: "owned\\n"
          runs: [{args: [build, .]}]
    expect: [{exit_status: 0}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH062", "/nonexistent/rthooks-planted.txt")


def test_gocmd_cannot_run_unreviewed_go_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = """    steps:
      - op: lib.gocmd
        with:
          files:
            t/go.mod: "module rthooks.test/t\\n\\ngo 1.22\\n"
            t/main.go: "package main\\n\\nfunc main() { println(\\"not reviewed\\") }\\n"
          runs:
            - {args: [build, -o, t.bin, .], dir: t}
            - {prog: t.bin, dir: t}
    expect: [{exit_status: 0}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH065", "t/main.go")


def test_path_in_env_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = """    setup: {env: {PATH: /nonexistent/bin}}
    steps: []
    expect: [{exit_status: 0}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH061", "PATH:")


def test_pythonpath_with_launch_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = """    setup:
      env: {PYTHONPATH: /nonexistent}
      launch: {ignore_signals: [SIGHUP]}
    steps: []
    expect: [{exit_status: 0}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH061", "PYTHONPATH")


@pytest.mark.parametrize("host_file", ["/etc/passwd", "/proc/self/environ", "../../../etc/passwd"])
def test_file_matcher_cannot_read_host_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host_file: str
) -> None:
    body = f"""    steps: []
    expect:
      - {{file: {{path: "{host_file}", regex: "^root:"}}}}
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH062", host_file)


@pytest.mark.parametrize(
    ("step", "needle"),
    [
        ("{call: runtime/debug.WriteHeapDump, args: [/nonexistent/home/.profile]}", "/nonexistent/home/.profile"),
        ("{call: runtime/debug.WriteHeapDump, args: [../../nonexistent/heap.dump]}", "../../nonexistent/heap.dump"),
        (
            "{op: profile.write, with: {profile: heap, file: /nonexistent/overwritten, debug: 1}}",
            "/nonexistent/overwritten",
        ),
        ("{op: profile.write, with: {profile: heap, file: ../up.txt, debug: 1}}", "../up.txt"),
        ("{call: runtime/pprof.WriteHeapProfile, args: [{file: /nonexistent/motd}]}", "/nonexistent/motd"),
    ],
)
def test_written_files_stay_in_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], step: str, needle: str
) -> None:
    body = f"""    steps:
      - {step}
    expect: [{{exit_status: 0}}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH062", needle)


def test_catastrophic_regex_is_matched_in_linear_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`^(a+)+$` ran 15 s under Python's re. RE2 accepts it and matches it in linear time,
    so validate has nothing to refuse; the judge (harness.matchers) matches with RE2."""
    body = """    steps: []
    expect: [{of: stderr, regex: "^(a+)+$"}]
"""
    status, _, _ = validate(tmp_path, body, capsys)
    assert status == 0
    start = time.perf_counter()
    assert regex.search("^(a+)+$", "a" * 200_000 + "!") is None
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_timeout_must_be_finite(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    body = f"""    timeout_s: {value}
    steps: []
    expect: [{{exit_status: 0}}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert status == 1
    rules = {line.split()[1] for line in lines}
    # .nan slips past the schema's bounds (every comparison with NaN is false): the policy catches it.
    assert rules <= {"RTH002", "RTH063"} and rules, lines
    assert any(line.startswith(f"{path}:{line_of(path, 'timeout_s')}: ") for line in lines)


def test_nan_timeout_is_caught_by_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = """    timeout_s: .nan
    steps: []
    expect: [{exit_status: 0}]
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH063", "timeout_s")


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        ('"\\\\Aok\\\\n\\\\Z"', "Z"),
        ('"\\\\A(?![\\\\s\\\\S]*panic)"', "?!"),
        ('"[unclosed"', "[unclosed"),
        ('"(a)\\\\1"', "(a)"),
    ],
)
def test_invalid_regex_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pattern: str, needle: str
) -> None:
    body = f"""    steps: []
    expect:
      - {{of: stderr, regex: {pattern}}}
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH064", needle)


def test_file_matcher_regex_is_checked_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = """    steps: []
    expect:
      - {file: {path: out.txt, not_regex: "(?<=x)y"}}
"""
    status, lines, path = validate(tmp_path, body, capsys)
    assert_finding(status, lines, path, "RTH064", "(?<=x)y")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- just\n- a list\n", 1),
        ('"a scalar"\n', 1),
        ("cases: 5\n", 1),
        ("cases: {a: 1}\n", 1),
        ("renamed: [old]\ncases: []\n", 1),
        ("cases:\n  - id: x\n    covers: 5\n    steps: []\n    expect: [{exit_status: 0}]\n", 3),
        ("cases:\n  - id: x\n    covers: [a#b]\n    steps: []\n    expect: [{relation: 5}]\n", 5),
        (
            "cases:\n  - id: x\n    covers: [a#b]\n    steps: []\n    expect: [{relation: {left: 1, op: '<', right: x}}]\n",
            5,
        ),
        ("cases:\n  - id: x\n    covers: [a#b]\n    steps: 7\n    expect: [{exit_status: 0}]\n", 4),
    ],
)
def test_wrong_shapes_give_schema_findings_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int
) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    path = folder / "shape.yaml"
    path.write_text(text)
    status = main(["validate", str(path)])
    out = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in out.err and "internal error" not in out.out
    assert f"{path}:{line}: RTH002 " in out.out, out.out


def test_semantic_rules_never_see_a_file_the_schema_rejected(tmp_path: Path) -> None:
    """`renamed` as a list once crashed RTH041 (`.keys()` of a list): now only RTH002 speaks."""
    path = tmp_path / "cases" / "renamed.yaml"
    path.parent.mkdir()
    path.write_text(
        HEAD.replace("cases:\n", "renamed: [a, b]\ncases:\n") + "    steps: []\n    expect: [{exit_status: 0}]\n"
    )
    assert {f.rule for f in lint_paths([path])} == {"RTH002"}


def test_todays_cases_validate_clean() -> None:
    findings = lint_paths([ROOT / "cases"])
    assert findings == [], "\n".join(map(str, findings))


def test_todays_cases_pass_the_run_time_check() -> None:
    """The harness calls check_case before a run: it must agree with validate on every case."""
    for path in sorted((ROOT / "cases").rglob("*.yaml")):
        for case in load(path)["cases"]:
            assert casepolicy.check_case(case) == [], (path, case["id"])


# ---------------------------------------------------------------------------------------------
# The policy itself: total, fast, and in step with the spec and PROTOCOL.md.
# ---------------------------------------------------------------------------------------------


def _nested(depth: int) -> Any:
    out: Any = 1
    for _ in range(depth):
        out = [out]
    return out


@pytest.mark.parametrize(
    "case",
    [
        None,
        5,
        "text",
        [],
        {},
        {"steps": 5, "expect": "x", "setup": []},
        {"setup": {"env": [1], "build_flags": "x", "godebug": 3}},
        {"setup": {"env": {1: 2, None: b"x"}, "build_flags": [None, 3, -1.5]}},
        {"steps": [{"op": "lib.gocmd", "with": {"runs": [5, {"args": "x"}], "files": [1], "symlinks": {1: 2}}}]},
        {"steps": [{"op": "lib.gocmd", "with": {"runs": [{"args": [1, None]}, {"prog": 3, "dir": []}]}}]},
        {"steps": [{"call": "runtime/debug.WriteHeapDump", "args": [{"file": 5}]}, {"call": 3, "args": {}}]},
        {"steps": [{"op": "profile.write", "with": {"file": ["a"]}}], "expect": [{"file": {"path": None}}]},
        {"steps": [{"op": "busy", "with": {"ms": math.nan}, "repeat": math.inf}], "timeout_s": "soon"},
        {"expect": [{"regex": 5, "not_regex": None}, {"file": {"regex": ["x"]}}]},
        {
            "steps": [
                {
                    "call": "runtime/pprof.Do",
                    "args": [None, "$l", {"steps": [{"op": "profile.write", "with": {"file": "/etc/passwd", "profile": "heap"}}]}],
                }
            ]
        },
        {"steps": [{"op": "x", "with": _nested(5000)}]},
        _nested(5000),
    ],
)
def test_check_case_is_total(case: Any) -> None:
    start = time.perf_counter()
    got = casepolicy.check_case(case)
    assert time.perf_counter() - start < 1
    assert isinstance(got, list)
    for where, message in got:
        assert isinstance(where, list) and isinstance(message, str)
        assert "could not be checked" not in message, message
        assert "\n" not in message


def test_nested_callback_steps_are_checked() -> None:
    case = {
        "steps": [
            {
                "call": "runtime/pprof.Do",
                "args": [None, "$l", {"steps": [{"op": "profile.write", "with": {"file": "/etc/shadow", "profile": "heap"}}]}],
            }
        ]
    }
    assert casepolicy.check_case(case) == [
        (["steps", 0, "args", 2, "steps", 0, "with", "file"], casepolicy.path_problem("/etc/shadow"))
    ]


def test_tables_are_sorted() -> None:
    for name in (
        "ENV_KEYS",
        "REFUSED_ENV",
        "REFUSED_BUILD_FLAGS",
        "PATH_KEYS",
        "CALL_FILE_ARGS",
        "COUNT_BOUNDS",
        "GOCMD_GO_SOURCES",
        "HOST_KEYS",
        "SETENV_OPS",
    ):
        keys = list(getattr(casepolicy, name))
        assert keys == sorted(keys), name
    for name in ("BUILD_FLAGS", "FAKE_GOROOTS", "GOCMD_SUBCOMMANDS", "GOCMD_FLAGS", "HOST_SUFFIXES"):
        values = list(getattr(casepolicy, name))
        assert values == sorted(values), name


def _param_types(signature: str) -> list[tuple[str, str]]:
    """(name, type) of each parameter of a Go func signature, receiver first for a method."""
    m = re.match(r"func (?:\((\w+ )?([^)]*)\) )?\w+(?:\[[^\]]*\])?\(", signature)
    assert m, signature
    out: list[tuple[str, str]] = [((m.group(1) or "").strip(), m.group(2))] if m.group(2) else []
    parts, depth, cur = [], 0, ""
    for ch in signature[m.end() :]:
        if ch == ")" and depth == 0:
            break
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    pending: list[str] = []
    for part in (p for p in parts if p):
        bits = part.split(None, 1)
        if len(bits) == 1:
            pending.append(bits[0])
            continue
        out.extend((n, bits[1]) for n in [*pending, bits[0]])
        pending = []
    return out


def test_every_spec_call_that_opens_a_file_is_in_the_table(spec: Spec) -> None:
    """A function taking an io.Writer, an *os.File or a descriptor gets a file name from the case."""
    want: dict[str, int] = {}
    for item in spec:
        if item.kind not in ("function", "method") or "signature" not in item.data:
            continue
        for i, (name, typ) in enumerate(_param_types(str(item.data["signature"]))):
            if typ in ("io.Writer", "*os.File") or (name == "fd" and typ == "uintptr"):
                want[item.id] = i
    assert want == casepolicy.CALL_FILE_ARGS


def test_every_op_with_a_file_argument_is_in_the_table() -> None:
    """PROTOCOL.md's op table: each op whose `with` names a `file` has its paths checked."""
    rows = [line.split("|") for line in (ROOT / "PROTOCOL.md").read_text().splitlines() if line.startswith("| `")]
    with_file = [re.findall(r"`([a-z][a-z0-9_.-]*)`", row[1]) for row in rows if "`file`" in row[2]]
    assert with_file
    for ops in with_file:
        assert any(op in casepolicy.PATH_KEYS for op in ops), ops
    documented = {op for ops in with_file for op in ops}
    assert set(casepolicy.PATH_KEYS) <= documented


def test_the_judge_applies_a_file_matchers_not_regex(tmp_path: Path) -> None:
    """The schema's `file.not_regex` replaced look-aheads in six cases; a judge that ignored it
    would let those cases pass without checking what they promise not to find."""
    from rthooks.harness.matchers import Observed, evaluate

    (tmp_path / "g2.txt").write_text('goroutine profile: total 2\n# labels: {"first":"1"}\n')
    obs = Observed(workdir=tmp_path)
    assert evaluate({"file": {"path": "g2.txt", "regex": r"\Agoroutine profile: total \d+"}}, obs) is None
    assert evaluate({"file": {"path": "g2.txt", "not_regex": '"first"'}}, obs) is not None
    assert evaluate({"file": {"path": "g2.txt", "not_regex": '"second"'}}, obs) is None
