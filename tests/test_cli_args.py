"""Bad command-line arguments: each is one line on stderr (``rthooks: ...``) and exit 2, before any work.

The commands run in-process through rthooks.cli.main, from the checkout (tests/conftest.py), under
a watchdog: a check that waited on a FIFO or started the cases would show as a hang or as more
than one line.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from rthooks.cli import main
from tests.conftest import ROOT, watchdog

FIXTURE = Path(__file__).parent / "fixtures" / "record-small.json"
CASE = ["-k", "debug-setgcpercent-returns-previous"]


@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str


def rthooks(*argv: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), watchdog(60):
        try:
            status = main(list(argv))
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 2
    return Outcome(status, out.getvalue(), err.getvalue())


def one_line(o: Outcome, *needles: str) -> str:
    """Exit 2 and exactly one line on stderr, ``rthooks: ...``, naming what was wrong."""
    assert o.status == 2, (o.status, o.stdout[-1000:], o.stderr[-2000:])
    lines = o.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rthooks: "), o.stderr[-2000:]
    assert "Traceback" not in o.stderr and "\x1b" not in o.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def checkout_files() -> set[str]:
    """Every file name in the checkout's top folder and its record/report folders (hidden ones too)."""
    return {p.name for d in (ROOT, ROOT / "reports", ROOT / "tests") for p in d.iterdir()}


# ---- numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["run", "--jobs", "-1", *CASE], "--jobs"),
        (["run", "--jobs", "0", *CASE], "at least 1"),
        (["run", "--jobs", "many", *CASE], "not a whole number"),
        (["run", "--jobs", "9" * 5000, *CASE], "--jobs"),
        (["bench", "--jobs", "-3", *CASE], "--jobs"),
        (["bench", "--repeat", "-1", *CASE], "--repeat"),
        (["bench", "--repeat", "0", *CASE], "at least 1"),
        (["coverage", "--min", "nan"], "--min"),
        (["coverage", "--min", "inf"], "--min"),
        (["coverage", "--min", "-1"], "0 to 100"),
        (["coverage", "--min", "100.5"], "0 to 100"),
        (["coverage", "--min", "lots"], "--min"),
        (["run", "--shard", "0/3", *CASE], "K must be from 1"),
        (["run", "--shard", "4/3", *CASE], "K must be from 1"),
        (["run", "--shard", "1/0", *CASE], "N must be from 1"),
        (["run", "--shard", "1/100000000000", *CASE], "--shard"),
        (["run", "--shard", "1/10001", *CASE], "N must be from 1 to 10000"),
        (["run", "--shard", "a/b", *CASE], "want K/N"),
        (["run", "--shard", "1/", *CASE], "want K/N"),
        (["run", "--shard=-1/3", *CASE], "want K/N"),
        (["run", "--shard", "\u0661/\u0663", *CASE], "want K/N"),  # Arabic-Indic digits: not ASCII ones
        (["report", str(FIXTURE), "--excerpt", "10"], "--excerpt"),
        (["run", "--cases", "", *CASE], "--cases"),  # not the current folder and every YAML file under it
        (["coverage", "--cases", ""], "--cases"),
        (["run", "--release", "1.99", *CASE], "not a modelled release"),
    ],
)
def test_bad_numbers_are_one_line(argv: list[str], needle: str) -> None:
    one_line(rthooks(*argv), needle)


def test_good_shard_and_jobs_still_run(tmp_path: Path) -> None:
    o = rthooks("run", "--impl", "oracle", "--jobs", "1", "--shard", "01/1", *CASE, "--out", str(tmp_path / "r.json"))
    assert o.status == 0, o.stderr
    from rthooks.protocol.record import read

    assert read(tmp_path / "r.json")["shard"] == "1/1"  # normalised


# ---- --out -------------------------------------------------------------------------------------------


def test_run_out_empty_is_refused_and_leaves_nothing() -> None:
    before = checkout_files()
    one_line(rthooks("run", "--impl", "oracle", *CASE, "--out", ""), "empty")
    assert checkout_files() == before


