"""The oracle is as contained as any implementation process (ARCHITECTURE.md, contract 5).

It runs inside the harness's process, with the harness's rights, so it keeps the harness's limits
itself: the files a case names stay inside the case's working directory (no absolute path, no
``..``, no symlink, only regular files, a write budget), the case's timeout ends the run as a
timeout, and results and output are no bigger than the harness would take from a process.
Programs are built as the harness builds them (harness/program.py) and judged by its judge.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case, cases_in_file
from rthooks.harness.impls import base_env
from rthooks.harness.program import compile_case
from rthooks.harness.verdict import Verdict, judge
from rthooks.oracle import casefiles
from rthooks.oracle.process import run_program
from rthooks.oracle.state import OracleRuntime, StepError
from rthooks.protocol.results import OBS_CAP, OUTPUT_CAP, RawRun

RELEASE = GoVersion.parse("1.27")
HOST_TEXT = b"the host's own file\n"


def _case(tmp_path: Path, body: str) -> Case:
    f = tmp_path / "case.yaml"
    f.write_text("cases:\n" + body)
    (case,) = cases_in_file(f)
    return case


def _run(tmp_path: Path, body: str) -> tuple[RawRun, Verdict, Path]:
    """Run one case on the oracle as the harness does, in a working directory of its own."""
    case = _case(tmp_path, body)
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    compiled = compile_case(case, RELEASE)
    raw = run_program(compiled.program, env=base_env(case), release=RELEASE, workdir=workdir, timeout_s=case.timeout_s)
    return raw, judge(case, compiled, raw, workdir), workdir


def _steps(raw: RawRun) -> list[dict[str, Any]]:
    return [o for o in raw.observations if "step" in o]


def _host_file(tmp_path: Path) -> Path:
    """A file outside the working directory, standing for anything on the host."""
    host = tmp_path / "host.txt"
    host.write_bytes(HOST_TEXT)
    return host


# --- confinement -----------------------------------------------------------------------------------

WRITERS = [
    pytest.param('{call: runtime/debug.WriteHeapDump, args: ["NAME"]}', id="WriteHeapDump"),
    pytest.param('{op: profile.write, with: {profile: heap, file: "NAME"}}', id="profile.write"),
    pytest.param('{op: runtime.heapdump.gap, with: {file: "NAME"}}', id="heapdump.gap"),
    pytest.param('{call: runtime/debug.SetCrashOutput, args: ["NAME", {}]}', id="SetCrashOutput"),
    pytest.param('{call: runtime/pprof.WriteHeapProfile, args: ["NAME"]}', id="WriteHeapProfile"),
]


def _writer_case(step: str, name: str) -> str:
    return f"""
  - id: write-outside
    timeout_s: 10
    steps:
      - {step.replace("NAME", name)}
    expect:
      - {{exit_status: 0}}
