"""The oracle's block and mutex profiles, and its finalizer goroutine, are models, not canned answers.

runtime/mprof.go (go1.21.13 and go1.27.3 alike): SetBlockProfileRate(rate) keeps every blocking event at
least rate ns long (rate 1: all; rate <= 0: none); SetMutexProfileFraction(f) keeps one contention event
in f, counted f times (saveblockevent), 0 keeps none; events are kept per call stack, one record each,
the newest record first; BlockProfile/MutexProfile(p) return (n, ok), copying only when len(p) >= n.
runtime/mfinal.go runfinq: finalizers run one at a time on one goroutine, so a finalizer that waits holds
the ones queued after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle import callers
from rthooks.oracle.process import run_program
from rthooks.oracle.registry import NOT_MODELLED, load_areas

load_areas()


def _values(tmp_path: Path, steps: list[dict[str, Any]], release: str = "1.27") -> list[Any]:
    run = run_program({"steps": steps}, env={}, release=GoVersion.parse(release), workdir=tmp_path)
    obs = [o for o in run.observations if "step" in o]
    assert len(obs) == len(steps) and all(o["status"] == "ok" for o in obs), obs
    return [o.get("value") for o in obs]


def _rate(rate: int) -> dict[str, Any]:
    return {"call": "runtime.SetBlockProfileRate", "args": [rate]}


def _fraction(f: int) -> dict[str, Any]:
    return {"call": "runtime.SetMutexProfileFraction", "args": [f]}


def _block(n: int, hold_us: int = 200) -> dict[str, Any]:
    return {"op": "runtime.block", "with": {"n": n, "hold_us": hold_us}}


def _mutex(n: int, hold_us: int = 1000) -> dict[str, Any]:
    return {"op": "runtime.mutex", "with": {"n": n, "hold_us": hold_us}}


def _read(profile: str, length: int | None) -> dict[str, Any]:
    return {"call": "runtime.BlockProfile" if profile == "block" else "runtime.MutexProfile", "args": [length]}


def test_the_profiles_are_modelled_not_declared_canned() -> None:
    for name in ("runtime.BlockProfile", "runtime.MutexProfile", "op:runtime.finalizer.gate"):
        assert name not in NOT_MODELLED


def test_block_rate_decides_what_is_recorded(tmp_path: Path) -> None:
    # The same three 200 µs waits: recorded with rate 1 and with a 100 µs rate, not with a 1 ms one or rate <= 0.
    counts = {}
    for rate in (1, 100_000, 1_000_000, 0, -3):
        *_, n = _values(tmp_path, [_rate(rate), _block(3), _read("block", None)])
        counts[rate] = n
    assert counts[1] == counts[100_000] == [1, False, None]
    assert counts[1_000_000] == counts[0] == counts[-3] == [0, True, None]


def test_turning_the_rate_off_keeps_what_was_recorded(tmp_path: Path) -> None:
    *_, p = _values(tmp_path, [_rate(1), _block(2), _rate(0), _block(5), _rate(1), _block(3), _read("block", 4)])
    n, ok, recs = p
    assert (n, ok) == (1, True)  # one call stack, one record: 2 + 3 events, the 5 while off not at all
    assert recs[0]["Count"] == 5 and recs[0]["Cycles"] == 5 * 200_000
    assert recs[1:] == [{"Count": 0, "Cycles": 0, "Stack0": [0] * 32}] * 3


def test_mutex_fraction_keeps_one_in_f_counted_f_times(tmp_path: Path) -> None:
    def count(f: int) -> Any:
        *_, site = _values(
            tmp_path, [_fraction(f), _mutex(10), {"op": "runtime.contention.site", "with": {"profile": "mutex"}}]
        )
        return site["Count"]

    assert count(1) == 10
    assert count(3) == 9  # three of the ten events kept, each standing for three
    assert count(0) == 0
    assert count(1_000_000_000) == 0


def test_copy_when_it_fits_and_leave_a_short_slice_alone(tmp_path: Path) -> None:
    steps = [_rate(1), _fraction(1), _block(3), _mutex(10)]
    steps += [_read("block", 2), _read("block", 3), _read("mutex", 0), _read("mutex", 1)]
    *_, bshort, bfit, mshort, mfit = _values(tmp_path, steps)
    zero = {"Count": 0, "Cycles": 0, "Stack0": [0] * 32}
    # Block: rthBlockSite's waits, then each mutex round's <-locked and rthMutexWaiter's Lock: three stacks.
    assert bshort == [3, False, [zero, zero]]
    n, ok, recs = bfit
    assert (n, ok) == (3, True)
    assert [r["Count"] for r in recs] == [10, 10, 3]  # the newest record first
    assert len({r["Stack0"][0] for r in recs}) == 3 and all(r["Stack0"][0] > 0 for r in recs)
    assert mshort == [1, False, []]
    assert mfit[:2] == [1, True] and mfit[2][0]["Count"] == 10 and mfit[2][0]["Cycles"] == 10 * 1_000_000


def test_the_contention_site_sums_only_the_driver_sites(tmp_path: Path) -> None:
    site = {"op": "runtime.contention.site", "with": {"profile": "block"}}
    v = _values(tmp_path, [_rate(1), _block(4), site, _mutex(2), site])
    only_block, with_mutex = v[2], v[4]
    assert only_block == {"records": 1, "Count": 4, "Cycles": 4 * 200_000}
    # rthMutexWaiter's record counts, opRuntimeMutex's <-locked one is not a contention site.
    assert with_mutex == {"records": 2, "Count": 6, "Cycles": 4 * 200_000 + 2 * 1_000_000}
    assert callers.DRIVER_SITES == ("rthBlockSite", "rthMutexWaiter", "rthMutexHolder")


# --- the finalizer goroutine --------------------------------------------------------------------------

GATED = [
    {"op": "alloc", "with": {"name": "g"}},
    {"op": "runtime.finalizer.gate", "with": {"name": "g", "tag": "gate"}},
    {"op": "drop", "with": {"name": "g"}},
    {"op": "gc"},
    {"op": "alloc", "with": {"name": "x"}},
    {"op": "finalizer", "with": {"name": "x", "tag": "fin-x"}},
    {"op": "drop", "with": {"name": "x"}},
    {"op": "gc"},
    {"op": "gc"},
]
RAN = {"op": "ran"}
OPEN = {"op": "runtime.finalizer.gate.open"}


def test_a_waiting_finalizer_holds_the_later_ones_until_the_gate_opens(tmp_path: Path) -> None:
    *_, blocked, _, after = _values(tmp_path, [*GATED, RAN, OPEN, RAN])
    assert blocked == ["gate:started"]
    assert after == ["gate:started", "gate", "fin-x"]


def test_an_open_gate_holds_nothing(tmp_path: Path) -> None:
    *_, ran = _values(tmp_path, [OPEN, *GATED, RAN])
    assert ran == ["gate:started", "gate", "fin-x"]


def test_without_the_gate_the_finalizers_run_in_turn(tmp_path: Path) -> None:
    plain = [{"op": "finalizer", "with": {"name": "g", "tag": "gate"}} if s is GATED[1] else s for s in GATED]
    *_, ran = _values(tmp_path, [*plain, RAN])
    assert ran == ["gate", "fin-x"]


def test_opening_twice_closes_a_closed_channel(tmp_path: Path) -> None:
    run = run_program({"steps": [OPEN, OPEN]}, env={}, release=GoVersion.parse("1.21"), workdir=tmp_path)
    obs = [o for o in run.observations if "step" in o]
    assert obs[1]["status"] == "panic"
    assert (obs[1]["panic"], obs[1]["panic_type"]) == ("close of closed channel", "runtime.plainError")