@pytest.mark.parametrize("command", ["run", "merge"])
def test_unusable_out_is_refused_before_anything_runs(command: str, tmp_path: Path) -> None:
    long_name = str(tmp_path / ("r" * 300 + ".json"))
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    cases = {
        str(tmp_path): "is a folder",
        str(tmp_path) + "/": "is a folder",
        "/proc/rthooks-record.json": "cannot create a file",
        long_name: "longer than",
        str(tmp_path / "missing" / "r.json"): "no such folder",
        str(fifo): "not a regular file",
        "/dev/null": "not a regular file",
    }
    before = checkout_files()
    for out, needle in cases.items():
        if command == "run":
            o = rthooks("run", "--impl", "oracle", *CASE, "--out", out)
        else:
            o = rthooks("report", "merge", str(FIXTURE), "--out", out)
        line = one_line(o, "--out", needle)
        assert len(line) < 400
    assert stat.S_ISFIFO(fifo.stat().st_mode) and Path("/dev/null").is_char_device()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.json"]  # no probe or temp file left
    assert checkout_files() == before


def test_report_out_must_be_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    one_line(rthooks("report", str(FIXTURE), "--out", str(f)), "not a folder")
    one_line(rthooks("report", str(FIXTURE), "--out", ""), "empty")
    one_line(rthooks("report", str(FIXTURE), "--out", "/proc/rthooks-report"), "cannot write")


def test_record_written_by_run_has_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    out = tmp_path / "r.json"
    assert rthooks("run", "--impl", "oracle", *CASE, "--out", str(out)).status == 0
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


# ---- coverage --run reads records through the record reader ------------------------------------------------


def test_coverage_run_takes_only_records(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    one_line(rthooks("coverage", "--run", "/bin/true"), "/bin/true", "not UTF-8")
    one_line(rthooks("coverage", "--run", str(tmp_path)), "cannot read")
    one_line(rthooks("coverage", "--run", str(fifo)), "not a regular file")
    one_line(rthooks("coverage", "--run", ""), "empty")
    nan = tmp_path / "nan.json"
    nan.write_text('{"schema_version": NaN}')
    one_line(rthooks("coverage", "--run", str(nan)), "nan.json", "NaN")
    assert rthooks("coverage", "--run", str(FIXTURE), "--summary").status == 0


# ---- a fake GOROOT ---------------------------------------------------------------------------------------


def fake_goroot(tmp_path: Path, version: bytes | None, kind: str = "file") -> Path:
    """A GOROOT whose bin/go is a script and whose VERSION is ``version`` (or a folder / a FIFO)."""
    root = tmp_path / "fake"
    (root / "bin").mkdir(parents=True)
    go = root / "bin" / "go"
    go.write_text("#!/bin/sh\nexit 1\n")
    go.chmod(0o755)
    vf = root / "VERSION"
    if kind == "dir":
        vf.mkdir()
    elif kind == "fifo":
        os.mkfifo(vf)
    elif version is not None:
        vf.write_bytes(version)
    return go


@pytest.mark.parametrize(
    "version,kind,needle",
    [
        (b"go1.2\xff\xfe\ntime x\n", "file", "not UTF-8"),
        (b"\xff" * 100_000, "file", "not UTF-8"),
        (b"hello world\n", "file", "not goN.N"),
        (b"\x1b]0;title\x07\n", "file", "not goN.N"),
        (b"", "file", "not goN.N"),
        (None, "dir", "not a regular file"),
        (None, "fifo", "not a regular file"),
    ],
)
def test_a_fake_goroot_is_one_line(tmp_path: Path, version: bytes | None, kind: str, needle: str) -> None:
    go = fake_goroot(tmp_path, version, kind)
    line = one_line(rthooks("run", "--impl", f"go={go}", *CASE), str(go), needle)
    assert "\x1b" not in line and "\x07" not in line
