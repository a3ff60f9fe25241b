"""The harness against implementations that attack it (issue 10, Bowtie's fake taken further).

Each hostile mode of ``python -m rthooks.harness.fake`` attacks in one way. For
each, under both containments the sandbox keeps (PID namespace, and the child
subreaper fallback), the run must end with the expected status in a
schema-valid record, no process left, no case directory left, and the harness
alive and printing no traceback.
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

from rthooks.harness import sandbox
from rthooks.harness.process import run_process
from rthooks.protocol.record import read
from tests.conftest import echo_cases, fake_impl, processes, run_cli, signal_default

CASES = echo_cases("fake-hostile", timeout_s=20)

# The subreaper fallback as this machine's kernel makes it: Landlock ABI 6 and later also keep the
# program from signalling its parent (the sandbox) and the harness.
_FALLBACK = sandbox.Containment("subreaper", False, None, sandbox.landlock_abi())

# status under (pidns, subreaper); None: the mode is not run under that containment
EXPECTED: dict[str, tuple[str, str | None]] = {
    "ok": ("pass", "pass"),
    "escape-setsid": ("pass", "pass"),
    "fork-at-once": ("pass", "pass"),
    "fork-bomb": ("pass", "pass"),
    "big-file": ("crash", "crash"),
    "write-outside": ("pass", "pass"),
    "signal-parent-int": ("pass", "pass"),
    "signal-parent-term": ("pass", "pass"),
    # Under a subreaper without Landlock signal scoping the parent is the sandbox, which a SIGSTOP
    # freezes: the case times out (and is killed), the run goes on. In a PID namespace the parent is
    # init, which ignores it; with Landlock ABI 6 the signal is refused.
    "signal-parent-stop": ("pass", "pass" if _FALLBACK.confines_signals else "timeout"),
    # Without a PID namespace or Landlock signal scoping the harness is visible and signalable by
    # pid: that fallback cannot stop it (README, "Running untrusted cases"), so this mode runs only
    # where it is contained.
    "signal-harness": ("pass", "pass" if _FALLBACK.confines_signals else None),
    "nan": ("error", "error"),
    "surrogate": ("fail", "fail"),
    "huge-value": ("fail", "fail"),
    "escape-codes": ("fail", "fail"),
    "close-and-linger": ("timeout", "timeout"),
}

OUTSIDE = "rthooks-fake-outside-x"


def _outside_places(scratch: Path) -> list[Path]:
    return [Path(os.environ.get("HOME", "/root")), Path("/tmp"), Path("/dev/shm"), scratch, Path.cwd()]


@pytest.fixture(params=["pidns", "subreaper"])
def containment(request: pytest.FixtureRequest) -> str:
    mode = str(request.param)
    if mode == "pidns" and sandbox.containment().mode != "pidns":
        pytest.skip("this machine cannot make PID namespaces (no root, user namespaces off)")
    return mode


def test_every_hostile_mode_is_contained(containment: str, tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "hostile.yaml").write_text(CASES)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for place in _outside_places(scratch):
        (place / OUTSIDE).unlink(missing_ok=True)
    modes = [m for m, want in EXPECTED.items() if want[containment == "subreaper"] is not None]
    out = tmp_path / "run.json"
    args = ["run", "--cases", str(cases), "--out", str(out), "--jobs", "4"]
    for mode in modes:
        args += ["--impl", fake_impl(mode)]
    p = run_cli(*args, env={"RTHOOKS_CONTAINMENT": containment, "RTHOOKS_TMP": str(scratch)})
    assert "Traceback" not in p.stderr + p.stdout
    assert p.returncode == 1, p.stderr[-2000:]  # the failing statuses fail the run; the harness lived
    assert "\x1b" not in p.stdout + p.stderr  # escape sequences from the implementation are shown escaped
    record = read(out)  # schema-valid
    json.dumps(record, allow_nan=False)  # strict JSON throughout
    got = {r["impl"].removeprefix("fake-"): r for r in record["results"]}
    want = {m: EXPECTED[m][containment == "subreaper"] for m in modes}
    assert {m: r["status"] for m, r in got.items()} == want
    time.sleep(0.3)
    assert processes("rthooks-fake-escapee") == []
    assert processes("rthooks.harness.fake") == []

    assert "limits [4294967296, 268435456, 120]" in got["fork-at-once"]["observed"]["stderr"]
    assert "File too large" in got["big-file"]["observed"]["stderr"]
    assert any("NaN is not JSON" in x for x in got["nan"]["reasons"])
    assert any("closed stdout, stderr and the observation channel" in x for x in got["close-and-linger"]["reasons"])
    huge = json.dumps(got["huge-value"])
    assert len(huge) < 1 << 20 and "truncated" in huge
    assert "\ud800" not in json.dumps(got["surrogate"], ensure_ascii=False)
    written = [place for place in _outside_places(scratch) if (place / OUTSIDE).exists()]
    if containment == "pidns" or _FALLBACK.confines_writes:
        assert written == []  # read-only mounts, or Landlock: nothing but the case's own directory
    else:
        assert written  # a fallback without Landlock does not prevent it (README): documented, not hidden
        for place in written:
            (place / OUTSIDE).unlink()
    assert list(scratch.iterdir()) == []  # every case directory removed
    report = run_cli("report", str(out), "--format", "html", "--format", "md", "--out", str(tmp_path / "rep"))
    assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr


FILE_CASES = """
cases:
  - id: fake-files
    timeout_s: 20
    covers: [runtime.GC#blocks-until-complete]
    steps:
      - {op: echo, with: {answer: 5}, bind: five}
    expect:
      - {file: {path: passwd.txt, regex: "root"}}
      - {file: {path: zero.txt, regex: "x"}}
      - {file: {path: fifo.txt, regex: "x"}}
      - {file: {path: sub/etc/passwd, regex: "root"}}
"""


def test_file_matcher_reads_only_regular_files_inside_the_case(tmp_path: Path) -> None:
    """Symlinks out (/etc/passwd, /dev/zero), FIFOs and symlinked folders are refused, never read."""
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "files.yaml").write_text(FILE_CASES)
    out = tmp_path / "run.json"
    p = run_cli("run", "--cases", str(cases), "--out", str(out), "--impl", fake_impl("plant-files"))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    (result,) = read(out)["results"]
    assert result["status"] == "fail"
    reasons = "\n".join(result["reasons"])
    for name in ("passwd.txt", "zero.txt", "sub/etc/passwd"):
        assert f"file {name}: a symbolic link or not a directory on the way: refused" in reasons
    assert "file fifo.txt: not a regular file: refused" in reasons


def test_nohup_does_not_leak_into_cases(tmp_path: Path) -> None:
    """Started with SIGHUP ignored (nohup), the harness still gives programs the default disposition."""
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        run = run_process(
            ["cat", "/proc/self/status"],
            {"protocol": 1, "steps": []},
            env={"PATH": "/usr/bin:/bin"},
            cwd=tmp_path,
            timeout_s=30,
        )
    finally:
        signal.signal(signal.SIGHUP, old)
    status = dict(line.split(":\t", 1) for line in run.stdout.splitlines() if ":\t" in line)
    assert int(status["SigIgn"], 16) == 0 and int(status["SigBlk"], 16) == 0


def test_limits_hold_before_the_first_instruction(tmp_path: Path) -> None:
    run = run_process(
        ["/bin/sh", "-c", "ulimit -v; ulimit -f; ulimit -t; ulimit -c"],
        {"protocol": 1, "steps": []},
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout_s=30,
    )
    kib = [line.strip() for line in run.stdout.splitlines()]
    assert kib == [str(sandbox.ADDRESS_SPACE // 1024), str(sandbox.FILE_SIZE // 512), str(sandbox.CPU_SECONDS), "0"]


def test_case_environment_never_reaches_the_sandbox(tmp_path: Path) -> None:
    """LD_PRELOAD in a program's environment acts on the program only, never on the launcher."""
    run = run_process(
        ["/usr/bin/env"],
        {"protocol": 1, "steps": []},
        env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": "/nonexistent/evil.so", "ZZ": "1"},
        cwd=tmp_path,
        timeout_s=30,
    )
    assert run.start_error is None and run.exit_status == 0
    assert "ZZ=1" in run.stdout.splitlines()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_to_the_harness_end_the_run_cleanly(sig: signal.Signals, tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "c.yaml").write_text(echo_cases("fake-hostile", timeout_s=60))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "run.json"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "rthooks.cli", "run", "--cases", str(cases), "--out", str(out), "--jobs", "2"),
            *("--impl", fake_impl("ok"), "--impl", fake_impl("hang-with-grandchild")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RTHOOKS_TMP": str(scratch)},
        preexec_fn=signal_default(sig),  # as from a terminal, even when pytest runs in the background or under nohup
    )
    try:
        # The record exists once the first result (fake-ok) is in: the run, and its signal handling, is
        # under way. (A sleeping process alone could be another test's, not yet reaped.)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out.exists() and processes("time.sleep(3600)")):
            time.sleep(0.1)
        assert out.exists() and processes("time.sleep(3600)"), "the run never got under way"
        time.sleep(0.5)
        proc.send_signal(sig)
        _stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed assertion must not leave the run behind for later tests
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    time.sleep(0.3)
    assert processes("time.sleep(3600)") == []
    assert list(scratch.iterdir()) == []
    rec = read(out)
    assert rec["interrupted"] is True and rec["finished"]
    assert {r["status"] for r in rec["results"] if r["impl"] == "fake-ok"} == {"pass"}


