"""rthooks report: the formats, diff, merge and trend, on records of real runs (oracle, go1.21, go1.27).

The records come from the real harness, run once per module on a selection of cases; every
check reads what the command line wrote, as a user would.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rthooks.protocol.record import read
from tests.conftest import run_cli

#: A few cases across every hook package (the whole suite takes minutes on three implementations);
#: runtime-version-names-release observes a value that differs between Go releases.
CASES = [
    "runtime-version-names-release",
    "runtime-unrecovered-panic-exits-2",
    "runtime-gc-counts-a-forced-cycle",
    "runtime-gomaxprocs-env-and-setter",
    "runtime-panic-nil-is-panicnilerror",
    "debug-setgcpercent-returns-previous",
    "debug-gogc-junk-is-100",
    "metrics-histogram-shape",
    "metrics-unknown-name-is-kindbad",
    "os-exit-status-code",
    "pprof-lookup-unknown-is-nil",
    "pprof-heap-profile-text",
    "signal-notify-relays-to-channel",
    "trace-not-enabled-by-default",
    "godebug-gctrace-prints-a-line-per-gc",
]
SELECT = [arg for case in CASES for arg in ("-k", case)]
IMPLS = ["--impl", "oracle", "--impl", "go=1.21", "--impl", "go=1.27"]
FORMATS = ["--format", "html", "--format", "md", "--format", "junit", "--format", "json"]


def _run(out: Path, *args: str) -> Path:
    p = run_cli("run", *args, *SELECT, "--out", str(out))
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    assert p.returncode in (0, 1), p.stderr[-3000:]  # 1: some case failed, which a report must show
    assert out.is_file(), p.stderr[-3000:]
    return out


def _one_error_line(p: Any, *needles: str) -> str:
    """The command failed as a user-facing error: exit 2, one line on stderr, no traceback."""
    assert p.returncode == 2, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rthooks: "), p.stderr
    assert "Traceback" not in p.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return str(lines[0])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One run of the three implementations, its three shards, and go1.21 and go1.27 on their own."""
    d = tmp_path_factory.mktemp("runs")
    out = {"all": _run(d / "all.json", *IMPLS)}
    for k in (1, 2, 3):
        out[f"shard{k}"] = _run(d / f"shard{k}.json", *IMPLS, "--shard", f"{k}/3")
    out["go121"] = _run(d / "go121.json", "--impl", "go=1.21")
    out["go127"] = _run(d / "go127.json", "--impl", "go=1.27")
    return out


@pytest.fixture(scope="module")
def rendered(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("report")
    p = run_cli("report", str(runs["all"]), *FORMATS, "--out", str(d))
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in d.iterdir()) == ["index.html", "junit.xml", "report.json", "report.md"]
    return d


def _record(path: Path) -> dict[str, Any]:
    return read(path)


def _worst_for(rec: dict[str, Any], item: str, impls: list[str]) -> list[str]:
    """An item's matrix cells computed straight from a record: the worst status of the cases covering it."""
    order = ["skip", "pass", "xfail", "xpass", "fail", "timeout", "error", "crash"]
    out = []
    for impl in impls:
        got = [
            r["status"]
            for r in rec["results"]
            if r["impl"] == impl and any(c.startswith(item + "#") for c in r["covers"])
        ]
        assert got, f"no case covers {item} on {impl}"
        out.append(max(got, key=order.index))
    return out


# ---- the formats ------------------------------------------------------------------------------------


def test_junit_is_well_formed_with_matching_counts(runs: dict[str, Path], rendered: Path) -> None:
    rec = _record(runs["all"])
    root = ET.parse(rendered / "junit.xml").getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert sorted(s.get("name") or "" for s in suites) == sorted(i["name"] for i in rec["implementations"])
    total = 0
    for s in suites:
        results = [r for r in rec["results"] if r["impl"] == s.get("name")]
        statuses = Counter(r["status"] for r in results)
        cases = s.findall("testcase")
        assert len(cases) == len(results) == int(s.get("tests") or -1)
        assert sorted(c.get("name") or "" for c in cases) == sorted(r["case"] for r in results)
        assert (
            int(s.get("failures") or -1)
            == statuses["fail"] + statuses["xpass"]
            == len([c for c in cases if c.find("failure") is not None])
        )
        assert int(s.get("errors") or -1) == statuses["error"] + statuses["timeout"] + statuses["crash"]
        assert (
            int(s.get("skipped") or -1)
            == statuses["skip"] + statuses["xfail"]
            == len([c for c in cases if c.find("skipped") is not None])
        )
        total += len(cases)
    assert int(root.get("tests") or -1) == total == len(rec["results"])


