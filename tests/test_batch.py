"""Batch mode (PROTOCOL.md, "Batch mode"): one Go driver process runs many programs, each observing what
it would observe in a process of its own; and processes started ahead of their program (WarmStarts)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rthooks import toolchain
from rthooks.harness.cases import Case
from rthooks.harness.driver_build import BuildConfig, build_driver
from rthooks.harness.impls import batchable, warmable
from rthooks.harness.process import BatchProcess, WarmStarts, _Split, batch_marker, run_process
from rthooks.protocol.results import RawRun

ENV = {"PATH": "/usr/bin:/bin"}


def _driver(release: str) -> Path:
    tc = toolchain.for_release(release)
    return build_driver(tc, BuildConfig(goline=str(tc.release)))


def prog(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"protocol": 1, "case": "batch-test", "go": "1.27", "steps": list(steps)}


def call(item: str, *args: Any) -> dict[str, Any]:
    return {"call": item, "args": list(args)}


@pytest.fixture
def batch() -> Iterator[BatchProcess]:
    bp = BatchProcess([str(_driver("1.27"))], env=ENV)
    yield bp
    bp.close()


def results(run: RawRun) -> list[Any]:
    """The step observations (without hello and done), as the judge gets them."""
    return [o for o in run.observations if "step" in o]


def values(run: RawRun) -> list[Any]:
    return [o.get("value") for o in results(run)]


#: Reads every piece of state the batch restores, then crashes: GOMAXPROCS, the profile rates (the block
#: rate through records at a fixed site: none while it is 0), and the traceback level through the crash's
#: traceback (SetTraceback("all") would add goroutine 1's stack, "system" the runtime frames).
PROBE = prog(
    call("runtime/debug.SetGCPercent", 100),
    call("runtime/debug.SetMemoryLimit", -1),
    call("runtime/debug.SetMaxStack", 1 << 30),
    call("runtime/debug.SetMaxThreads", 10000),
    call("runtime.GOMAXPROCS", 0),
    call("runtime.SetMutexProfileFraction", -1),
    {"op": "runtime.memprofilerate"},
    {"op": "runtime.block", "with": {"n": 3, "hold_us": 300}},
    {"op": "runtime.contention.site", "with": {"profile": "block"}},
    {"op": "panic", "with": {"value": "isolation", "recover": False, "goroutine": True}},
)

#: Programs that between them change every setter the debug area drives, each away from its default.
CHANGERS = [
    prog(call("runtime/debug.SetGCPercent", 7), call("runtime/debug.SetMemoryLimit", 1 << 28)),
    prog(call("runtime/debug.SetMaxStack", 1 << 20), call("runtime/debug.SetMaxThreads", 500)),
    prog(call("runtime.GOMAXPROCS", 1), call("runtime.SetMutexProfileFraction", 3)),
    prog(call("runtime.SetBlockProfileRate", 1), call("runtime.SetCPUProfileRate", 0)),
    prog({"op": "runtime.memprofilerate", "with": {"set": 1}}, call("runtime/debug.SetTraceback", "system")),
]


def _goroutine_numbers_out(text: str) -> str:
    """Goroutine numbers depend on when the collector started its workers, argument values in a frame
    are addresses (ASLR), and a goroutine other than the crashing one may or may not have parked yet:
    all three differ between two fresh processes too. Everything else in the traceback (frames, code
    offsets, the panic line, which goroutines are shown) must be the same."""
    text = re.sub(r"\((?:0x[0-9a-f]+\??(?:, )?|\.\.\.)+\)", "(ARGS)", text)
    return re.sub(r"goroutine \d+( \[(?!running\])[^\]]*\])?", "goroutine N", text)


@pytest.mark.parametrize("release", ["1.21", "1.27"])
def test_a_program_observes_the_same_alone_and_after_programs_that_change_every_setter(
    release: str, tmp_path: Path
) -> None:
    binary = _driver(release)
    alone = run_process([str(binary)], PROBE, env=ENV, cwd=tmp_path, timeout_s=60)
    bp = BatchProcess([str(binary)], env=ENV)
    try:
        changed = [bp.run(p, 60) for p in CHANGERS]
        after = bp.run(PROBE, 60)
    finally:
        bp.close()
    assert bp.started == 2  # one batch for all six programs; the crash ended it, and a fresh one waits
    # Each changer saw the start-up values, so each program before it was undone.
    assert [values(r) for r in changed] == [
        [100, (1 << 63) - 1],
        [1000000000, 10000],
        [values(alone)[4], 0],
        [None, None],
        [524288, None],
    ]
    assert all(r.exit_status == 0 and r.stdout == r.stderr == "" and not r.protocol_errors for r in changed)
    assert results(after) == results(alone)
    assert values(alone)[:7] == [100, (1 << 63) - 1, 1000000000, 10000, values(alone)[4], 0, 524288]
    assert values(alone)[8]["records"] == 0  # the block profile is off at start-up
    assert (after.exit_status, after.signal) == (alone.exit_status, alone.signal) == (2, None)
    assert _goroutine_numbers_out(after.stderr) == _goroutine_numbers_out(alone.stderr)
    assert "goroutine 1 [" not in after.stderr and "runtime.goexit" not in after.stderr  # level single


def test_a_started_cpu_profiler_ends_the_batch_so_the_next_program_starts_fresh(batch: BatchProcess) -> None:
    """SetCPUProfileRate(hz > 0) keeps the profile buffer until a reader drains it: in the same process a
    later SetCPUProfileRate(hz > 0) prints a complaint. The driver says it cannot go on, so it does not."""
    first = batch.run(prog(call("runtime.SetCPUProfileRate", 100), call("runtime.SetCPUProfileRate", 0)), 60)
    again = prog(call("runtime.SetCPUProfileRate", 100))
    second = batch.run(again, 60)
    assert first.exit_status == second.exit_status == 0
    assert second.stderr == ""
    assert batch.started >= 2
    # The same two programs as one program (one process): the complaint the batch kept out.
    both = batch.run(prog(call("runtime.SetCPUProfileRate", 100), call("runtime.SetCPUProfileRate", 0),
                          call("runtime.SetCPUProfileRate", 100)), 60)  # fmt: skip
    assert "cannot set cpu profile rate" in both.stderr


def test_each_program_gets_its_own_output_and_a_crash_is_reported_as_it_happened(batch: BatchProcess) -> None:
    ok = prog(call("runtime/debug.SetGCPercent", 50))
    assert values(batch.run(ok, 60)) == [100]
    wrote = batch.run(
        prog({"op": "write", "with": {"text": "one"}}, {"op": "write", "with": {"text": "two", "fd": 2}}), 60
    )
    assert (wrote.stdout, wrote.stderr, wrote.exit_status) == ("one", "two", 0)
    crash = batch.run(
        prog(call("runtime/debug.SetGCPercent", 50), {"op": "panic", "with": {"value": "x", "recover": False}}), 60
    )
    assert values(crash) == [100]
    assert [o for o in crash.observations if o.get("done")] == []
    assert (crash.exit_status, crash.signal) == (2, None)
    assert crash.stderr.startswith("panic: x") and crash.stdout == ""
    after = batch.run(ok, 60)
    assert values(after) == [100] and after.stdout == after.stderr == "" and after.exit_status == 0
    assert after.observations[0]["hello"]["impl"] == "go-driver"


def test_a_program_past_its_deadline_is_a_timeout_and_the_next_one_runs(batch: BatchProcess) -> None:
    slow = batch.run(prog({"op": "busy", "with": {"ms": 20000}}), 1.0)
    assert slow.timed_out
    assert values(batch.run(prog(call("runtime/debug.SetGCPercent", 50)), 60)) == [100]


def test_a_command_that_cannot_start_is_reported_as_in_a_process_of_its_own(tmp_path: Path) -> None:
    missing = [str(tmp_path / "missing")]
    alone = run_process(missing, prog(), env=ENV, cwd=tmp_path, timeout_s=10)
    bp = BatchProcess(missing, env=ENV)
    try:
        got = [bp.run(prog(), 10) for _ in range(2)]
    finally:
        bp.close()
    for run in got:
        assert (run.exit_status, run.signal, run.start_error) == (alone.exit_status, alone.signal, alone.start_error)
        assert run.observations == [] and run.exit_status not in (None, 0)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_a_marker_split_across_reads_is_found(size: int) -> None:
    marker = batch_marker("abc123", 4)
    data = b"out\x1epartial" + marker + b"next"
    split = _Split(cap=1 << 20)
    for i in range(0, len(data), size):
        split.feed(data[i : i + size], marker)
    assert split.found
    assert split.take(rest=False) == ("out\x1epartial", False)
    assert split.take(rest=True) == ("next", False)


def test_output_over_the_cap_is_cut_and_said() -> None:
    marker = batch_marker("n", 0)
    split = _Split(cap=4)
    split.feed(b"0123456789" + marker, marker)
    assert split.take(rest=False) == ("0123", True)


def _case(steps: list[dict[str, Any]], **extra: Any) -> Case:
    data: dict[str, Any] = {"id": "x", "covers": [], "steps": steps, "expect": [], **extra}
    return Case(id="x", data=data, file="<test>", line=0)


def test_which_programs_share_a_batch_and_which_are_started_ahead() -> None:
    setters = [call("runtime/debug.SetGCPercent", 5), {"op": "runtime.memprofilerate", "with": {"set": 1}}]
    crash = {"op": "panic", "with": {"value": "x", "recover": False, "goroutine": True}}
    assert batchable(_case(setters)) and warmable(_case(setters))
    assert batchable(_case([call("runtime.SetCPUProfileRate", 0)]))
    assert not batchable(_case([call("runtime.SetCPUProfileRate", 100)]))  # outlives its program
    assert warmable(_case([call("runtime.SetCPUProfileRate", 100)]))
    assert not batchable(_case([*setters, crash])) and warmable(_case([*setters, crash]))
    with_env = _case(setters, setup={"env": {"GOGC": "50"}})
    assert not batchable(with_env) and warmable(with_env)
    for other in (
        _case([{"op": "profile.write", "with": {"file": "p", "profile": "heap"}}]),  # a file: the case's folder
        _case(setters, setup={"goline": "1.21"}),  # a build of its own
        _case(setters, setup={"launch": {"ignore_signals": ["SIGHUP"]}}),
        _case([call("runtime.LockOSThread")]),
    ):
        assert not batchable(other) and not warmable(other)


def test_a_process_started_ahead_gives_what_a_fresh_one_gives(tmp_path: Path) -> None:
    binary = str(_driver("1.27"))
    program = prog(call("runtime/debug.SetGCPercent", 50), {"op": "panic", "with": {"value": "w", "recover": False}})
    env = {**ENV, "GOTRACEBACK": "all"}
    fresh = run_process([binary], program, env=env, cwd=tmp_path, timeout_s=60)
    warm = WarmStarts()
    try:
        runs = [warm.run([binary], program, env=env, timeout_s=60) for _ in range(3)]
    finally:
        warm.close()
    assert (warm.hits, warm.runs) == (2, 3)  # the first started its own; each after found one started ahead
    for got in runs:
        assert results(got) == results(fresh) and (got.exit_status, got.signal) == (2, None)
        assert _goroutine_numbers_out(got.stderr) == _goroutine_numbers_out(fresh.stderr)


def test_a_process_started_ahead_starts_with_the_programs_own_environment() -> None:
    """The environment arrives after the process started: the runtime must still read it at its start-up
    (GOGC=off: the collector is off from the start, SetGCPercent reports -1), and nothing else leaks in."""
    binary = str(_driver("1.27"))
    program = prog(call("runtime/debug.SetGCPercent", 100), {"op": "env.get", "with": {"name": "GOGC"}},
                   {"op": "env.get", "with": {"name": "GOMAXPROCS"}})  # fmt: skip
    warm = WarmStarts()
    try:
        got = [warm.run([binary], program, env={**ENV, **extra}, timeout_s=60) for extra in
               ({}, {"GOGC": "off"}, {"GOGC": "50", "GOMAXPROCS": "1"}, {})]  # fmt: skip
    finally:
        warm.close()
    assert warm.hits == 3
    assert [values(r) for r in got] == [[100, None, None], [-1, "off", None], [50, "50", "1"], [100, None, None]]
    assert all(r.exit_status == 0 and r.stderr == "" for r in got)


def test_the_driver_speaks_the_batch_framing() -> None:
    """PROTOCOL.md's framing byte for byte, without the harness in between: one hello, each program's
    steps and done, its end line, and the marker on stdout and stderr before that line."""
    import json
    import os
    import subprocess

    first = prog(call("runtime/debug.SetGCPercent", 50), {"op": "write", "with": {"text": "out"}})
    second = prog(call("runtime/debug.SetGCPercent", 60))
    r, w = os.pipe()
    p = subprocess.run(
        [str(_driver("1.27")), "--batch=N0nce"],
        input="".join(json.dumps(x) + "\n" for x in (second, first, second)),
        capture_output=True,
        text=True,
        pass_fds=(w,),
        env={**ENV, "RTHOOKS_OBS_FD": str(w)},
        timeout=60,
    )
    os.close(w)
    with os.fdopen(r) as f:
        lines = [json.loads(x) for x in f.read().splitlines()]
    assert p.returncode == 0
    assert [next(iter(x)) for x in lines] == ["hello", "status", "done", "batch", "status", "status", "done", "batch"]
    assert lines[1]["value"] == 100 and lines[4]["value"] == 100  # the first program's 50 was put back
    assert lines[3] == {"batch": {"program": 0, "continues": True}}
    assert lines[7] == {"batch": {"program": 1, "continues": False}}  # write: not undone, so it ends here
    assert p.stdout == "\x1erthooks-batch N0nce 0\x1eout\x1erthooks-batch N0nce 1\x1e"
    assert p.stderr == "\x1erthooks-batch N0nce 0\x1e\x1erthooks-batch N0nce 1\x1e"


def test_the_driver_and_the_harness_agree_on_what_a_batch_undoes() -> None:
    """harness/driver/batch.go's batchCalls/batchOps and harness/impls.py's BATCH_CALLS/BATCH_OPS are one
    list in two languages: the harness sends a batch only what the driver can undo."""
    from rthooks.harness.impls import BATCH_CALLS, BATCH_OPS

    src = (Path(__file__).resolve().parent.parent / "harness" / "driver" / "batch.go").read_text()

    def go_map(name: str) -> set[str]:
        body = re.search(rf"var {name} = map\[string\]bool\{{(.*?)\n\}}", src, re.S)
        assert body, name
        return set(re.findall(r'"([^"]+)":\s*true', body.group(1)))

    assert go_map("batchCalls") == set(BATCH_CALLS)
    assert go_map("batchOps") == set(BATCH_OPS)


@pytest.mark.parametrize(
    "obj",
    [
        {"batch": {"program": 0, "continues": True}},
        {"batch": {"program": 7, "continues": False}},
        {"batch": {"program": -1, "continues": True}},
        {"batch": {"program": True, "continues": True}},
        {"batch": {"program": 1.0, "continues": True}},
        {"batch": {"program": "1", "continues": True}},
        {"batch": {"program": 1, "continues": 1}},
        {"batch": {"program": 1}},
        {"batch": {"program": 1, "continues": False, "more": 1}},
        {"batch": {"program": 0, "continues": False}, "more": 2},
        {"batch": [0, True]},
        {"batch": None},
        [{"batch": {"program": 0, "continues": True}}],
        "batch",
    ],
)
def test_the_batch_end_fast_path_accepts_only_what_the_schema_accepts(obj: Any) -> None:
    """process._batch_end reads the usual `{"batch": ...}` line without the JSON Schema (0.6 ms a program); the
    schema stays normative: whatever the fast path accepts, it accepts, and the line reads as it would through it."""
    import json

    from rthooks.harness.process import _batch_end, _plain_batch_end
    from rthooks.protocol.schemas import protocol_validator

    valid = protocol_validator().is_valid(obj)
    assert not _plain_batch_end(obj) or valid
    want = obj["batch"] if valid else {}
    assert _batch_end(json.dumps(obj).encode()) == want
