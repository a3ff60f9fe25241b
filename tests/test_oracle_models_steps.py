"""Steps that were canned answers and are now models (issue 14 item 5): each answers differently for
different inputs or state, the way the runtime does, so agreement with real Go means something.

- trace.readtrace.second-reader: the trace model's reader goroutine parks in ReadTrace once it has
  drained; a second caller is refused only while it is parked, and a wait of nothing never calls.
- process.threads.wedge-main: a thread model in which the main thread, once a goroutine exits locked
  to it, is parked for good (mexit, runtime/proc.go) and runs no goroutine again.
- runtime.NumCgoCall: a count of Go-to-C calls (cgocall adds one per call), not a constant 0.
- SIGURG: sysmon's preemption requests (sched.hold_p) send SIGURG to os/signal channels that want it,
  unless asynchronous preemption is off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rthooks.goversion import GoVersion
from rthooks.oracle import callers, sched
from rthooks.oracle.process import run_program
from rthooks.oracle.registry import NOT_MODELLED, load_areas
from rthooks.oracle.state import OracleRuntime
from rthooks.protocol.results import RawRun

load_areas()

CONVERTED = ("op:trace.readtrace.second-reader", "op:process.threads.wedge-main", "runtime.NumCgoCall")


def _run(
    tmp_path: Path, steps: list[dict[str, Any]], env: dict[str, str] | None = None, release: str = "1.27"
) -> RawRun:
    return run_program({"steps": steps}, env=env or {}, release=GoVersion.parse(release), workdir=tmp_path)


def _obs(run: RawRun) -> list[dict[str, Any]]:
    return [o for o in run.observations if "step" in o]


def test_converted_steps_are_no_longer_declared_canned() -> None:
    assert set(CONVERTED).isdisjoint(NOT_MODELLED)
    assert "op:godebug.maps" in NOT_MODELLED  # the host fact stays what it is


# --- trace.readtrace.second-reader ------------------------------------------------------------------

SECOND = {"op": "trace.readtrace.second-reader"}


def test_second_reader_is_refused_while_the_reader_is_parked(tmp_path: Path) -> None:
    run = _run(tmp_path, [{"op": "trace.readtrace.start"}, {**SECOND, "with": {"within_s": 5}}])
    assert _obs(run)[1]["value"] == {"reader_blocked": True, "second": "nil", "tries": 1}
    assert "runtime: ReadTrace called from multiple goroutines simultaneously\n" in run.stderr


def test_second_reader_with_no_time_to_wait_never_calls(tmp_path: Path) -> None:
    run = _run(tmp_path, [{"op": "trace.readtrace.start"}, {**SECOND, "with": {"within_s": 0}}])
    assert _obs(run)[1]["value"] == {"reader_blocked": False, "second": None, "tries": 0}
    assert "multiple goroutines" not in run.stderr


def test_second_reader_needs_a_reader_and_a_new_one_parks_again(tmp_path: Path) -> None:
    run = _run(tmp_path, [SECOND, {"op": "trace.readtrace.start"}, {"op": "trace.readtrace.stop"}, SECOND])
    assert [o["status"] for o in _obs(run)] == ["error", "ok", "ok", "error"]
    run = _run(
        tmp_path,
        [{"op": "trace.readtrace.start"}, {"op": "trace.readtrace.stop"}, {"op": "trace.readtrace.start"}, SECOND],
    )
    assert _obs(run)[3]["value"]["second"] == "nil"


# --- process.threads.wedge-main ---------------------------------------------------------------------

WEDGE = {"op": "process.threads.wedge-main", "with": {"within_s": 0.2}}


def test_the_main_thread_is_wedged_once_and_never_runs_a_goroutine_again(tmp_path: Path) -> None:
    first, second = (o["value"] for o in _obs(_run(tmp_path, [WEDGE, WEDGE])))
    assert first == {"landed": True, "tries": 1, "main_state": "S"}
    assert second == {"landed": False, "tries": 0, "main_state": "S"}


@pytest.mark.parametrize(
    ("steps", "env"),
    [
        ([{"op": "process.threads.wedge-main", "with": {"within_s": 0}}], {}),  # never waits: nothing known
        ([WEDGE], {"RTHOOKS_INIT_LOCKOSTHREAD": "1"}),  # main wired to the startup thread
        ([{"call": "runtime.LockOSThread"}, WEDGE], {}),  # main wired to a thread of its own
    ],
)
def test_what_the_thread_model_does_not_say_is_unsupported(
    tmp_path: Path, steps: list[dict[str, Any]], env: dict[str, str]
) -> None:
    assert _obs(_run(tmp_path, steps, env))[-1]["status"] == "unsupported"


# --- runtime.NumCgoCall -----------------------------------------------------------------------------


def test_numcgocall_counts_the_calls_made(tmp_path: Path) -> None:
    rt = OracleRuntime(
        release=GoVersion.parse("1.27"), gcpercent=100, memlimit=1 << 62, gomaxprocs=2, env={}, workdir=tmp_path
    )
    assert callers.num_cgo_call(rt, [], {}) == 0  # the CGO_ENABLED=0 driver's runtime never calls C
    assert sched.count_cgo_calls(rt, 3) == 3
    assert sched.count_cgo_calls(rt, 7) == 10
    assert callers.num_cgo_call(rt, [], {}) == 10


# --- SIGURG from asynchronous preemption ------------------------------------------------------------


def _sigurgs(tmp_path: Path, ms: float, env: dict[str, str], release: str = "1.27", buffer: int = 16) -> list[Any]:
    """What a Notify channel for SIGURG holds after ``ms`` of busy work: every receive until the first nil."""
    steps: list[dict[str, Any]] = [
        {"op": "signal.notify", "with": {"signals": ["SIGURG"], "buffer": buffer}, "bind": "ch"},
        {"op": "busy", "with": {"ms": ms}},
    ] + [{"op": "signal.recv", "with": {"channel": "$ch", "within_s": 1}}] * (buffer + 1)
    got = [o["value"] for o in _obs(_run(tmp_path, steps, env, release))[2:]]
    return got[: got.index(None)]


def test_busy_work_brings_one_sigurg_per_time_slice(tmp_path: Path) -> None:
    assert _sigurgs(tmp_path, 200, {}) == ["SIGURG"] * 16  # 20 requests, the channel holds 16
    assert _sigurgs(tmp_path, 35, {}) == ["SIGURG"] * 3
    assert _sigurgs(tmp_path, 5, {}) == []  # shorter than forcePreemptNS: never preempted


@pytest.mark.parametrize(
    ("env", "release", "signalled"),
    [
        ({"GODEBUG": "asyncpreemptoff=1"}, "1.27", False),
        ({"GODEBUG": "asyncpreemptoff=0"}, "1.27", True),
        ({"GODEBUG": "gccheckmark=1"}, "1.27", False),  # forced off from go1.25
        ({"GODEBUG": "gccheckmark=1"}, "1.21", True),
    ],
)
def test_no_sigurg_without_asynchronous_preemption(
    tmp_path: Path, env: dict[str, str], release: str, signalled: bool
) -> None:
    assert bool(_sigurgs(tmp_path, 50, env, release)) is signalled


def test_sigurg_goes_only_to_channels_that_want_it(tmp_path: Path) -> None:
    steps: list[dict[str, Any]] = [
        {"op": "signal.notify", "with": {"signals": [], "buffer": 4}, "bind": "all"},
        {"op": "signal.notify", "with": {"signals": ["SIGUSR1"], "buffer": 4}, "bind": "usr1"},
        {"op": "busy", "with": {"ms": 20}},
        {"op": "signal.recv", "with": {"channel": "$all", "within_s": 1}},
        {"op": "signal.recv", "with": {"channel": "$usr1", "within_s": 1}},
    ]
    assert [o["value"] for o in _obs(_run(tmp_path, steps))[3:]] == ["SIGURG", None]


def test_hold_p_counts_requests_only_with_async_preemption(tmp_path: Path) -> None:
    def rt(env: dict[str, str]) -> OracleRuntime:
        return OracleRuntime(
            release=GoVersion.parse("1.27"), gcpercent=100, memlimit=1 << 62, gomaxprocs=1, env=env, workdir=tmp_path
        )

    assert sched.hold_p(rt({}), 300) == 30
    assert sched.hold_p(rt({"GODEBUG": "asyncpreemptoff=1"}), 300) == 0
