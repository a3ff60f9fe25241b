"""The contract additions of issue 4: build-failure cases, launch state, matchers, untestable clauses.

Each is checked against something real: the fake implementation speaking the
protocol, a real process started through the launcher, real go1.21 and go1.27
builds, and the spec's own GODEBUG removal facts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rthooks.goversion import GoVersion
from rthooks.harness.impls import python_command
from rthooks.harness.matchers import Observed, evaluate
from rthooks.harness.process import run_process
from rthooks.oracle.godebugmodel import build_error
from rthooks.protocol.record import read
from tests.conftest import run_cli

BUILD_CASES = """
cases:
  - id: build-unknown-directive
    covers: [godebug:cgocheck#directive-rejected]
    setup: {directives: {cgocheck: "1"}}
    steps: []
    expect:
      - {of: build, regex: 'invalid //go:debug: unknown //go:debug setting "cgocheck"'}
  - id: build-known-directive-builds
    covers: [godebug:panicnil#default-panicnilerror]
    setup: {directives: {panicnil: "1"}}
    steps: []
    expect:
      - {of: build, regex: 'invalid'}
"""


def _write(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "cases"
    d.mkdir()
    (d / "c.yaml").write_text(text)
    return d


def _statuses(out: Path) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    return {(r["impl"], r["case"]): r for r in read(out)["results"]}


def test_build_cases_on_real_go_and_oracle(tmp_path: Path) -> None:
    d = _write(tmp_path, BUILD_CASES)
    out = tmp_path / "run.json"
    p = run_cli(
        "run", "--cases", str(d), "--impl", "oracle", "--impl", "go=1.21", "--impl", "go=1.27", "--out", str(out)
    )
    assert "Traceback" not in p.stderr
    got = _statuses(out)
    for impl in ("oracle-go1.27", "go1.21", "go1.27"):
        assert got[(impl, "build-unknown-directive")]["status"] == "pass", got[(impl, "build-unknown-directive")]
        # a configuration that builds fails a build case, and says the program built
        bad = got[(impl, "build-known-directive-builds")]
        assert bad["status"] == "fail" and "built" in " ".join(bad["reasons"])
    assert "unknown //go:debug setting" in got[("go1.27", "build-unknown-directive")]["observed"]["build"]


def test_build_error_observation_from_a_protocol_implementation(tmp_path: Path) -> None:
    d = _write(tmp_path, BUILD_CASES)
    out = tmp_path / "run.json"
    fake = "cmd:fake=" + python_command("rthooks.harness.fake", "--mode", "build-error")
    run_cli("run", "--cases", str(d), "--impl", fake, "-k", "build-unknown-directive", "--out", str(out))
    assert _statuses(out)[("fake", "build-unknown-directive")]["status"] == "pass"


@pytest.mark.parametrize(
    ("setup", "release", "want"),
    [
        ({"directives": {"cgocheck": "1"}}, "1.21", 'unknown //go:debug setting "cgocheck"'),
        ({"godebug": {"cgocheck": "1"}}, "1.23", 'unknown godebug "cgocheck"'),
        ({"godebug": {"panicnil": "1"}}, "1.22", "unknown block type: godebug"),
        ({"directives": {"x509sha1": "1"}}, "1.23", None),  # still a table key
        ({"directives": {"x509sha1": "1"}}, "1.24", 'unknown //go:debug setting "x509sha1"'),
        ({"directives": {"x509sha1": "0"}}, "1.26", 'use of removed //go:debug setting "x509sha1"'),
        ({"directives": {"x509sha1": "1"}}, "1.27", 'removed GODEBUG "x509sha1" set to old value "1"'),
        ({"directives": {"x509sha1": "0"}}, "1.27", None),
        ({"directives": {"default": "go1.20"}}, "1.21", 'unknown //go:debug setting "default"'),
        ({"directives": {"default": "go1.20"}}, "1.23", None),
        ({"directives": {"default": "go1.99"}}, "1.27", "default=go1.99 too new"),
    ],
)
def test_oracle_build_rules_follow_cmd_go(setup: dict, release: str, want: str | None) -> None:  # type: ignore[type-arg]
    got = build_error(setup, GoVersion.parse(release))
    if want is None:
        assert got is None
    else:
        assert got is not None and want in got


def test_launch_applies_affinity_and_ignored_signals(tmp_path: Path) -> None:
    # cat, not python: the interpreter would ignore SIGPIPE itself
    run = run_process(
        ["cat", "/proc/self/status"],
        {"protocol": 1, "steps": []},
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout_s=30,
        launch={"cpus": [0], "ignore_signals": ["SIGHUP", "INT"]},
    )
    status = dict(line.split(":\t", 1) for line in run.stdout.splitlines() if ":\t" in line)
    assert status["Cpus_allowed_list"].strip() == "0"
    ignored = int(status["SigIgn"], 16)
    assert ignored & (1 << (1 - 1)) and ignored & (1 << (2 - 1))  # SIGHUP=1, SIGINT=2
    assert not ignored & (1 << (13 - 1))  # SIGPIPE back to default for the program


def _obs(**values: object) -> Observed:
    return Observed(values=dict(values))


@pytest.mark.parametrize(
    ("exp", "ok"),
    [
        ({"relation": {"left": "$a", "op": "==", "right": "$b", "tolerance": {"abs": 0.01}}}, True),
        ({"relation": {"left": "$a", "op": "==", "right": "$b"}}, False),
        ({"relation": {"left": "$a", "op": "==", "right": "$b", "tolerance": {"rel": 1e-9}}}, False),
        ({"relation": {"left": ["$a", "$a"], "op": "sum==", "right": 2.0, "tolerance": {"abs": 0.02}}}, True),
        ({"relation": {"left": "$b", "op": "<=", "right": "$a", "tolerance": {"abs": 0.01}}}, True),
        ({"relation": {"left": "$h1", "op": "<=", "right": "$h2", "each": True}}, True),
        ({"relation": {"left": "$h2", "op": "<=", "right": "$h1", "each": True}}, False),
        ({"relation": {"left": "$h1", "op": "<=", "right": "$short", "each": True}}, False),
        ({"of": "$h1", "length": 3}, True),
        ({"of": "$short", "length": [1, 2]}, True),
        ({"of": "$short", "length": 3}, False),
        ({"of": "$a", "length": 1}, False),
    ],
)
def test_new_matchers(exp: dict, ok: bool) -> None:  # type: ignore[type-arg]
    h1 = {"counts": [1, 2, 3], "buckets": [0, 1, 2, 3]}
    h2 = {"counts": [1, 5, 3], "buckets": [0, 1, 2, 3]}
    why = evaluate(exp, _obs(a=1.005, b=1.0, h1=h1, h2=h2, short=[1, 2]))
    assert (why is None) == ok, why


def test_untestable_clauses_leave_the_figure_and_are_listed(tmp_path: Path) -> None:
    p = run_cli("coverage", "--format", "json")
    cov = json.loads(p.stdout)
    marked = {u["clause"] for u in cov["untestable"]}
    assert not marked & set(cov["uncovered"])
    for u in cov["untestable"]:
        assert u["reason"] in {"other-os", "cgo", "privilege", "unobservable", "advice"} and len(u["detail"]) >= 10
    listing = run_cli("coverage", "--untestable").stdout
    assert all(c in listing for c in marked)


def test_coverage_from_a_run_counts_only_passing_cases(tmp_path: Path) -> None:
    d = _write(tmp_path, BUILD_CASES)
    out = tmp_path / "run.json"
    run_cli("run", "--cases", str(d), "--impl", "oracle", "--out", str(out))
    cov = json.loads(run_cli("coverage", "--cases", str(d), "--format", "json", "--run", str(out)).stdout)
    assert "godebug:cgocheck#directive-rejected" not in cov["uncovered"]  # its case passed
    assert "godebug:panicnil#default-panicnilerror" in cov["uncovered"]  # its case failed
