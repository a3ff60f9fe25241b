"""How the oracle reads an integer runtime debug variable from GODEBUG at start-up: as the runtime's
parsedebugvars does in each release (atoi up to go1.25, strconv.ParseInt from go1.26)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rthooks.goversion import GoVersion
from rthooks.oracle.godebugops import op_setenv, startup_int
from rthooks.oracle.state import OracleRuntime


def _rt(release: str, godebug: str) -> OracleRuntime:
    env = {"GODEBUG": godebug}
    return OracleRuntime(GoVersion.parse(release), 100, 2**63 - 1, 2, env, Path("."))


@pytest.mark.parametrize(
    ("release", "value", "want"),
    [
        ("1.21", "2", 2),
        ("1.21", "-1", -1),
        ("1.21", "+1", 0),  # runtime atoi takes no "+"
        ("1.26", "+1", 1),  # strconv.ParseInt does
        ("1.27", " 1", 0),
        ("1.27", "1_0", 0),
        ("1.27", "0x10", 0),
        ("1.27", "2147483647", 2147483647),
        ("1.27", "2147483648", 0),  # outside int32: the variable is left alone
        ("1.27", "", 0),
    ],
)
def test_startup_int_parses_like_the_runtime(release: str, value: str, want: int) -> None:
    assert startup_int(_rt(release, f"gcstoptheworld={value}"), "gcstoptheworld") == want


def test_startup_int_is_the_startup_value_not_a_later_setenv() -> None:
    rt = _rt("1.27", "schedtrace=5")
    op_setenv(rt, [], {"value": "schedtrace=9"})
    assert startup_int(rt, "schedtrace") == 5
