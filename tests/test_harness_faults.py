"""The harness against a fake implementation that hangs, crashes, lies and floods.

Every fault must come out as a status in the result record, with no harness
traceback and no process left behind (Bowtie's model).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rthooks.protocol.record import read
from tests.conftest import echo_cases, fake_impl, processes, run_cli, run_pytest, signal_default

CASES = echo_cases("fake-answers", timeout_s=3)

EXPECTED = {
    "ok": "pass",
    "lie": "fail",
    "hang": "timeout",
    "hang-with-grandchild": "timeout",
    "crash-mid-step": "crash",
    "garbage": "error",
    "flood-stdout": "pass",
    "flood-observations": "error",
    "exit0-early": "error",
    "wrong-count": "error",
    "no-hello": "error",
    "unsupported": "skip",
    "partial-line": "error",
    "build-error": "error",  # a build failure the case did not expect
}


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cases"
    d.mkdir()
    (d / "fake.yaml").write_text(CASES)
    return d


def test_every_fault_is_a_status(case_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    args = ["run", "--cases", str(case_dir), "--out", str(out), "--jobs", "4"]
    for mode in EXPECTED:
        args += ["--impl", fake_impl(mode)]
    p = run_cli(*args)
    assert "Traceback" not in p.stderr + p.stdout
    assert p.returncode == 1  # fail/error/timeout/crash are failing statuses
    record = read(out)  # validates against the result schema
    got = {r["impl"].removeprefix("fake-"): r["status"] for r in record["results"]}
    assert got == EXPECTED
    by_impl = {r["impl"]: r for r in record["results"]}
    assert by_impl["fake-flood-stdout"]["observed"]["truncated"] == ["stdout"]
    assert any("not JSON" in x for x in by_impl["fake-garbage"]["reasons"])
    assert by_impl["fake-crash-mid-step"]["observed"]["signal"] == "SIGSEGV"
    time.sleep(0.2)
    assert processes("time.sleep(3600)") == []


def test_record_has_contract_fields(case_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    p = run_cli("run", "--cases", str(case_dir), "--out", str(out), "--impl", fake_impl("ok"))
    assert p.returncode == 0, p.stdout + p.stderr
    rec = read(out)
    assert rec["schema_version"] == 1 and rec["finished"] and not rec["interrupted"]
    impl = rec["implementations"][0]
    assert {"name", "kind", "go_version"} <= impl.keys() and impl["kind"] == "cmd"
    res = rec["results"][0]
    assert {"case", "impl", "status", "expected", "observed", "duration_s"} <= res.keys()
    assert res["observed"]["steps"][0]["value"] == 5


def test_ctrl_c_kills_children_and_keeps_results(case_dir: Path, tmp_path: Path) -> None:
    (case_dir / "more.yaml").write_text(echo_cases("fake-quick", timeout_s=60))
    out = tmp_path / "run.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rthooks.cli",
            "run",
            "--cases",
            str(case_dir),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--impl",
            fake_impl("ok"),
            "--impl",
            fake_impl("hang-with-grandchild"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        preexec_fn=signal_default(signal.SIGINT),  # as from a terminal, even when pytest runs in the background
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(processes("time.sleep(3600)")) < 2:
            time.sleep(0.1)
        assert processes("time.sleep(3600)"), "the hanging fake never started"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:  # a failed assertion must not leave the run behind for later tests
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    time.sleep(0.2)
    assert processes("time.sleep(3600)") == []
    rec = json.loads(out.read_text())
    assert rec["interrupted"] is True
    assert {r["status"] for r in rec["results"] if r["impl"] == "fake-ok"} == {"pass"}


def test_nonexistent_go_for_run_is_one_line(case_dir: Path) -> None:
    p = run_cli("run", "--cases", str(case_dir), "--impl", "go=/no/such/go")
    assert p.returncode == 2 and p.stderr == "rthooks: /no/such/go: no such go command\n"


def test_not_go_for_run_is_one_line(case_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "go"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    p = run_cli("run", "--cases", str(case_dir), "--impl", f"go={fake}")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "not a Go toolchain" in p.stderr


def test_bad_case_file_is_one_line(tmp_path: Path) -> None:
    d = tmp_path / "cases"
    d.mkdir()
    (d / "bad.yaml").write_text(
        "cases:\n  - id: x\n    covers: [runtime.GC#nope]\n    steps: []\n    expect: [{exit_status: 0}]\n"
    )
    p = run_cli("run", "--cases", str(d), "--impl", "oracle")
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "RTH040" in p.stderr and "bad.yaml:3" in p.stderr


def test_pytest_plugin_items_per_case_and_impl(case_dir: Path) -> None:
    p = run_pytest(case_dir, str(case_dir), "--impl", fake_impl("ok"), "--impl", fake_impl("lie"), "-k", "fake-answers")
    assert "1 failed, 1 passed" in p.stdout, p.stdout[-2000:]
    assert "fake-answers[fake-lie]" in p.stdout and "want 5, got 6" in p.stdout