def test_markdown_has_the_matrix_table(runs: dict[str, Path], rendered: Path) -> None:
    md = (rendered / "report.md").read_text()
    rec = _record(runs["all"])
    names = [i["name"] for i in rec["implementations"]]
    assert "## Matrix" in md and "## Summary" in md and "## Coverage" in md and "## Seed errata" in md
    head = next(line for line in md.splitlines() if line.startswith("| item | package | cases |"))
    for n in names:
        assert n in head
    from rthooks.reports.markdown import MARK

    row = next(line for line in md.splitlines() if line.startswith("| `runtime.Version` |"))
    cells = [c.strip() for c in row.strip("|").split("|")][3:]
    assert cells == [MARK[s] for s in _worst_for(rec, "runtime.Version", names)]


def test_json_round_trips_and_agrees_with_the_record(runs: dict[str, Path], rendered: Path) -> None:
    from rthooks.reports import EXCERPT
    from rthooks.reports.jsonout import to_data
    from rthooks.reports.model import load_view

    text = (rendered / "report.json").read_text()
    data = json.loads(text)
    assert json.loads(json.dumps(data)) == data
    assert data == json.loads(json.dumps(to_data(load_view([runs["all"]]), EXCERPT)))
    rec = _record(runs["all"])
    by = {(r["impl"], r["case"]): r["status"] for r in rec["results"]}
    keys = data["matrix"]["implementations"]
    got = {(impl, c["id"]): s for c in data["cases"] for impl, s in zip(keys, c["statuses"], strict=True) if s}
    assert got == by
    item = next(x for x in data["matrix"]["items"] if x["id"] == "runtime.Version")
    assert item["status"] == _worst_for(rec, "runtime.Version", keys)
    never = next(x for x in data["matrix"]["items"] if x["cases"] == 0 and x["package"] == "runtime")
    assert set(never["status"]) <= {"none", "n/a"}
    assert data["coverage"]["total"]["covered"] > 0 and data["errata"]


def test_item_status_is_the_worst_of_its_cases(runs: dict[str, Path]) -> None:
    from rthooks.reports.model import NO_CASE, SEVERITY, load_view

    view = load_view([runs["all"]])
    checked = 0
    for row in view.items:
        for impl in view.impls:
            got = [r.status for c in row.cases if (r := view.by_key.get((c, impl.key)))]
            if got:
                assert row.cells[impl.key] == max(got, key=SEVERITY.__getitem__)
                checked += 1
            else:
                assert row.cells[impl.key] in (NO_CASE, "n/a")
    assert checked > 20


