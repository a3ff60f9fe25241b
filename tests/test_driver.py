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
