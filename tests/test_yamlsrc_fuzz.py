"""Hostile input for the YAML loader: whatever a case file holds, loading it returns a value or
raises one RthooksError naming file:line, promptly; never another exception, never a hang.

Case files come from strangers' pull requests (ARCHITECTURE.md, the trust boundary), so the
inputs here are random bytes and text, mutations of real case files, alias bombs, deep nesting,
every bad-scalar kind, and files that are not files at all.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rthooks import yamlsrc
from rthooks.errors import RthooksError
from rthooks.yamlsrc import MAX_BYTES, MAX_DEPTH, load, loads
from tests.test_yamlsrc import ROOT, _reference_loads, assert_same

# Each example is small; a second is fifty times what one takes here, even on a busy machine.
FUZZ = settings(deadline=timedelta(seconds=1), max_examples=150, suppress_health_check=[HealthCheck.too_slow])
WHERE = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")


def outcome(fn: Callable[[], Any], name: str) -> Any:
    """fn()'s value, or the RthooksError it raised after checking that it is one line at name:N."""
    try:
        return fn()
    except RthooksError as e:
        assert e.where is not None, f"no location: {e}"
        m = WHERE.match(e.where)
        assert m is not None and m.group("file") == name, e.where
        assert "\n" not in str(e)
        return e


