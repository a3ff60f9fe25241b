"""`rthooks spec list|show|defaults|errata`: the JSON shapes are contracts."""

from __future__ import annotations

import json

from rthooks.goversion import GoVersion
from rthooks.spec.load import Spec
from rthooks.spec.query import default_godebug_string, list_items
from tests.conftest import run_cli

BASE = {"id", "kind", "package", "name", "since"}


def test_list_json_shape_per_kind() -> None:
    p = run_cli("spec", "list", "--go", "1.26", "--format", "json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert isinstance(rows, list) and rows
    kinds = {r["kind"] for r in rows}
    assert {"function", "method", "type", "const", "var", "metric", "godebug"} <= kinds
    for r in rows:
        assert r.keys() >= BASE, r
        if r["kind"] in ("function", "method"):
            assert r["signature"].startswith("func "), r
        if r["kind"] == "method":
            assert r["receiver"]
        if r["kind"] == "metric":
            assert r["value_kind"] in ("uint64", "float64", "float64-histogram")
            assert isinstance(r["cumulative"], bool)
        if r["kind"] == "godebug":
            assert {"changed", "old", "opaque", "default"} <= r.keys()


def test_list_is_version_gated(spec: Spec) -> None:
    ids21 = {r["id"] for r in list_items(spec, GoVersion.parse("1.21"), None)}
    ids27 = {r["id"] for r in list_items(spec, GoVersion.parse("1.27"), None)}
    assert "runtime.AddCleanup" in ids27 and "runtime.AddCleanup" not in ids21
    assert "runtime/trace.FlightRecorder" in ids27 and "runtime/trace.FlightRecorder" not in ids21
    assert "godebug:allocfreetrace" in ids21 and "godebug:allocfreetrace" not in ids27


def test_list_kind_filter_and_table() -> None:
    p = run_cli("spec", "list", "--go", "1.23", "--kind", "metric", "--format", "json")
    rows = json.loads(p.stdout)
    assert rows and all(r["kind"] == "metric" for r in rows)
    t = run_cli("spec", "list", "--go", "1.23", "--kind", "function")
    assert t.returncode == 0 and "runtime/debug.SetCrashOutput" in t.stdout


def test_signature_follows_release(spec: Spec) -> None:
    rows = {r["id"]: r for r in list_items(spec, GoVersion.parse("1.25"), ["function"])}
    new = {r["id"]: r for r in list_items(spec, GoVersion.parse("1.27"), ["function"])}
    assert rows["runtime.ReadTrace"]["signature"] == "func ReadTrace() []byte"
    assert new["runtime.ReadTrace"]["signature"] == "func ReadTrace() (buf []byte)"


def test_godebug_defaults_follow_go_line(spec: Spec) -> None:
    g27 = GoVersion.parse("1.27")
    d20 = default_godebug_string(spec, g27, GoVersion.parse("1.20"))
    d27 = default_godebug_string(spec, g27, g27)
    assert d20["panicnil"] == "1" and "panicnil" not in d27
    assert d27 == {}
    p = run_cli("spec", "defaults", "--go", "1.22", "--goline", "1.21", "--format", "json")
    got = json.loads(p.stdout)
    assert got["httplaxcontentlength"] == "1" and got["httpmuxgo121"] == "1"
    assert "panicnil" not in got  # changed in 1.21: a 1.21 go line already has the new default
    for key in got:  # every entry is a key whose default changed in exactly 1.22
        assert spec.get(f"godebug:{key}").at(GoVersion.parse("1.22"))["table"]["changed"] == 22


def test_defaults_rejects_goline_newer_than_toolchain() -> None:
    p = run_cli("spec", "defaults", "--go", "1.22", "--goline", "1.25")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "newer than" in p.stderr


def test_show_unknown_id_is_one_line() -> None:
    p = run_cli("spec", "show", "runtime.Teleport")
    assert p.returncode == 2
    assert p.stderr.strip() == "rthooks: unknown spec item 'runtime.Teleport'"


def test_show_item_with_clauses_and_seed() -> None:
    p = run_cli("spec", "show", "runtime/debug.SetMaxStack", "--go", "1.27", "--format", "json")
    data = json.loads(p.stdout)
    assert data["signature"] == "func SetMaxStack(bytes int) int"
    assert data["since"] == "1.2"
    assert any(s["verdict"] == "wrong" for s in data["seed"])


def test_errata_json_lists_wrong_claims_with_evidence() -> None:
    p = run_cli("spec", "errata", "--format", "json")
    rows = json.loads(p.stdout)
    assert rows and all(r["verdict"] in ("wrong", "outdated", "imprecise") for r in rows)
    assert all(r["evidence"] for r in rows)
    ids = {r["id"] for r in rows}
    assert {"s2-numcpu-cgroup", "s7-madvdontneed-0-default", "s4-histogram-cumulative"} <= ids
    every = json.loads(run_cli("spec", "errata", "--all", "--format", "json").stdout)
    assert len(every) > len(rows)