def test_harness_refuses_an_unvalidated_case_itself(spec: object) -> None:
    """Defence in depth: a caller that skips `rthooks validate` still cannot run a hostile case."""
    from rthooks.goversion import GoVersion
    from rthooks.harness.cases import Case
    from rthooks.harness.impls import OracleImpl
    from rthooks.harness.runner import run_one
    from rthooks.yamlsrc import loads

    data = loads(
        "id: x\ncovers: [runtime.GC#blocks-until-complete]\n"
        "setup: {build_flags: [\"-toolexec=/bin/sh -c 'touch /tmp/pwned'\"], env: {LD_PRELOAD: /x.so}}\n"
        "steps: [{call: runtime/debug.WriteHeapDump, args: [../../etc/x]}]\nexpect: [{exit_status: 0}]\n"
    )
    result = run_one(OracleImpl(GoVersion.parse("1.27")), Case(id="x", data=data, file="x.yaml", line=1), spec)  # type: ignore[arg-type]
    assert result["status"] == "error"
    text = "\n".join(result["reasons"])
    assert "setup.build_flags[0]" in text and "setup.env.LD_PRELOAD" in text and "../../etc/x" in text


@pytest.mark.parametrize("content", [b"not a program\n", b"\x7fELF\x02\x01\x01"])
def test_a_program_that_cannot_be_executed_says_why(tmp_path: Path, content: bytes) -> None:
    """The sandbox's exec fails (ENOEXEC): the reason reaches the result, not a bare exit status 125. The
    sandbox closes every other descriptor before the exec, and used to close the one that carries it."""
    prog = tmp_path / "impl"
    prog.write_bytes(content)
    prog.chmod(0o755)
    run = run_process(
        [str(prog)], {"protocol": 1, "steps": []}, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, timeout_s=30
    )
    assert run.start_error == f"the sandbox could not start the implementation: cannot start {prog}: Exec format error"
    assert run.observations == []
