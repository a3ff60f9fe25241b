"""The Go driver: generated dispatch is current, and the driver builds with the oldest and newest Go."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rthooks import toolchain
from rthooks.harness.driver_build import BuildConfig, build_driver
from tests.conftest import ROOT


def test_generated_dispatch_is_current() -> None:
    p = subprocess.run(
        [sys.executable, str(ROOT / "harness" / "gen_dispatch.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("release", ["1.21", "1.27"])
def test_driver_builds_and_says_hello(release: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os

    tc = toolchain.for_release(release)
    binary = build_driver(tc, BuildConfig(goline=str(tc.release)))
    r, w = os.pipe()
    program = {"protocol": 1, "case": "hello", "go": release, "steps": [{"op": "version"}]}
    p = subprocess.run(
        [str(binary)],
        input=json.dumps(program),
        capture_output=True,
        text=True,
        pass_fds=(w,),
        env={"RTHOOKS_OBS_FD": str(w), "PATH": os.environ.get("PATH", "")},
        timeout=60,
    )
    os.close(w)
    with os.fdopen(r) as f:
        lines = [json.loads(x) for x in f.read().splitlines()]
    assert p.returncode == 0, p.stderr
    assert lines[0]["hello"]["version"] == f"go{tc.version}"
    assert lines[1] == {"step": 0, "status": "ok", "value": f"go{tc.version}"}
    assert lines[-1] == {"done": True}


def test_godebug_lines_before_go_1_23_fail_with_the_toolchains_own_error() -> None:
    """go1.21 does not know go.mod godebug blocks; the build error is go's, with its full text kept."""
    from rthooks.errors import RthooksError

    tc = toolchain.for_release("1.21")
    with pytest.raises(RthooksError, match=r"go build") as err:
        build_driver(tc, BuildConfig(goline="1.21", godebug=(("panicnil", "1"),)))
    assert "unknown block type: godebug" in err.value.output


def test_file_size_reads_a_working_directory_file_and_refuses_other_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """op file.size: the size now, os.Stat's error for a missing file, bad arguments outside the directory."""
    import json
    import os

    tc = toolchain.for_release("1.27")
    binary = build_driver(tc, BuildConfig(goline=str(tc.release)))
    (tmp_path / "five.txt").write_bytes(b"12345")
    (tmp_path / "empty.txt").write_bytes(b"")
    steps = [
        {"op": "file.size", "with": {"file": p}}
        for p in ("five.txt", "empty.txt", "missing.txt", "../five.txt", "/five.txt")
    ]
    r, w = os.pipe()
    p = subprocess.run(
        [str(binary)],
        input=json.dumps({"protocol": 1, "case": "file-size", "go": "1.27", "steps": steps}),
        capture_output=True,
        text=True,
        pass_fds=(w,),
        cwd=tmp_path,
        env={"RTHOOKS_OBS_FD": str(w), "PATH": os.environ.get("PATH", "")},
        timeout=60,
    )
    os.close(w)
    with os.fdopen(r) as f:
        obs = {x["step"]: x for x in map(json.loads, f.read().splitlines()) if "step" in x}
    assert p.returncode == 0, p.stderr
    assert (obs[0]["status"], obs[0]["value"]) == ("ok", 5)
    assert (obs[1]["status"], obs[1]["value"]) == ("ok", 0)
    assert obs[2]["status"] == "error" and "stat missing.txt: no such file or directory" in json.dumps(obs[2])
    for i in (3, 4):
        assert obs[i]["status"] == "unsupported" and "bad arguments" in json.dumps(obs[i]), obs[i]