def test_hostile_text_is_escaped_everywhere(runs: dict[str, Path], tmp_path: Path) -> None:
    rec = _record(runs["all"])
    evil = "<script>alert('x')</script>&<img src=x onerror=alert(1)>|`*_"
    r = rec["results"][0]
    r["case"] = "evil-" + evil
    r["reasons"] = [evil]
    r["status"] = "fail"
    r["observed"] = {**r["observed"], "stderr": evil + "\x01", "stdout": evil}
    bad = tmp_path / "evil.json"
    bad.write_text(json.dumps(rec))
    p = run_cli("report", str(bad), *FORMATS, "--out", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html
    ET.parse(tmp_path / "out" / "junit.xml")  # still well-formed
    md = (tmp_path / "out" / "report.md").read_text()
    prose = re.sub(r"```+text\n.*?\n```+", "", md, flags=re.S)  # stderr excerpts are code blocks: literal text
    prose = re.sub(r"`[^`\n]*`", "", prose)
    assert "<script>" not in prose and "<img" not in prose and "&lt;script&gt;" in prose


def test_html_is_self_contained(rendered: Path) -> None:
    html = (rendered / "index.html").read_text()
    assert html.count("<style>") == 1 and html.count("<script>") == 1
    for needle in ("<link", "<script src", "@import", "url(", "http://", "https://", "<iframe", "<img"):
        assert needle not in html, needle
    assert "<details class=case " in html and "<table class=matrix>" in html
    assert "<form id='filters' hidden" in html  # the filters appear only when the script runs


def test_report_errors_are_one_line(tmp_path: Path, runs: dict[str, Path]) -> None:
    missing = tmp_path / "missing.json"
    _one_error_line(run_cli("report", str(missing)), str(missing), "cannot read")
    notjson = tmp_path / "notjson.json"
    notjson.write_text("{not json")
    _one_error_line(run_cli("report", str(notjson)), str(notjson), "not JSON")
    badrec = tmp_path / "bad.json"
    badrec.write_text(json.dumps({"schema_version": 1, "results": []}))
    _one_error_line(run_cli("report", str(runs["all"]), str(badrec)), str(badrec), "not a run record")
    _one_error_line(run_cli("report", "diff", str(runs["all"]), str(notjson)), str(notjson))
    _one_error_line(run_cli("report", "merge", str(badrec), "--out", str(tmp_path / "m.json")), str(badrec))
    _one_error_line(run_cli("report", "trend", str(missing)), str(missing))
    notxz = tmp_path / "run.json.xz"
    notxz.write_bytes(runs["all"].read_bytes())
    _one_error_line(run_cli("report", str(notxz)), str(notxz), "xz")


# ---- diff ---------------------------------------------------------------------------------------------


def test_diff_between_go_releases_lists_changed_behaviour(runs: dict[str, Path]) -> None:
    # runtime.Version's value is matched by a regex only: a volatile value, which --observed compares.
    p = run_cli(
        "report", "diff", str(runs["go121"]), str(runs["go127"]), "--by", "case", "--observed", "--format", "json"
    )
    assert p.returncode == 0, p.stderr  # nothing that passed on go1.21 fails on go1.27
    d = json.loads(p.stdout)
    assert d["by"] == "case" and d["summary"]["regression"] == 0
    entry = next(e for e in d["entries"] if e["case"] == "runtime-version-names-release")
    assert entry["class"] == "changed" and entry["old"] == entry["new"] == "pass"
    change = next(c for c in entry["observed"] if c["path"] == "steps[0].value")
    assert change["old"].startswith("go1.21.") and change["new"].startswith("go1.27.")
    text = run_cli("report", "diff", str(runs["go121"]), str(runs["go127"]), "--by", "case", "--observed")
    line = next(x for x in text.stdout.splitlines() if "runtime-version-names-release" in x)
    assert line.startswith("changed") and "go1.21 -> go1.27" in line and "steps[0].value" in line


def test_diff_by_case_needs_one_implementation_per_record(runs: dict[str, Path]) -> None:
    p = run_cli("report", "diff", str(runs["all"]), str(runs["go127"]), "--by", "case")
    _one_error_line(p, str(runs["all"]), "exactly one implementation")


def test_diff_regression_exits_1_and_fix_exits_0(runs: dict[str, Path], tmp_path: Path) -> None:
    rec = _record(runs["all"])
    target = next(r for r in rec["results"] if r["status"] == "pass" and r["impl"] == "go1.27")
    worse = json.loads(json.dumps(rec))
    for r in worse["results"]:
        if (r["case"], r["impl"]) == (target["case"], target["impl"]):
            r["status"], r["reasons"] = "fail", ["made up for the test"]
    gone = worse["results"].pop(next(i for i, r in enumerate(worse["results"]) if r["impl"] == "go1.21"))
    new_path = tmp_path / "new.json"
    new_path.write_text(json.dumps(worse))

    p = run_cli("report", "diff", str(runs["all"]), str(new_path), "--format", "json")
    assert p.returncode == 1, p.stderr
    d = json.loads(p.stdout)
    by = {(e["case"], e["impl"]): e for e in d["entries"]}
    assert by[(target["case"], "go1.27")]["class"] == "regression"
    assert by[(gone["case"], "go1.21")]["class"] == "removed"
    assert d["summary"]["regression"] == 1 and d["summary"]["removed"] == 1
    text = run_cli("report", "diff", str(runs["all"]), str(new_path)).stdout
    assert any(x.startswith("regression") and target["case"] in x for x in text.splitlines())

    back = run_cli("report", "diff", str(new_path), str(runs["all"]), "--format", "json")
    assert back.returncode == 0, back.stderr
    d = json.loads(back.stdout)
    by = {(e["case"], e["impl"]): e for e in d["entries"]}
    assert by[(target["case"], "go1.27")]["class"] == "fix"
    assert by[(gone["case"], "go1.21")]["class"] == "new"
    same = run_cli("report", "diff", str(runs["all"]), str(runs["all"]), "--format", "json")
    assert same.returncode == 0 and set(json.loads(same.stdout)["summary"].items()) >= {("regression", 0), ("fix", 0)}


# ---- merge --------------------------------------------------------------------------------------------


def test_merged_shards_equal_the_unsharded_run(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "merged.json"
    shards = [str(runs[f"shard{k}"]) for k in (1, 2, 3)]
    p = run_cli("report", "merge", *shards, "--out", str(out))
    assert p.returncode == 0, p.stderr
    merged, whole = read(out), _record(runs["all"])
    assert [_record(Path(s))["shard"] for s in shards] == ["1/3", "2/3", "3/3"]
    assert all(len(_record(Path(s))["results"]) < len(whole["results"]) for s in shards)
    status = {(r["case"], r["impl"]): r["status"] for r in merged["results"]}
    assert len(status) == len(merged["results"])
    assert status == {(r["case"], r["impl"]): r["status"] for r in whole["results"]}
    assert [(r["impl"], r["case"]) for r in merged["results"]] == sorted(
        (r["impl"], r["case"]) for r in merged["results"]
    )
    assert [i["name"] for i in merged["implementations"]] == [i["name"] for i in whole["implementations"]]
    assert merged["spec_revision"] == whole["spec_revision"] and merged["shard"] is None

    packed = tmp_path / "merged.json.xz"  # a compressed record reads back the same
    assert run_cli("report", "merge", *shards, "--out", str(packed)).returncode == 0
    assert read(packed) == merged


def test_merge_conflicts_are_one_clear_line(runs: dict[str, Path], tmp_path: Path) -> None:
    one, two = runs["shard1"], tmp_path / "shard1-again.json"
    two.write_text(one.read_text())
    line = _one_error_line(run_cli("report", "merge", str(one), str(two), "--out", str(tmp_path / "m.json")))
    first = _record(one)["results"][0]
    assert f"case {first['case']} on {first['impl']}" in line and str(one) in line and str(two) in line
    assert not (tmp_path / "m.json").exists()

    other = _record(runs["shard2"])
    other["spec_revision"] = "0" * 16
    rev = tmp_path / "other-spec.json"
    rev.write_text(json.dumps(other))
    _one_error_line(run_cli("report", "merge", str(one), str(rev), "--out", str(tmp_path / "m.json")), "spec revision")

    other = _record(runs["shard2"])
    impl = next(i for i in other["implementations"] if i["name"] == "go1.27")
    impl["go_version"] = "1.27.0"
    moved = tmp_path / "other-toolchain.json"
    moved.write_text(json.dumps(other))
    _one_error_line(
        run_cli("report", "merge", str(one), str(moved), "--out", str(tmp_path / "m.json")), "go1.27", "go_version"
    )


# ---- trend --------------------------------------------------------------------------------------------


def test_trend_shows_where_behaviour_changed(runs: dict[str, Path]) -> None:
    p = run_cli("report", "trend", str(runs["go127"]), str(runs["go121"]), "--observed", "--format", "json")
    assert p.returncode == 0, p.stderr
    (series,) = json.loads(p.stdout)["series"]
    assert [i["key"] for i in series["implementations"]] == ["go1.21", "go1.27"]  # ordered by go_version
    case = next(c for c in series["cases"] if c["id"] == "runtime-version-names-release")
    assert case["statuses"] == ["pass", "pass"] and case["first_change"] == "go1.27"
    assert any(o["path"] == "steps[0].value" for o in case["changes"][0]["observed"])
    item = next(i for i in series["items"] if i["id"] == "runtime.Version")
    assert item["first_change"] == "go1.27"
    text = run_cli("report", "trend", str(runs["go121"]), str(runs["go127"]), "--observed").stdout
    assert "runtime-version-names-release" in text and "changes by release" in text
    md = run_cli("report", "trend", str(runs["go121"]), str(runs["go127"]), "--format", "md").stdout
    assert "| `runtime-version-names-release` |" in md
