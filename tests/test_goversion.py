from hypothesis import given
from hypothesis import strategies as st

from rthooks.goversion import GoVersion, is_version


def test_numeric_not_lexical_order() -> None:
    assert GoVersion.parse("1.9") < GoVersion.parse("1.10") < GoVersion.parse("1.27")


def test_toolchain_spellings() -> None:
    v = GoVersion.parse("go1.27.3")
    assert (v.minor, v.patch, str(v), str(v.release)) == (27, 3, "1.27.3", "1.27")
    assert GoVersion.parse("1") == GoVersion.parse("1.0")
    assert GoVersion.parse("go1.26rc1").release == GoVersion.parse("1.26")


def test_rejects_non_versions() -> None:
    for bad in ("2.0", "1.x", "", "go", "1.21.a"):
        assert not is_version(bad)


@given(st.integers(0, 99), st.integers(0, 99))
def test_order_matches_minor_numbers(a: int, b: int) -> None:
    assert (GoVersion.parse(f"1.{a}") < GoVersion.parse(f"1.{b}")) == (a < b)
    assert str(GoVersion.parse(f"go1.{a}")) == f"1.{a}"
