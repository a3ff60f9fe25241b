"""The contributor's loop on the command line (issue 12, items 2-5): edit a case, validate, run, read the
failure, rerun it.

Runs use the fake implementation (``python -m rthooks.harness.fake``: ``ok`` runs every step and exits 0,
so ``fake-answers``, which expects exit status 3, fails on it and ``fake-answers-twice`` passes;
``unsupported`` skips; ``hang`` never answers) on small case folders of their own, from a
temporary working directory, so what the CLI prints is checked as a contributor would see it: paths
relative to where they stand, commands they can paste.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from rthooks.cli import _describe_result, main
from rthooks.harness.runner import Progress
from rthooks.protocol.record import read
from rthooks.spec.lint import RULES
from rthooks.ui import did_you_mean, phase
from tests.conftest import ROOT, fake_impl, run_cli, run_pytest

CASES = """\
cases:
  - id: fake-answers
    timeout_s: 5
    covers: [runtime.GC#blocks-until-complete]
    steps:
      - {call: runtime.GC}
    expect:
      - {exit_status: 3}
  - id: fake-answers-twice
    timeout_s: 5
    covers: [runtime/debug.SetGCPercent#returns-previous]
    steps:
      - {call: runtime.GC}
      - {call: runtime.GC}
    expect:
      - {exit_status: 0}
"""
#: Where the two cases start in cases/fake.yaml (their `- id:` lines).
LINE = {"fake-answers": 2, "fake-answers-twice": 9}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A contributor's folder: cases/fake.yaml, and nothing else."""
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "fake.yaml").write_text(CASES)
    return tmp_path


def _rerun(line: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run a printed ``rerun: rthooks run ...`` line as it stands (the module, as ``rthooks`` may not be on PATH)."""
    argv = shlex.split(line.split("rerun: ", 1)[1])
    assert argv[:2] == ["rthooks", "run"], argv
    return run_cli(*argv[1:], *extra, cwd=cwd)


# ---- item 3: failures that say where and how ------------------------------------------------------------


def test_a_failure_says_file_line_reasons_and_a_rerun_that_runs_exactly_it(work: Path) -> None:
    # The folder given absolute: what is printed is still relative to the working directory.
    crash = fake_impl("crash-mid-step")  # fails fake-answers (exit 0, not 3) and crashes at fake-answers-twice's step 1
    p = run_cli("run", "--cases", str(work / "cases"), "--impl", crash, "--impl", fake_impl("ok"), cwd=work)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert str(work) not in p.stdout, p.stdout  # no machine path where a relative one exists
    lines = p.stdout.splitlines()
    head = f"cases/fake.yaml:{LINE['fake-answers']}: FAIL fake-ok fake-answers"
    assert head in lines, p.stdout
    at = lines.index(head)
    # which expectation failed, at its line of the case file, expected against observed
    assert (
        lines[at + 1]
        == f"    line {LINE['fake-answers'] + 6}, expect[0]: exit status: want 3, process ended with status 0"
    )
    assert f"cases/fake.yaml:{LINE['fake-answers-twice']}: CRASH fake-crash-mid-step fake-answers-twice" in lines
    reruns = [line for line in lines if line.startswith("    rerun: ")]
    assert len(reruns) == 3  # one per failing pair; none for fake-ok's pass of fake-answers-twice
    out = work / "again.json"
    # "fake-answers" is a prefix of "fake-answers-twice": the rerun must still select exactly the one case.
    again = _rerun(lines[at + 2], work, "--out", str(out))
    assert again.returncode == 1, again.stderr
    assert [(r["impl"], r["case"], r["status"]) for r in read(out)["results"]] == [("fake-ok", "fake-answers", "fail")]
    crashed = next(line for line in reruns if "fake-answers-twice" in line)
    assert _rerun(crashed, work, "--out", str(out)).returncode == 1
    got = [(r["impl"], r["case"], r["status"]) for r in read(out)["results"]]
    assert got == [("fake-crash-mid-step", "fake-answers-twice", "crash")]


def test_id_selects_exactly_while_k_matches_substrings(work: Path) -> None:
    listed = run_cli("run", "--cases", "cases", "-k", "fake-answers", "--list", cwd=work)
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["fake-answers", "fake-answers-twice"]
    exact = run_cli("run", "--cases", "cases", "--id", "fake-answers", "--list", cwd=work)
    assert exact.returncode == 0 and exact.stdout.splitlines() == [
        f"fake-answers\tcases/fake.yaml:{LINE['fake-answers']}"
    ]


def test_verbose_shows_skip_reasons(work: Path) -> None:
    args = ["run", "--cases", "cases", "--id", "fake-answers", "--impl", fake_impl("unsupported")]
    quiet = run_cli(*args, cwd=work)
    assert quiet.returncode == 0 and "SKIP" not in quiet.stdout
    loud = run_cli(*args, "-v", cwd=work)
    assert loud.returncode == 0
    assert f"cases/fake.yaml:{LINE['fake-answers']}: SKIP fake-unsupported fake-answers" in loud.stdout
    assert "unsupported" in loud.stdout.split("SKIP", 1)[1].splitlines()[1]  # the reason, on the next line
    assert "rerun:" not in loud.stdout  # a skip is not a failure to chase


def test_an_xfail_shows_its_known_reason() -> None:
    """A known deviation shows why it is known (the expectations file's reason) and what was observed."""
    result = {
        "case": "c",
        "impl": "go1.21",
        "status": "xfail",
        "known": "fixed in go1.23",
        "reasons": ["want 1, got 2"],
    }
    text = _describe_result(result, None, lambda w: w, None)
    assert text.splitlines() == ["XFAIL go1.21 c", "    known deviation: fixed in go1.23", "    want 1, got 2"]


def test_list_prints_the_selection_and_runs_nothing(work: Path) -> None:
    out = work / "never.json"
    p = run_cli("run", "--cases", "cases", "--list", "--out", str(out), cwd=work)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"{c}\tcases/fake.yaml:{n}" for c, n in LINE.items()]
    assert not out.exists() and "[" not in p.stderr  # no progress: nothing ran


@pytest.mark.parametrize(
    "selector,want",
    [
        (["--clause", "runtime.GC#blocks-until-complete"], ["fake-answers"]),
        (["--item", "runtime/debug.SetGCPercent"], ["fake-answers-twice"]),
        (["--package", "runtime/debug"], ["fake-answers-twice"]),
        (["--package", "runtime", "--package", "runtime/debug"], ["fake-answers", "fake-answers-twice"]),
        (["--package", "runtime", "-k", "twice"], []),  # kinds given together must all match
    ],
)
def test_selection_by_what_cases_cover(work: Path, selector: list[str], want: list[str]) -> None:
    p = run_cli("run", "--cases", "cases", *selector, "--list", cwd=work)
    if not want:
        assert p.returncode == 2 and p.stderr.startswith("rthooks: no case matches"), p.stderr
        return
    assert p.returncode == 0, p.stderr
    assert [line.split("\t")[0] for line in p.stdout.splitlines()] == want


def test_last_failed_reruns_the_failures_of_the_out_record_on_their_implementations(work: Path) -> None:
    rec = work / "run.json"
    first = run_cli(
        "run",
        "--cases",
        "cases",
        "--impl",
        fake_impl("ok"),
        "--impl",
        fake_impl("unsupported"),
        "--out",
        str(rec),
        cwd=work,
    )
    assert first.returncode == 1 and len(read(rec)["results"]) == 4
    again = run_cli("run", "--cases", "cases", "--last-failed", "--out", str(rec), cwd=work)
    assert again.returncode == 1, again.stderr
    # Only the failed case, only on the implementation it failed on (fake-unsupported skipped everything).
    assert [(r["impl"], r["case"]) for r in read(rec)["results"]] == [("fake-ok", "fake-answers")]


def test_last_failed_defaults_to_the_last_run_kept_in_the_cache(work: Path, tmp_path: Path) -> None:
    env = {"RTHOOKS_CACHE": str(tmp_path / "cache")}
    none = run_cli("run", "--cases", "cases", "--last-failed", env=env, cwd=work)
    assert none.returncode == 2 and "no previous record" in none.stderr and none.stderr.count("\n") == 1
    first = run_cli("run", "--cases", "cases", "--impl", fake_impl("ok"), env=env, cwd=work)
    assert first.returncode == 1
    kept = read(tmp_path / "cache" / "last-run.json")  # a run record holding the failures only
    assert [(r["impl"], r["case"], r["status"]) for r in kept["results"]] == [("fake-ok", "fake-answers", "fail")]
    out = work / "rerun.json"
    again = run_cli(
        "run",
        "--cases",
        "cases",
        "--last-failed",
        "--impl",
        fake_impl("unsupported"),
        "--out",
        str(out),
        env=env,
        cwd=work,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert [(r["impl"], r["case"]) for r in read(out)["results"]] == [("fake-unsupported", "fake-answers")]
    clean = run_cli("run", "--cases", "cases", "--last-failed", env=env, cwd=work)  # that rerun is now the last
    assert clean.returncode == 0 and "nothing to rerun" in clean.stderr


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _in_process(*argv: str, stdout: io.StringIO) -> int:
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        return int(main(list(argv)))


def test_status_words_are_coloured_on_a_terminal_only_and_never_with_no_color(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(work)
    argv = ["run", "--cases", "cases", "--id", "fake-answers", "--impl", fake_impl("ok")]
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = _Tty()
    assert _in_process(*argv, stdout=tty) == 1
    assert "\x1b[1;31mFAIL\x1b[0m" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Tty()
    assert _in_process(*argv, stdout=plain) == 1
    assert "\x1b" not in plain.getvalue() and ": FAIL fake-ok" in plain.getvalue()
    monkeypatch.delenv("NO_COLOR")
    piped = io.StringIO()
    assert _in_process(*argv, stdout=piped) == 1
    assert "\x1b" not in piped.getvalue()


def test_pytest_plugin_failure_names_the_file_relative(work: Path) -> None:
    p = run_pytest(work, "cases", "--impl", fake_impl("ok"), "-k", "not twice")
    assert "1 failed" in p.stdout, p.stdout[-2000:]
    where = f"cases/fake.yaml:{LINE['fake-answers']}: fail: line {LINE['fake-answers'] + 6}, expect[0]:"
    assert f"{where} exit status: want 3" in p.stdout, p.stdout[-2000:]
    assert f"{work}/cases/fake.yaml:" not in p.stdout


# ---- item 4: messages ---------------------------------------------------------------------------------------


def test_validate_says_what_it_checked_on_success(work: Path) -> None:
    p = run_cli("validate", "cases", cwd=work)
    assert p.returncode == 0 and p.stdout == ""
    assert (
        p.stderr.splitlines()[-1] == f"rthooks validate: 1 file (1 case file, 2 cases), {len(RULES)} rules: no problems"
    )


BAD = """\
cases:
  - id: Bad_Id
    covers: [returns-previous]
    requires: {go: "1.21+"}
    timeout_s: "soon"
    stepz: []
    steps:
      - {call: runtime/debug.SetGCPercent, args: [80], bind: First}
    expect:
      - {of: first, equals: 50}
  - id: no-covers
    steps: []
    expect: []
"""


def test_schema_errors_are_in_words_with_suggestions(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "bad.yaml").write_text(BAD)
    p = run_cli("validate", "cases", cwd=tmp_path)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    got = {int(m.group(1)): m.group(2) for m in re.finditer(r"^cases/bad\.yaml:(\d+): RTH002 (.*)$", p.stdout, re.M)}
    assert "^" not in p.stdout and "does not match" not in p.stdout, p.stdout  # no regex shown anywhere
    assert "'Bad_Id' is not lower-case letters and digits in words joined by single '-'" in got[2]
    assert "'returns-previous' is not a clause id, ITEM#CLAUSE" in got[3]
    assert "did you mean" in got[3] and "'runtime/debug.SetGCPercent#returns-previous'" in got[3]
    assert "is not a release range" in got[4]
    assert got[5] == "cases[0].timeout_s: want a number, got a string ('soon')"
    assert got[6] == "unknown key 'stepz' in cases[0] (did you mean 'steps'?)"
    assert "'First' is not a name of lower-case letters" in got[8]
    assert "bound name such as '$first'" in got[10]
    assert got[11] == "cases[1]: missing required key 'covers'"
    assert got[13] == "cases[1].expect: want at least 1 entry, got 0"


def test_unknown_key_without_a_close_name_lists_the_allowed_ones(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CASES.replace("    timeout_s: 5\n    covers", "    zzzzzz: 1\n    covers", 1))
    p = run_cli("validate", "c.yaml", cwd=tmp_path)
    line = p.stdout.strip()
    assert p.returncode == 1 and line.startswith("c.yaml:3: RTH002 unknown key 'zzzzzz' in cases[0] (allowed: ")
    assert "covers" in line and "steps" in line


@pytest.mark.parametrize(
    "argv,suggestion",
    [
        (["-k", "fake-ansers"], "'fake-answers'"),
        (["--id", "fake-answer"], "'fake-answers'"),
        (["--impl", "go1.27", "--list"], None),  # --list needs no implementation: --impl is not even read
        (["--impl", "go1.27"], "'go=1.27'"),
        (["--impl", "orcale"], "'oracle'"),
        (["--impl", "oracle-go1.21"], "'oracle=1.21'"),
        (["--clause", "blocks-until-complete"], "'runtime.GC#blocks-until-complete'"),
        (["--clause", "runtime.GC#blocks-until-complet"], "'runtime.GC#blocks-until-complete'"),
        (["--item", "runtime/debug.SetGCPercnt"], "'runtime/debug.SetGCPercent'"),
        (["--package", "runtime/debg"], "'runtime/debug'"),
    ],
)
def test_did_you_mean(work: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], suggestion: str | None) -> None:
    monkeypatch.chdir(work)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["run", "--cases", "cases", *argv])
    if suggestion is None:
        assert status == 0, err.getvalue()
        return
    assert status == 2 and err.getvalue().count("\n") == 1, err.getvalue()
    assert f"(did you mean {suggestion}" in err.getvalue(), err.getvalue()


def test_did_you_mean_says_nothing_when_nothing_is_close() -> None:
    assert did_you_mean("zzzz", ["oracle", "go"]) == ""
    assert did_you_mean("go1.27", {"go1.27": "go=1.27", "go1.26": "go=1.26"}) == " (did you mean 'go=1.27'?)"


# ---- item 2: progress you can trust --------------------------------------------------------------------------


def test_a_slow_phase_says_what_it_is_doing_and_a_fast_one_says_nothing() -> None:
    slow, fast = io.StringIO(), io.StringIO()
    with phase("thinking hard", after=0.05, stream=slow):
        time.sleep(0.3)
    with phase("thinking fast", after=5, stream=fast):
        pass
    lines = slow.getvalue().splitlines()
    assert lines[0] == "rthooks: thinking hard..." and re.fullmatch(
        r"rthooks: thinking hard: done in \d+\.\ds", lines[1]
    )
    assert fast.getvalue() == ""


def test_progress_on_a_pipe_beats_while_nothing_finishes() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream, every=0.2)
    progress.start()
    try:
        progress.started("go1.27", "slow-case")
        time.sleep(0.9)
    finally:
        progress.stop()
    beats = [line for line in stream.getvalue().splitlines() if "running go1.27 slow-case" in line]
    assert len(beats) >= 2, stream.getvalue()
    assert beats[0].startswith("rthooks: [0/2]")


def test_run_on_a_pipe_reports_within_five_seconds_of_a_hang(work: Path) -> None:
    """A case that hangs until its 8 s timeout: the piped progress must speak meanwhile, naming it."""
    (work / "cases" / "fake.yaml").write_text(CASES.replace("timeout_s: 5", "timeout_s: 8"))
    p = run_cli("run", "--cases", "cases", "--id", "fake-answers", "--impl", fake_impl("hang"), cwd=work)
    assert p.returncode == 1 and "TIMEOUT fake-hang fake-answers" in p.stdout
    beats = [line for line in p.stderr.splitlines() if "running fake-hang fake-answers" in line]
    assert beats and beats[0].startswith("rthooks: [0/1]"), p.stderr


# ---- item 5: the README from a fresh clone --------------------------------------------------------------------


def test_readme_says_how_to_get_rthooks_on_path_and_about_chromium() -> None:
    text = (ROOT / "README.md").read_text()
    assert "pip install -e " in text and "tox devenv" in text
    assert "Chromium" in text and "skip" in text
    assert "RTHOOKS_CHROMIUM" in text and ".ci/run" in text
