"""The oracle's pause ring is one model behind runtime.ReadMemStats and runtime/debug.ReadGCStats.

runtime/mstats.go keeps memstats.pause_ns/pause_end as [256]uint64 rings written at numgc%256 by
gcMarkTermination (runtime/mgc.go); MemStats copies them, and readGCStats_m walks them backwards
from (numgc-1)%256. These tests hold the oracle to that: the two reads agree on every value, the
order is most recent first, the ring wraps, and cycles counted by other models enter it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle import gc
from rthooks.oracle.process import run_program
from rthooks.oracle.registry import load_areas

load_areas()


def _values(tmp_path: Path, steps: list[dict[str, Any]], env: dict[str, str] | None = None) -> list[Any]:
    run = run_program(
        {"steps": steps},
        env=env if env is not None else {"GOGC": "off"},
        release=GoVersion.parse("1.27"),
        workdir=tmp_path,
    )
    obs = [o for o in run.observations if "step" in o]
    assert all(o["status"] == "ok" for o in obs), obs
    return [o.get("value") for o in obs]


READS = [
    {"call": "runtime.ReadMemStats", "args": [None]},
    {"call": "runtime/debug.ReadGCStats", "args": [{"PauseQuantiles": 3}]},
]


def _ring_read(ms: dict[str, Any], g: dict[str, Any]) -> None:
    """What readGCStats_m promises of the two reads made with no cycle in between."""
    n = ms["NumGC"]
    assert g["NumGC"] == n
    assert len(g["Pause"]) == len(g["PauseEnd"]) == min(n, 256)
    assert g["Pause"] == [ms["PauseNs"][(n - 1 - i) % 256] for i in range(min(n, 256))]
    assert g["PauseEnd"] == [gc._rfc3339(ms["PauseEnd"][(n - 1 - i) % 256]) for i in range(min(n, 256))]
    assert g["PauseTotal"] == ms["PauseTotalNs"]
    assert g["LastGC"] == gc._rfc3339(ms["LastGC"])


def test_readgcstats_is_memstats_ring_backwards(tmp_path: Path) -> None:
    *_, ms, g = _values(tmp_path, [{"call": "runtime.GC"}] * 3 + READS)
    _ring_read(ms, g)
    assert g["Pause"][0] == ms["PauseNs"][2] != ms["PauseNs"][0]  # most recent first, not oldest
    assert ms["PauseNs"][3] == 0 and ms["PauseEnd"][3] == 0
    assert ms["LastGC"] == ms["PauseEnd"][2] > ms["PauseEnd"][1] > ms["PauseEnd"][0]


def test_the_ring_wraps_after_256_cycles(tmp_path: Path) -> None:
    *_, ms, g = _values(tmp_path, [{"op": "gc"}] * 300 + READS)
    assert ms["NumGC"] == 300
    _ring_read(ms, g)
    # Cycle 300 (index 299) overwrote slot 299 % 256 = 43; slot 44 holds the oldest kept, cycle 45.
    assert ms["LastGC"] == ms["PauseEnd"][43] > ms["PauseEnd"][44]
    assert g["Pause"][-1] == ms["PauseNs"][44]
    assert g["PauseTotal"] == sum(gc.pause_of(k) for k in range(300)) > sum(g["Pause"])


def test_two_histories_read_differently(tmp_path: Path) -> None:
    """Not a canned answer: the values follow the cycles that ran."""
    *_, ms1, g1 = _values(tmp_path, [{"call": "runtime.GC"}] * 2 + READS)
    *_, ms5, g5 = _values(tmp_path, [{"call": "runtime.GC"}] * 5 + READS)
    assert (ms1["NumGC"], ms5["NumGC"]) == (2, 5)
    assert g1["Pause"] == [gc.pause_of(1), gc.pause_of(0)]
    assert g5["Pause"] == [gc.pause_of(k) for k in (4, 3, 2, 1, 0)]
    assert g1["PauseTotal"] != g5["PauseTotal"]


def test_cycles_counted_by_other_models_enter_the_ring(tmp_path: Path) -> None:
    """A cycle the heap model starts (rt.gc_automatic) is in both reads, with its pause and end."""
    *_, ms, g = _values(
        tmp_path,
        [{"call": "runtime.GC"}, {"op": "alloc", "with": {"name": "x", "bytes": 1 << 20}, "repeat": 64}, *READS],
        env={"GOGC": "10"},
    )
    assert ms["NumGC"] > ms["NumForcedGC"] == 1
    _ring_read(ms, g)


def test_quantiles_follow_garbage_go(tmp_path: Path) -> None:
    """runtime/debug/garbage.go: element i < nq is sorted[n*i/nq], the last the longest pause."""
    *_, g = _values(tmp_path, [{"call": "runtime.GC"}] * 4 + READS)
    s = sorted(g["Pause"])
    assert g["PauseQuantiles"] == [s[0], s[4 * 1 // 2], s[3]]  # n=4, q=3: indices 0, 2, 3
    *_, one = _values(
        tmp_path,
        [{"call": "runtime.GC"}] * 2 + [{"call": "runtime/debug.ReadGCStats", "args": [{"PauseQuantiles": 1}]}],
    )
    assert one["PauseQuantiles"] == [max(one["Pause"])]  # nq = 0: only the maximum