def in_time(seconds: float, fn: Callable[[], Any]) -> Any:
    """Run fn in a thread; fail (rather than hang the suite) if it has not returned in time."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(outcome(fn, "f.yaml")), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the loader was still busy after {seconds} s"
    assert box, "the loader raised something other than RthooksError"
    return box[0]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def load_bytes(scratch: Path, data: bytes) -> Any:
    f = scratch / "f.yaml"
    f.write_bytes(data)
    return outcome(lambda: load(f, "f.yaml"), "f.yaml")


# --- random input ------------------------------------------------------------------------------

# Characters that steer libyaml into its interesting states, and a few that must be refused.
YAMLISH = st.text(
    alphabet=st.sampled_from([*"-:?[]{},&*!|>'\"#%@`~<=.+_ \n\t\r\\aby0129xTtfFnNeE", "\x00", "\x85", "\ufeff"]),
    max_size=200,
)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(scratch: Path, data: bytes) -> None:
    load_bytes(scratch, data)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    outcome(lambda: loads(text, "t.yaml"), "t.yaml")


@FUZZ
@given(YAMLISH)
def test_yamlish_text_matches_the_former_loader_where_both_load(text: str) -> None:
    new = outcome(lambda: loads(text, "t.yaml"), "t.yaml")
    try:
        ref = _reference_loads(text, "t.yaml")
    except Exception:  # the former loader failed (sometimes with a traceback): nothing to compare
        return
    if not isinstance(new, RthooksError):
        assert_same(new, ref)


def _small_case_files() -> list[Path]:
    return sorted(p for p in (ROOT / "cases").rglob("*.yaml") if p.stat().st_size < 40_000)


@FUZZ
@given(st.data())
def test_mutated_case_files(scratch: Path, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_small_case_files()))
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        end = data.draw(st.integers(at, min(len(raw), at + 80)))
        edit = data.draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if edit == "delete":
            del raw[at:end]
        elif edit == "duplicate":
            raw[at:at] = raw[at:end]
        else:
            piece = data.draw(st.one_of(YAMLISH.map(str.encode), st.binary(max_size=8)))
            raw[at : end if edit == "replace" else at] = piece
    load_bytes(scratch, bytes(raw))


# --- alias bombs, nesting, scalars, keys ---------------------------------------------------------


def billion_laughs(levels: int, width: int) -> str:
    lines = ["l0: &l0 [lol]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@settings(deadline=timedelta(seconds=2), max_examples=40)
@given(st.integers(2, 30), st.integers(2, 20))
def test_alias_bombs_are_refused_without_expanding(levels: int, width: int) -> None:
    text = billion_laughs(levels, width)
    sizes = [2]  # l0: the list and its scalar
    for _ in range(levels):
        sizes.append(1 + width * sizes[-1])
    total = sum(sizes) + levels + 1  # every level's expansion, and the keys
    limit = yamlsrc.ALIAS_NODE_FLOOR + yamlsrc.ALIAS_NODES_PER_CHAR * len(text)
    result = outcome(lambda: loads(text, "b.yaml"), "b.yaml")
    if sizes[-1] > limit:
        assert isinstance(result, RthooksError) and "aliases expand" in result.message
    elif total <= limit:
        assert not isinstance(result, RthooksError), result


def test_the_classic_billion_laughs() -> None:
    result = outcome(lambda: loads(billion_laughs(9, 10), "b.yaml"), "b.yaml")
    assert isinstance(result, RthooksError) and "aliases expand" in result.message


@FUZZ
@given(st.integers(1, 3000), st.sampled_from(["flow-seq", "flow-map", "block-seq", "block-map", "mixed"]))
def test_deep_nesting_loads_up_to_the_bound_and_is_refused_past_it(depth: int, shape: str) -> None:
    if shape == "flow-seq":
        text = "[" * depth + "]" * depth
    elif shape == "flow-map":
        text = "{a: " * depth + "x" + "}" * depth
    elif shape == "block-seq":
        text = "- " * depth + "x\n"
    elif shape == "block-map":
        text = "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "x\n"
    else:
        half = depth // 2
        text = "".join(" " * i + "a:\n" for i in range(half)) + " " * half + "[" * (depth - half) + "]" * (depth - half)
    result = outcome(lambda: loads(text, "d.yaml"), "d.yaml")
    if depth > MAX_DEPTH:
        assert isinstance(result, RthooksError)
    else:
        assert not isinstance(result, RthooksError), result


BAD_SCALARS = {
    "!!int": ["x", "", "1.5", "0x", "1" * 5000, "1:" * 3000 + "1"],
    "!!float": ["x", "", "1.2.3", "1" * 5000 + ".0"],
    "!!timestamp": [
        "x",
        "",
        "2020-13-45",
        "2020-02-30",
        "0000-01-01",
        "2020-01-01T25:00:00",
        "2020-01-01 01:02:03 +99",
    ],
    "!!binary": ["***", "\u00e9t\u00e9", "abc"],
    "!!bool": ["maybe", ""],
    "!!set": ["{a, b}"],
    "!!omap": ["[{a: 1}]"],
    "!!python/object:os.system": ["echo owned"],
    "!custom": ["x"],
    "!<tag:example.com,2000:thing>": ["x"],
}


@pytest.mark.parametrize(("tag", "value"), [(t, v) for t, vs in BAD_SCALARS.items() for v in vs])
def test_bad_scalars_and_unknown_tags_are_refused(tag: str, value: str) -> None:
    quoted = value if value.startswith(("{", "[")) else "'" + value.replace("'", "''") + "'"
    result = in_time(2, lambda: loads(f"ok: 1\nbad: {tag} {quoted}\n", "f.yaml"))
    assert isinstance(result, RthooksError) and result.where == "f.yaml:2", result


@pytest.mark.parametrize(
    "text",
    ["1" * 5000 + "\n", "a: " + "1:" * 100_000 + "1\n", "a: " + "1" * 5000 + ".5\n"],
    ids=["long-int", "base-60", "long-float"],
)
def test_plain_numbers_that_cost_too_much_are_refused(text: str) -> None:
    result = in_time(2, lambda: loads(text, "f.yaml"))
    assert isinstance(result, RthooksError) and "longer than" in result.message


@FUZZ
@given(
    st.sampled_from(["!!int", "!!float", "!!timestamp", "!!binary", "!!bool", "!!null", "!!str"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=40),
)
def test_tagged_scalars_return_or_refuse(tag: str, value: str) -> None:
    outcome(lambda: loads(f"v: {tag} '{value.replace(chr(39), chr(39) * 2)}'\n", "f.yaml"), "f.yaml")


@pytest.mark.parametrize(
    "text",
    ["{[a]: 1}\n", "? {a: 1}\n: 2\n", "? - a\n: 1\n", "x: &x [1]\n*x : 2\n", "x: &x {a: 1}\n? *x\n: 2\n"],
)
def test_complex_keys_are_refused(text: str) -> None:
    result = outcome(lambda: loads(text, "f.yaml"), "f.yaml")
    assert isinstance(result, RthooksError) and "key must be a scalar" in result.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [*nope]\n", 1),
        ("a: &x [*x]\n", 1),
        ("a: &x 1\nb: &x 2\n", 2),
        ("a: 1\n---\nb: 2\n", 2),
        ("x: &m {a: 1}\ny: {<<: 3}\n", 2),
        ("x: {<<: [{a: 1}, 2]}\n", 1),
        ("a: b: c\n", 1),
    ],
)
def test_structural_errors_name_their_line(text: str, line: int) -> None:
    result = outcome(lambda: loads(text, "f.yaml"), "f.yaml")
    assert isinstance(result, RthooksError) and result.where == f"f.yaml:{line}", result


def test_control_characters_and_bad_utf8_name_their_line(scratch: Path) -> None:
    for text, line in [("a: 1\nb: x\x00y\n", 2), ("a: 1\n\nc: \x1b[31m\n", 3), ("a: \x7f\n", 1), ("a: \ud800\n", 1)]:
        result = outcome(functools.partial(loads, text, "f.yaml"), "f.yaml")
        assert isinstance(result, RthooksError) and result.where == f"f.yaml:{line}", (text, result)
    result = load_bytes(scratch, b"a: 1\nb: 2\nc: \xff\xfe\n")
    assert isinstance(result, RthooksError) and result.where == "f.yaml:3" and "UTF-8" in result.message


# --- files that are not files ----------------------------------------------------------------


def refused(path: Path, what: str) -> None:
    result = in_time(5, lambda: load(path, "f.yaml"))
    assert isinstance(result, RthooksError) and result.where == "f.yaml:0", result
    assert what in result.message, result


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    refused(fifo, "FIFO")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_character_device_is_refused() -> None:
    refused(Path("/dev/zero"), "character device")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    refused(tmp_path, "directory")


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    refused(tmp_path / "a.yaml", "cannot read")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    refused(tmp_path / "absent.yaml", "cannot read")


def test_an_oversize_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: costs no disk
    refused(big, "limit")
    assert isinstance(outcome(lambda: loads("a" * (MAX_BYTES + 1), "f.yaml"), "f.yaml"), RthooksError)


def test_a_file_at_the_cap_still_loads(tmp_path: Path) -> None:
    f = tmp_path / "edge.yaml"
    f.write_text("a: " + "x" * (MAX_BYTES - 4) + "\n")
    assert len(load(f)["a"]) == MAX_BYTES - 4


def test_a_symlink_to_a_regular_file_loads(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_text("a: 1\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert load(tmp_path / "link.yaml") == {"a": 1}


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "secret.yaml"
    f.write_text("a: 1\n")
    f.chmod(0)
    if os.access(f, os.R_OK):
        pytest.skip("running as root, which reads any file")
    refused(f, "cannot read")
