import pytest

from rthooks.errors import RthooksError
from rthooks.yamlsrc import line_of, loads


def test_lines_are_remembered() -> None:
    data = loads("a: 1\nb:\n  - x: 1\n    y: 2\n", "f.yaml")
    assert line_of(data, ["b", 0, "y"]) == 4
    assert line_of(data, ["b", 0]) == 3


def test_versions_stay_strings_other_floats_do_not() -> None:
    data = loads("since: 1.20\ngoline: 1.21\ntolerance: {value: 2, rel: 0.03}\n")
    assert data["since"] == "1.20" and data["goline"] == "1.21"
    assert data["tolerance"]["rel"] == 0.03


def test_duplicate_key_is_an_error_with_its_line() -> None:
    with pytest.raises(RthooksError, match=r"^f.yaml:3: duplicate key 'a'$"):
        loads("a: 1\nb: 2\na: 3\n", "f.yaml")


def test_malformed_yaml_is_one_line() -> None:
    with pytest.raises(RthooksError) as e:
        loads("a: [1\nb: 2\n", "f.yaml")
    assert str(e.value).startswith("f.yaml:") and "\n" not in str(e.value)


def test_only_yaml12_booleans() -> None:
    data = loads("a: off\nb: on\nc: yes\nd: true\ne: False\n")
    assert data == {"a": "off", "b": "on", "c": "yes", "d": True, "e": False}