"""


@pytest.mark.parametrize("step", WRITERS)
def test_absolute_path_is_refused(tmp_path: Path, step: str) -> None:
    host = _host_file(tmp_path)
    raw, _, workdir = _run(tmp_path, _writer_case(step, str(host)))
    (obs,) = _steps(raw)
    assert obs["status"] == "error" and "absolute path" in obs["error"], obs
    assert host.read_bytes() == HOST_TEXT
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("step", WRITERS)
def test_dotdot_path_is_refused(tmp_path: Path, step: str) -> None:
    host = _host_file(tmp_path)  # tmp_path/host.txt is ../host.txt from tmp_path/work
    raw, _, _ = _run(tmp_path, _writer_case(step, "../host.txt"))
    (obs,) = _steps(raw)
    assert obs["status"] == "error" and "'..'" in obs["error"], obs
    assert host.read_bytes() == HOST_TEXT


@pytest.mark.parametrize("step", WRITERS)
def test_symlink_planted_in_the_workdir_is_refused(tmp_path: Path, step: str) -> None:
    host = _host_file(tmp_path)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "link").symlink_to(host)
    raw, _, _ = _run(tmp_path, _writer_case(step, "link"))
    (obs,) = _steps(raw)
    assert obs["status"] == "error" and "symlink" in obs["error"], obs
    assert host.read_bytes() == HOST_TEXT


def test_symlinked_directory_in_the_path_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "dir").symlink_to(outside)
    raw, _, _ = _run(tmp_path, _writer_case('{call: runtime/debug.WriteHeapDump, args: ["NAME"]}', "dir/heap.dump"))
    (obs,) = _steps(raw)
    assert obs["status"] == "error" and "symlink" in obs["error"], obs
    assert list(outside.iterdir()) == []


def test_fifo_planted_in_the_workdir_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    os.mkfifo(tmp_path / "work" / "fifo")
    start = time.monotonic()
    raw, _, _ = _run(tmp_path, _writer_case('{call: runtime/debug.WriteHeapDump, args: ["NAME"]}', "fifo"))
    (obs,) = _steps(raw)
    assert obs["status"] == "error" and "not a regular file" in obs["error"], obs
    assert time.monotonic() - start < 5
    rt = OracleRuntime(RELEASE, 100, 2**63 - 1, 2, {}, tmp_path / "work")
    with pytest.raises(StepError, match="not a regular file"):
        rt.read_file("fifo")  # opening a FIFO to read would wait for a writer; the oracle never waits


def test_hard_link_to_a_host_file_is_refused(tmp_path: Path) -> None:
    host = _host_file(tmp_path)
    (tmp_path / "work").mkdir()
    os.link(host, tmp_path / "work" / "linked")
    raw, _, _ = _run(tmp_path, _writer_case('{call: runtime/debug.WriteHeapDump, args: ["NAME"]}', "linked"))
    (obs,) = _steps(raw)
    assert obs["status"] == "error" and "hard links" in obs["error"], obs
    assert host.read_bytes() == HOST_TEXT


def test_writes_past_the_budget_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each heap dump is 17 bytes; with a 40-byte budget the third write is refused and touches nothing."""
    monkeypatch.setattr(casefiles, "MAX_WRITE_BYTES", 40)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "kept.dump").write_bytes(b"kept")
    raw, _, workdir = _run(
        tmp_path,
        """
  - id: write-too-much
    timeout_s: 10
    steps:
      - {call: runtime/debug.WriteHeapDump, args: [a.dump]}
      - {call: runtime/debug.WriteHeapDump, args: [b.dump]}
      - {call: runtime/debug.WriteHeapDump, args: [kept.dump]}
      - {call: runtime/debug.WriteHeapDump, args: [c.dump]}
    expect:
      - {exit_status: 0}
""",
    )
    statuses = [o["status"] for o in _steps(raw)]
    assert statuses == ["ok", "ok", "error", "error"]
    assert "file too large" in _steps(raw)[2]["error"]
    assert (workdir / "kept.dump").read_bytes() == b"kept"
    assert not (workdir / "c.dump").exists()


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "a/../../x", "a/..", "", ".", "a\0b"])
def test_case_path_refuses_names_outside_the_workdir(tmp_path: Path, name: str) -> None:
    rt = OracleRuntime(RELEASE, 100, 2**63 - 1, 2, {}, tmp_path)
    with pytest.raises(StepError):
        rt.case_path(name)


def test_case_path_of_a_name_inside_the_workdir(tmp_path: Path) -> None:
    rt = OracleRuntime(RELEASE, 100, 2**63 - 1, 2, {}, tmp_path)
    assert rt.case_path("a/./b.txt") == tmp_path / "a" / "b.txt"


def test_the_write_budget_is_64_mib_a_run(tmp_path: Path) -> None:
    rt = OracleRuntime(RELEASE, 100, 2**63 - 1, 2, {}, tmp_path)
    assert rt.files.max_write == 64 << 20
    rt.files.written = rt.files.max_write - 3
    rt.write_file("small", b"abc")
    with pytest.raises(StepError, match="file too large"):
        rt.append_file("small", b"d")
    assert (tmp_path / "small").read_bytes() == b"abc"


def test_files_inside_the_workdir_still_work(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "sub").mkdir()
    _, verdict, workdir = _run(
        tmp_path,
        """
  - id: write-inside
    timeout_s: 10
    steps:
      - {call: runtime/debug.WriteHeapDump, args: [sub/heap.dump]}
      - {call: runtime/debug.WriteHeapDump, args: [./top.dump]}
    expect:
      - {exit_status: 0}
""",
    )
    assert verdict.status == "pass", verdict.reasons
    assert (workdir / "sub" / "heap.dump").read_bytes().startswith(b"go1.7 heap dump\n")
    assert (workdir / "top.dump").read_bytes().startswith(b"go1.7 heap dump\n")


# --- the deadline ----------------------------------------------------------------------------------


