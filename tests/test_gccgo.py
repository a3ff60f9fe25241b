"""gccgo (issue 13, item 2): the Go driver built by gccgo-12 at Go 1.18 level and judged like gc.

The cases are chosen so each kind of outcome shows: a pass, a case N/A because gccgo lacks the
gc-specific capability (with gccgo's reason), one N/A because its clauses come after 1.18, an
op the gccgo driver answers `unsupported` for (a skip, not an error), and a known deviation
(runtime.Version() is "unknown") reported as xfail. Without gccgo-12 these tests skip, saying
how to get it; CI installs it (`apt-get install -y gccgo-12`) and sets RTHOOKS_REQUIRE_GCCGO=1,
which makes a missing gccgo a failure instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from rthooks import gccgo
from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.harness import gccgo_impl
from rthooks.harness.cases import load_cases
from rthooks.harness.impls import parse_impl
from rthooks.harness.runner import run
from rthooks.protocol.record import read
from rthooks.spec.load import Spec
from rthooks.toolchain import Toolchain

HAVE_GCCGO = shutil.which("go-12") is not None
needs_gccgo = pytest.mark.skipif(
    not HAVE_GCCGO and not os.environ.get("RTHOOKS_REQUIRE_GCCGO"),
    reason="gccgo-12 is not installed (apt-get install -y gccgo-12); RTHOOKS_REQUIRE_GCCGO=1 makes this a failure",
)

CASES = {
    "debug-setgcpercent-returns-previous": "pass",
    "debug-setgcpercent-heap-goal": "skip",  # requires gc-specific
    "debug-setmemorylimit-negative-queries": "skip",  # SetMemoryLimit is Go 1.19
    "godebug-lib-x509sha1-default-insecure": "skip",  # its op needs Go 1.21 library API: unsupported
    "runtime-version-names-release": "xfail",  # runtime.Version() is "unknown"
}


def test_missing_gccgo_is_one_line_naming_the_debian_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there: no go-N, no gccgo
    gccgo.identify.cache_clear()
    with pytest.raises(RthooksError) as e:
        parse_impl("gccgo", GoVersion.parse("1.27"))
    assert e.value.status == 2
    assert "\n" not in str(e.value) and "gccgo-12" in str(e.value) and "apt-get install -y gccgo-12" in str(e.value)
    with pytest.raises(RthooksError) as e:
        parse_impl(f"gccgo={tmp_path / 'gccgo-12'}", GoVersion.parse("1.27"))
    assert e.value.status == 2 and "gccgo-12" in str(e.value)


def test_a_gc_go_command_is_not_taken_for_gccgo(newest: Toolchain) -> None:
    with pytest.raises(RthooksError, match=r"not a gccgo go command \(its compiler is gc"):
        gccgo.find(str(newest.go))


@needs_gccgo
def test_gccgo_is_found_with_its_language_level() -> None:
    found = gccgo.find()
    assert found.release == GoVersion.parse("1.18")  # gccgo-12's highest release tag
    assert found.name == "gccgo-12" and found.gcc_version.startswith("12.")
    assert gccgo.find("gccgo-12") == found  # the compiler leads to the go command beside it


@needs_gccgo
def test_the_driver_builds_with_gccgo_and_leaves_newer_api_out() -> None:
    found = gccgo.find()
    cfg = gccgo_impl.build_config(found, {})
    assert cfg.goline == "1.18"
    binary = gccgo_impl.build_driver(found, cfg)
    assert binary.is_file() and os.access(binary, os.X_OK)
    assert gccgo_impl.build_driver(found, cfg) == binary  # cached by identity, sources and configuration
    # gc builds keep their own files: the gccgo fallbacks are tagged out of them.
    driver = Path(__file__).resolve().parent.parent / "harness" / "driver"
    assert (driver / "typename_old.go").read_text().startswith("//go:build !go1.21\n")
    assert (driver / "ops_pprof_cpurate_other.go").read_text().startswith("//go:build !gc\n")


@needs_gccgo
def test_cases_on_gccgo_pass_skip_and_xfail_with_reasons(tmp_path: Path, spec: Spec) -> None:
    impl = parse_impl("gccgo", GoVersion.parse("1.27"))
    assert impl.kind == "gccgo" and impl.release == GoVersion.parse("1.18")
    assert "gc-specific" not in impl.capabilities
    cases = [c for c in load_cases() if c.id in CASES]
    assert len(cases) == len(CASES)
    out = tmp_path / "run.json"
    run([impl], cases, spec, out=out, jobs=2)
    record = read(out)  # validates against result.schema.json, whose kinds include gccgo
    (described,) = record["implementations"]
    assert described["kind"] == "gccgo" and described["name"] == "gccgo-12" and described["go_version"] == "1.18"
    got: dict[str, dict[str, Any]] = {r["case"]: r for r in record["results"]}
    assert {c: r["status"] for c, r in got.items()} == CASES, {c: r["reasons"] for c, r in got.items()}
    assert "libgo" in str(got["debug-setgcpercent-heap-goal"]["reasons"])
    assert "N/A in go1.18" in str(got["debug-setmemorylimit-negative-queries"]["reasons"])
    assert "needs Go 1.21 library API" in str(got["godebug-lib-x509sha1-default-insecure"]["reasons"])
    assert "unknown" in str(got["runtime-version-names-release"]["known"])
    assert got["runtime-version-names-release"]["observed"]["steps"][0]["value"] == "unknown"
