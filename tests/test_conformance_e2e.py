"""End to end: the project's cases on the oracle, real go1.21 and real go1.27.

One run per implementation, made when its first test needs it, with the run's own progress lines
shown live (pytest's capture is suspended for them): the oracle's tests report within seconds, and
the minutes of a real toolchain's run are never silent. Together the three runs check what one
three-implementation run did: every case, on every implementation, with exit 0.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rthooks.protocol.record import read
from rthooks.spec.load import Spec
from tests.conftest import ROOT

PACKAGES = ["runtime", "runtime/debug", "runtime/metrics", "runtime/pprof", "runtime/trace", "os/signal", "os"]
PROCESS_LEVEL = [
    "runtime-unrecovered-panic-exits-2",  # exit status 2 and "panic:" on stderr
    "godebug-gctrace-prints-a-line-per-gc",  # GODEBUG=gctrace=1 output
    "pprof-cpu-profile-readable-by-go-tool",  # go tool pprof -top reads the profile
    "trace-capture-readable-by-go-tool",
]
#: ``--impl`` text -> the name its results carry; the oracle first, so the first dots come at once.
IMPLS = {"oracle": "oracle-go1.27", "go=1.21": "go1.21", "go=1.27": "go1.27"}


def _live(config: pytest.Config) -> Callable[[str], None]:
    """A writer to the terminal that pytest's output capture does not swallow."""
    capman = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")

    def write(line: str) -> None:
        if capman is None or reporter is None:
            return
        with capman.global_and_fixture_disabled():
            reporter.write_line(line)

    return write


def _failures(out: Path, stdout: str) -> str:
    """What a failed run should show: its failing results first, not the tail of its skip list.

    The CLI lists every non-passing result, skips included, and 300 skip lines on an old release
    push the one failure out of any tail (CI once printed only skips for a go1.21 failure).
    """
    if out.exists():
        bad = [r for r in read(out)["results"] if r["status"] not in ("pass", "skip", "xfail")]
        if bad:
            return "\n".join(f"{r['case']}: {r['status']}: {r.get('reasons')}"[:1500] for r in bad[:20])
    lines = stdout.splitlines()
    keep = [ln for ln in lines if "requires " not in ln and ": N/A in " not in ln]
    return "\n".join(keep)[-4000:]


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Callable[[str], dict[str, Any]]:
    """``records(impl)``: the record of every case on one implementation, run on first use and kept."""
    done: dict[str, dict[str, Any]] = {}
    live = _live(pytestconfig)

    def get(impl: str) -> dict[str, Any]:
        if impl not in done:
            out = tmp_path_factory.mktemp("run") / "run.json"
            argv = [sys.executable, "-m", "rthooks.cli", "run", "--impl", impl, "--out", str(out)]
            live(f"rthooks run --impl {impl}: every case (progress below)")
            with subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
                assert p.stderr is not None and p.stdout is not None
                drained: list[str] = []  # stdout read meanwhile, so a long failure list cannot fill its pipe
                reader = threading.Thread(target=lambda: drained.append(p.stdout.read() if p.stdout else ""))
                reader.start()
                err = []
                for line in p.stderr:  # "rthooks: [k/N] ..." at least every 5 s on a pipe
                    err.append(line)
                    live(f"  {line.rstrip()}")
                status = p.wait(timeout=900)
                reader.join()
                stdout = "".join(drained)
            stderr = "".join(err)
            assert "Traceback" not in stderr, stderr[-4000:]
            assert status == 0, _failures(out, stdout)
            done[impl] = read(out)
        return done[impl]

    return get


@pytest.mark.parametrize("impl", list(IMPLS))
def test_every_package_has_a_passing_case(records: Callable[[str], dict[str, Any]], spec: Spec, impl: str) -> None:
    record = records(impl)
    assert [i["name"] for i in record["implementations"]] == [IMPLS[impl]]

    def packages(result: dict[str, Any]) -> set[str]:
        return {spec.get(c.split("#", 1)[0]).data["package"] for c in result["covers"]}

    for pkg in PACKAGES:
        passing = [r for r in record["results"] if r["status"] == "pass" and pkg in packages(r)]
        assert passing, f"no passing case for {pkg} on {IMPLS[impl]}"


@pytest.mark.parametrize("impl", list(IMPLS))
def test_every_case_ran(records: Callable[[str], dict[str, Any]], impl: str) -> None:
    """Each run holds one result per case of the checkout, as the single three-implementation run did."""
    from rthooks.harness.cases import load_cases

    ids = sorted(c.id for c in load_cases(ROOT / "cases"))
    assert sorted(r["case"] for r in records(impl)["results"]) == ids


@pytest.mark.parametrize("impl", ["go=1.21", "go=1.27"])
@pytest.mark.parametrize("case", PROCESS_LEVEL)
def test_process_level_checks_pass_on_real_go(records: Callable[[str], dict[str, Any]], case: str, impl: str) -> None:
    got = {r["case"]: r for r in records(impl)["results"]}
    assert got[case]["status"] == "pass", got[case]["reasons"]


def test_real_go_really_ran(records: Callable[[str], dict[str, Any]]) -> None:
    by = {r["case"]: r for r in records("go=1.27")["results"]}
    r = by["runtime-unrecovered-panic-exits-2"]
    assert r["observed"]["exit_status"] == 2 and "goroutine 1 [running]" in r["observed"]["stderr"]
    impl = records("go=1.21")["implementations"][0]
    assert impl["go_version"].startswith("1.21.") and Path(impl["toolchain_path"]).exists()
