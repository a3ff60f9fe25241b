"""End to end: the project's cases on the oracle, real go1.21 and real go1.27."""

from __future__ import annotations

from pathlib import Path

import pytest

from rthooks.harness.record import read
from rthooks.spec.load import Spec
from tests.conftest import run_cli

PACKAGES = ["runtime", "runtime/debug", "runtime/metrics", "runtime/pprof", "runtime/trace", "os/signal", "os"]
PROCESS_LEVEL = [
    "runtime-unrecovered-panic-exits-2",  # exit status 2 and "panic:" on stderr
    "godebug-gctrace-prints-a-line-per-gc",  # GODEBUG=gctrace=1 output
    "pprof-cpu-profile-readable-by-go-tool",  # go tool pprof -top reads the profile
    "trace-capture-readable-by-go-tool",
]


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("run") / "run.json"
    p = run_cli("run", "--impl", "oracle", "--impl", "go=1.21", "--impl", "go=1.27", "--out", str(out))
    assert "Traceback" not in p.stderr
    assert p.returncode == 0, p.stdout[-4000:]
    return read(out)


def test_every_package_has_a_passing_case_on_every_impl(record: dict, spec: Spec) -> None:  # type: ignore[type-arg]
    impls = {i["name"] for i in record["implementations"]}
    assert impls == {"oracle-go1.27", "go1.21", "go1.27"}

    def packages(result: dict) -> set[str]:  # type: ignore[type-arg]
        return {spec.get(c.split("#", 1)[0]).data["package"] for c in result["covers"]}

    for pkg in PACKAGES:
        for impl in impls:
            passing = [
                r for r in record["results"] if r["impl"] == impl and r["status"] == "pass" and pkg in packages(r)
            ]
            assert passing, f"no passing case for {pkg} on {impl}"


@pytest.mark.parametrize("case", PROCESS_LEVEL)
@pytest.mark.parametrize("impl", ["go1.21", "go1.27"])
def test_process_level_checks_pass_on_real_go(record: dict, case: str, impl: str) -> None:  # type: ignore[type-arg]
    got = {(r["impl"], r["case"]): r for r in record["results"]}
    assert got[(impl, case)]["status"] == "pass", got[(impl, case)]["reasons"]


def test_real_go_really_ran(record: dict) -> None:  # type: ignore[type-arg]
    by = {(r["impl"], r["case"]): r for r in record["results"]}
    r = by[("go1.27", "runtime-unrecovered-panic-exits-2")]
    assert r["observed"]["exit_status"] == 2 and "goroutine 1 [running]" in r["observed"]["stderr"]
    impls = {i["name"]: i for i in record["implementations"]}
    assert impls["go1.21"]["go_version"].startswith("1.21.") and Path(impls["go1.21"]["toolchain_path"]).exists()