def test_a_long_count_ends_as_a_timeout_at_the_deadline(tmp_path: Path) -> None:
    """A billion collections cannot finish in a second: the run is cut there, the earlier steps kept."""
    start = time.monotonic()
    raw, verdict, _ = _run(
        tmp_path,
        """
  - id: many-collections
    timeout_s: 1
    steps:
      - {call: runtime.NumGoroutine, bind: before}
      - {op: metrics.lock.contend, with: {gcs: 1000000000}}
    expect:
      - {exit_status: 0}
""",
    )
    elapsed = time.monotonic() - start
    assert verdict.status == "timeout", verdict.reasons
    assert raw.timed_out and raw.signal == "SIGKILL" and raw.exit_status is None
    assert [o["status"] for o in _steps(raw)] == ["ok"]  # what was observed before the deadline
    assert elapsed < 2.5


def test_godebug_rand_of_three_million_stops_at_the_deadline(tmp_path: Path) -> None:
    """The case that ran 7.6 s under timeout_s: 1 and stored an 84 MB result: now it ends after about
    a second, as a timeout or, on a machine fast enough to fill the observation channel first, as the
    harness's channel error (what a real implementation gets for it), with nothing large kept."""
    start = time.monotonic()
    raw, verdict, _ = _run(
        tmp_path,
        """
  - id: rand-three-million
    timeout_s: 1
    steps:
      - {op: godebug.rand, with: {n: 3000000}, bind: r}
    expect:
      - {exit_status: 0}
""",
    )
    elapsed = time.monotonic() - start
    assert elapsed < 2.5
    assert verdict.status in ("timeout", "error"), verdict.reasons
    if verdict.status == "error":
        assert raw.protocol_errors == [f"observation channel exceeded {OBS_CAP} bytes"]
    assert len(json.dumps(raw.observations)) < 1000


def test_simulated_time_does_not_sleep(tmp_path: Path) -> None:
    """A modelled wait of an hour is modelled, not slept."""
    start = time.monotonic()
    _, verdict, _ = _run(
        tmp_path,
        """
  - id: long-sleep
    timeout_s: 2
    steps:
      - {op: metrics.sleep, with: {ms: 3600000}}
      - {op: runtime.gomaxprocs.watch, with: {within_s: 3600}}
    expect:
      - {exit_status: 0}
""",
    )
    assert verdict.status == "pass", verdict.reasons
    assert time.monotonic() - start < 2


# --- bounded results and output --------------------------------------------------------------------


def test_a_result_too_big_for_the_observation_channel_is_not_built(tmp_path: Path) -> None:
    start = time.monotonic()
    raw, verdict, _ = _run(
        tmp_path,
        """
  - id: huge-profile-slice
    timeout_s: 30
    steps:
      - {call: runtime.NumGoroutine}
      - {call: runtime.BlockProfile, args: [1000000000000]}
    expect:
      - {exit_status: 0}
""",
    )
    assert time.monotonic() - start < 2
    assert verdict.status == "error", verdict.reasons
    assert raw.protocol_errors == [f"observation channel exceeded {OBS_CAP} bytes"]
    assert raw.signal == "SIGKILL" and [o["status"] for o in _steps(raw)] == ["ok"]


def test_stderr_is_kept_to_the_harness_cap(tmp_path: Path) -> None:
    """Ten million parked goroutines in a crash report: the first OUTPUT_CAP bytes, marked truncated."""
    start = time.monotonic()
    raw, verdict, _ = _run(
        tmp_path,
        """
  - id: huge-crash-report
    timeout_s: 30
    setup: {env: {GOTRACEBACK: all}}
    steps:
      - {op: goroutines.start, with: {n: 10000000}}
      - {op: panic, with: {value: boom, recover: false}}
    expect:
      - {exit_status: 2}
""",
    )
    assert time.monotonic() - start < 5
    assert verdict.status == "pass", verdict.reasons
    assert raw.stderr_truncated and len(raw.stderr.encode()) == OUTPUT_CAP
    assert raw.stderr.startswith("panic: boom\n")


def test_a_normal_case_still_passes(tmp_path: Path) -> None:
    _, verdict, workdir = _run(
        tmp_path,
        """
  - id: normal
    timeout_s: 10
    steps:
      - {call: runtime/debug.SetGCPercent, args: [50], bind: prev}
      - {call: runtime/debug.SetGCPercent, args: [100], bind: now}
      - {op: godebug.rand, with: {n: 5, source: 1}, bind: r}
      - {call: runtime/debug.WriteHeapDump, args: [heap.dump]}
    expect:
      - {of: $prev, equals: 100}
      - {of: $now, equals: 50}
      - {exit_status: 0}
""",
    )
    assert verdict.status == "pass", verdict.reasons
    assert (workdir / "heap.dump").is_file()
