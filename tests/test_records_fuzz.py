"""Run records from anywhere, fed to every report command: a clear one-line refusal or a safe report.

Records come back from CI artefacts, other machines and strangers' bug reports. Each generated
record goes to ``rthooks report`` (all four formats), ``report diff``, ``report merge`` and
``report trend`` through the CLI's Python entry point (rthooks.cli.main), under a watchdog. A
record that is not a run record must end each command with exit status 1 or 2 and exactly one
line on stderr naming the file (``rthooks: FILE[:LINE]: message``), never a traceback, never a
hang. A record that is still valid after a mutation must give a report that is safe: no raw
terminal controls on stdout or stderr, well-formed JUnit XML, JSON that parses, HTML without
control characters.

The fixture is tests/fixtures/record-small.json: ``rthooks run --impl oracle=1.21 --impl oracle
-k debug-setgcpercent-returns -k debug-setgcpercent-negative`` (two implementations, two cases).
RTHOOKS_FUZZ_EXAMPLES scales the number of examples of each generated kind (default 60).
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import json
import lzma
import os
import re
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rthooks.cli import main
from rthooks.errors import RthooksError
from rthooks.protocol import record as rec
from rthooks.protocol.schemas import harness_schema, load
from rthooks.text import json_for_console, printable, xml_safe
from tests.conftest import watchdog

FIXTURE = Path(__file__).parent / "fixtures" / "record-small.json"
BASE: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
FORMATS = ["--format", "html", "--format", "md", "--format", "junit", "--format", "json"]
COMMANDS = ("report", "diff", "merge", "trend")
#: Seconds one command may take on a generated record (they take milliseconds; a hang is caught).
DEADLINE_S = 30.0
EXAMPLES = int(os.environ.get("RTHOOKS_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the watchdog below bounds each command, including the first (which loads the spec)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)
#: Raw code points that must never reach a terminal (json.dumps escapes C0 itself).
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


class Hang(Exception):
    """A command ran past DEADLINE_S."""


@dataclass
class Outcome:
    argv: list[str]
    status: int
    stdout: str
    stderr: str
    seconds: float


def invoke(argv: list[str]) -> Outcome:
    """``rthooks ARGV`` in-process; any exception but SystemExit (argparse) fails the test with its traceback."""
    out, err = io.StringIO(), io.StringIO()
    t0 = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), watchdog(DEADLINE_S, Hang):
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 2
    return Outcome(argv, status, out.getvalue(), err.getvalue(), time.monotonic() - t0)


def run_commands(path: Path, work: Path, fmt: str = "text") -> dict[str, Outcome]:
    """Every report command on the record at ``path`` (diff and trend beside the fixture)."""
    fixture = str(FIXTURE)
    argvs = {
        "report": ["report", str(path), *FORMATS, "--out", str(work / "out")],
        "diff": ["report", "diff", fixture, str(path), "--format", "json" if fmt == "json" else "text"],
        "merge": ["report", "merge", str(path), "--out", str(work / "merged.json")],
        "trend": ["report", "trend", fixture, str(path), "--format", fmt],
    }
    return {name: invoke(argv) for name, argv in argvs.items()}


def assert_refused(o: Outcome, name: str) -> str:
    """The command refused the record: exit 1 or 2, one line on stderr naming the file, no traceback."""
    assert o.status in (1, 2), (o.argv, o.status, o.stdout[-500:], o.stderr[-2000:])
    assert "Traceback" not in o.stderr
    lines = o.stderr.splitlines()
    assert len(lines) == 1, (o.argv, o.stderr[-2000:])
    line = lines[0]
    assert line.startswith("rthooks: ") and name in line, (name, line)
    assert not RAW_CONTROL.search(line), line
    assert len(line) < 3000
    return line


def assert_safe(o: Outcome, command: str, work: Path) -> None:
    """The command either refused the record in one line, or did its work with safe output."""
    assert o.seconds < DEADLINE_S
    assert "Traceback" not in o.stderr
    assert not RAW_CONTROL.search(o.stdout), (o.argv, RAW_CONTROL.search(o.stdout))
    assert not RAW_CONTROL.search(o.stderr), (o.argv, o.stderr[-500:])
    ok = o.status == 0 or (command == "diff" and o.status == 1 and o.stdout and not o.stderr)
    if not ok:
        assert o.status in (1, 2), (o.argv, o.status)
        lines = o.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("rthooks: "), (o.argv, o.stderr[-2000:])
        return
    if command == "report":
        out = work / "out"
        ET.parse(out / "junit.xml")
        json.loads((out / "report.json").read_text(encoding="utf-8"))
        for name in ("index.html", "report.md"):
            text = (out / name).read_text(encoding="utf-8")
            assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]", text), name
    elif command == "merge":
        rec.read(work / "merged.json")  # what merge writes, the reader takes
    elif "--format" in o.argv and o.argv[o.argv.index("--format") + 1] == "json":
        json.loads(o.stdout)


def check_refused_everywhere(data: bytes, suffix: str = ".json") -> None:
    with tempfile.TemporaryDirectory(prefix="rthooks-fuzz-") as tmp:
        work = Path(tmp)
        path = work / f"bad{suffix}"
        path.write_bytes(data)
        for command, o in run_commands(path, work).items():
            assert_refused(o, path.name)
            if command == "report":
                assert not (work / "out" / "index.html").exists()
            if command == "merge":
                assert not (work / "merged.json").exists()


def check_safe_everywhere(data: bytes, fmt: str) -> None:
    with tempfile.TemporaryDirectory(prefix="rthooks-fuzz-") as tmp:
        work = Path(tmp)
        path = work / "mutated.json"
        path.write_bytes(data)
        for command, o in run_commands(path, work, fmt).items():
            assert_safe(o, command, work)
            event(f"{command}: {'refused' if o.stderr.startswith('rthooks: ') and o.status else 'done'}")


# ---- building records ----------------------------------------------------------------------------


def paths_of(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a JSON value (the value itself first)."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, (*path, i))


ALL_PATHS = [p for p in paths_of(BASE) if p]


def put(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return data


PLACEHOLDER = "\x00rthooks-placeholder\x00"


def with_text_at(path: tuple[Any, ...], token: str) -> bytes:
    """The fixture as JSON text with ``token`` (raw JSON text, possibly not JSON at all) at ``path``."""
    text = json.dumps(put(copy.deepcopy(BASE), path, PLACEHOLDER))
    return text.replace(json.dumps(PLACEHOLDER), token).encode()


# ---- malformed records: each must be refused by every command ------------------------------------


@SETTINGS
@given(st.binary(max_size=3000), st.sampled_from([".json", ".json.gz", ".json.xz"]), st.integers(0, 3))
def test_random_bytes_are_refused(data: bytes, suffix: str, how: int) -> None:
    if suffix == ".json.gz" and how == 1:
        data = gzip.compress(data)
    elif suffix == ".json.xz" and how == 1:
        data = lzma.compress(data)
    elif suffix != ".json" and how == 2:  # a valid compressed record cut short
        whole = gzip.compress(FIXTURE.read_bytes()) if suffix == ".json.gz" else lzma.compress(FIXTURE.read_bytes())
        data = whole[: len(data) % (len(whole) - 1)]
    check_refused_everywhere(data, suffix)


@SETTINGS
@given(
    st.integers(0, len(FIXTURE.read_bytes())),
    st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"]),
)
def test_bytes_that_are_not_utf8_are_refused_with_their_line(at: int, junk: bytes) -> None:
    raw = FIXTURE.read_bytes()
    data = raw[:at] + junk + raw[at:]
    lineno = raw[:at].count(b"\n") + 1
    with tempfile.TemporaryDirectory(prefix="rthooks-fuzz-") as tmp:
        path = Path(tmp) / "latin.json"
        path.write_bytes(data)
        line = assert_refused(invoke(["report", "trend", str(path)]), path.name)
        assert f"latin.json:{lineno}: not UTF-8" in line
    check_refused_everywhere(data)


@SETTINGS
@given(st.sampled_from(ALL_PATHS), st.integers(rec.MAX_DEPTH, 5000), st.booleans())
def test_deep_nesting_is_refused(path: tuple[Any, ...], depth: int, objects: bool) -> None:
    token = '{"a":' * depth + "0" + "}" * depth if objects else "[" * depth + "]" * depth
    check_refused_everywhere(with_text_at(path, token))


@SETTINGS
@given(st.sampled_from(ALL_PATHS), st.integers(rec.MAX_INT_DIGITS + 1, 30_000), st.booleans())
def test_huge_integers_are_refused(path: tuple[Any, ...], digits: int, negative: bool) -> None:
    check_refused_everywhere(with_text_at(path, ("-" if negative else "") + "9" * digits))


@SETTINGS
@given(st.sampled_from(ALL_PATHS), st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1E+400", "1e309"]))
def test_nan_and_infinity_are_refused(path: tuple[Any, ...], token: str) -> None:
    check_refused_everywhere(with_text_at(path, token))


# ---- wrong types at every position the result schema constrains --------------------------------

#: Values tried at each position; a position gets every one its subschema refuses.
WRONG: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**30,
    "",
    "x",
    "\x1b[2J",
    [],
    [1],
    {},
    {"a": 1},
    "0/3",
    "4/3",
    "1/100000000000",
    "10001/10001",
    1e10,
]


def schema_positions(
    sch: dict[str, Any], value: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Each position of the fixture with the subschema that constrains it."""
    if any(k in sch for k in ("type", "enum", "const", "pattern", "maximum", "maxItems")):
        yield path, sch
    if isinstance(value, dict):
        for k, sub in sch.get("properties", {}).items():
            if k in value:
                yield from schema_positions(sub, value[k], (*path, k))
    if isinstance(value, list) and isinstance(sch.get("items"), dict):
        for i, x in enumerate(value):
            yield from schema_positions(sch["items"], x, (*path, i))


def wrong_records() -> list[tuple[str, Any]]:
    full = load(harness_schema("result.schema.json"))
    out: list[tuple[str, Any]] = []
    for path, sub in schema_positions(full, BASE):
        check = jsonschema.Draft202012Validator({**sub, "$defs": full.get("$defs", {})})
        for v in WRONG:
            if not check.is_valid(v) or (path == ("shard",) and v in ("4/3",)):
                out.append((f"{'/'.join(map(str, path)) or 'top'}={v!r:.20}", put(copy.deepcopy(BASE), path, v)))
    for path in [p for p in ALL_PATHS if len(p) <= 3 and isinstance(p[-1], str)]:  # required keys missing
        parent = BASE
        for k in path[:-1]:
            parent = parent[k]
        sub = full if len(path) == 1 else full["properties"][path[0]]["items"]
        if path[-1] in sub.get("required", []):
            data = copy.deepcopy(BASE)
            node = data
            for k in path[:-1]:
                node = node[k]
            del node[path[-1]]
            out.append((f"without {'/'.join(map(str, path))}", data))
    for where in ((), ("implementations", 0), ("results", 0)):  # a property the schema does not have
        data = copy.deepcopy(BASE)
        node = data
        for k in where:
            node = node[k]
        node["extra\x1b[31m"] = 1
        out.append((f"extra key at {where}", data))
    return out


WRONG_RECORDS = wrong_records()


def test_wrong_types_at_every_schema_position_are_refused() -> None:
    assert len(WRONG_RECORDS) > 300  # every position, many values each
    for label, data in WRONG_RECORDS:
        try:
            check_refused_everywhere(json.dumps(data).encode())
        except AssertionError as e:
            raise AssertionError(f"{label}: {e}") from None


# ---- structural mutations of a real record: refused in one line, or rendered safely -------------

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x9b2J",
    "\u202eevil",
    "\x00nul",
    "\ud800",
    "\udfff\ud800",
    "</script><script>alert(1)</script>",
    "<!-- -->]]>&amp;",
    "| a | `b` *c* _d_ [e](f)",
    "\ufffe\uffff",
    "line\r\nline\u2028",
    "x" * 70_000,  # over STRING_CAP
    "💥" * 1000,
]
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(codec=None, exclude_categories=()), max_size=50))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=20,
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The fixture after 1 to 6 random edits, serialised as JSON (sometimes cut short)."""
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 6))):
        paths = [p for p in paths_of(data) if p]
        kind = draw(st.sampled_from(["set", "delete", "status", "text", "dup", "drop", "impl", "shard"]))
        if kind in ("set", "text", "delete") and paths:
            path = draw(st.sampled_from(paths))
            if kind == "delete":
                node = data
                for k in path[:-1]:
                    node = node[k]
                del node[path[-1]]
            else:
                put(data, path, draw(JSON_VALUES if kind == "set" else TEXT))
        elif kind == "status" and isinstance(data.get("results"), list) and data["results"]:
            r = draw(st.sampled_from(data["results"]))
            if isinstance(r, dict):
                r["status"] = draw(
                    st.sampled_from(["pass", "fail", "skip", "xfail", "xpass", "error", "timeout", "crash"])
                )
        elif kind == "dup" and isinstance(data.get("results"), list) and data["results"]:
            data["results"].append(copy.deepcopy(draw(st.sampled_from(data["results"]))))
        elif kind == "drop" and isinstance(data.get("results"), list) and data["results"]:
            data["results"].pop(draw(st.integers(0, len(data["results"]) - 1)))
        elif kind == "impl" and isinstance(data.get("implementations"), list) and data["implementations"]:
            first = data["implementations"][0]
            data["implementations"].append({**(first if isinstance(first, dict) else {}), "name": draw(TEXT)})
        elif kind == "shard":
            data["shard"] = draw(st.sampled_from([None, "1/2", "2/2", "1/1", "10000/10000", "3/2", "0/1"]))
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    raw = text.encode("utf-8", "surrogatepass")  # a raw surrogate: not UTF-8, which the reader refuses
    if draw(st.integers(0, 9)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@settings(SETTINGS, max_examples=EXAMPLES * 3)
@given(mutated(), st.sampled_from(["text", "md", "json"]))
def test_mutated_records_are_refused_or_rendered_safely(data: bytes, fmt: str) -> None:
    check_safe_everywhere(data, fmt)


# ---- specific hostile records ----------------------------------------------------------------------


def write_record(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_fifo_a_folder_and_a_device_are_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path, Path("/dev/zero"), Path("/dev/null")):
        for command, o in {
            "report": invoke(["report", str(path), "--out", str(tmp_path / "out")]),
            "diff": invoke(["report", "diff", str(FIXTURE), str(path)]),
            "merge": invoke(["report", "merge", str(path), "--out", str(tmp_path / "m.json")]),
            "trend": invoke(["report", "trend", str(path)]),
        }.items():
            line = assert_refused(o, str(path))
            assert "cannot read" in line, (command, line)


def test_the_empty_name_is_refused(tmp_path: Path) -> None:
    o = invoke(["report", "trend", ""])
    assert o.status == 2 and o.stderr.count("\n") == 1 and "empty" in o.stderr


def _zeros_compressed(kind: str, size: int) -> bytes:
    chunk = b"\0" * (1 << 20)
    if kind == "gz":
        z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return b"".join([*(z.compress(chunk) for _ in range(size >> 20)), z.flush()])
    x = lzma.LZMACompressor(preset=0)
    return b"".join([*(x.compress(chunk) for _ in range(size >> 20)), x.flush()])


@pytest.mark.parametrize("kind", ["gz", "xz"])
def test_decompression_bombs_are_refused_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.setattr(rec, "MAX_RECORD_BYTES", 8 << 20)  # the real cap is 256 MiB; the logic is the same
    bomb = tmp_path / f"bomb.json.{kind}"
    bomb.write_bytes(_zeros_compressed(kind, 64 << 20))
    assert bomb.stat().st_size < 1 << 20
    for argv in (
        ["report", str(bomb), "--out", str(tmp_path / "out")],
        ["report", "diff", str(bomb), str(FIXTURE)],
        ["report", "merge", str(bomb), "--out", str(tmp_path / "m.json")],
        ["report", "trend", str(bomb)],
    ):
        o = invoke(argv)
        assert "decompresses to over" in assert_refused(o, bomb.name)
        assert o.seconds < 5


def test_an_oversize_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rec, "MAX_RECORD_BYTES", 4096)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 5000 + FIXTURE.read_bytes())
    assert "too large" in assert_refused(invoke(["report", "trend", str(big)]), big.name)
    # Together the records of one command are capped the same way.
    assert "with the records before it" in assert_refused(
        invoke(["report", "trend", str(FIXTURE), str(FIXTURE), str(FIXTURE)]), str(FIXTURE)
    )


def test_a_huge_shard_count_is_refused_before_merge_counts_shards(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["shard"] = "1/100000000000"
    path = write_record(tmp_path / "shard.json", data)
    o = invoke(["report", "merge", str(path), "--out", str(tmp_path / "m.json")])
    assert "shard" in assert_refused(o, path.name) and o.seconds < 5
    data["shard"] = "1/10000"  # the largest N a record may have: merge notes the missing shards, briefly
    path = write_record(tmp_path / "shard.json", data)
    o = invoke(["report", "merge", str(path), "--out", str(tmp_path / "m.json")])
    assert o.status == 0 and "2/10000, 3/10000" in o.stderr and "and 9989 more" in o.stderr and o.seconds < 5


def test_a_lone_surrogate_and_terminal_controls_in_a_record_render_safely(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    r = data["results"][0]
    r["status"], r["reasons"] = "fail", ["\x1b]0;owned\x07 reason \ud800"]
    r["observed"]["stdout"] = "\udfff\ud800 lone \x1b[2J\x9b31m"  # reversed: two lone surrogates, not a pair
    r["observed"]["stderr"] = "panic: \u202eevil\n\x00"
    r["case"] = "case-\x1b[31m-red"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data), encoding="ascii")  # \ud800 escapes: a lone surrogate once parsed
    got = rec.read(path)
    assert "\ufffd\ufffd lone" in got["results"][0]["observed"]["stdout"]
    for command, o in run_commands(path, tmp_path).items():
        assert_safe(o, command, tmp_path)
        assert o.status in (0, 1), (command, o.stderr)
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "case-\\x1b[31m-red" in html and "\x1b" not in html
    trend = invoke(["report", "trend", str(FIXTURE), str(path)])
    assert "case-\\x1b[31m-red" in trend.stdout
    diff = invoke(["report", "diff", str(FIXTURE), str(path)])
    assert "case-\\x1b[31m-red" in diff.stdout and "\x1b" not in diff.stdout
    diff = invoke(["report", "diff", str(FIXTURE), str(path), "--format", "json"])
    assert "\x1b" not in diff.stdout and "\x9b" not in diff.stdout  # JSON escapes: the same strings, safe to print
    entry = next(e for e in json.loads(diff.stdout)["entries"] if e["case"] == "case-\x1b[31m-red")
    assert entry["reasons"] == ["\x1b]0;owned\x07 reason \ufffd"]


def test_too_many_implementations_are_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    r = data["results"][0]
    data["results"] = [{**r, "impl": f"impl-{n}"} for n in range(rec.MAX_IMPLS + 1)]
    path = write_record(tmp_path / "many.json", data)
    assert "implementations" in assert_refused(invoke(["report", "trend", str(path)]), path.name)


def test_a_record_too_large_to_report_is_refused_in_one_line(tmp_path: Path) -> None:
    """Valid records whose matrix would have millions of cells (unknown spec items x implementations)."""
    data = copy.deepcopy(BASE)
    base = data["results"][0]
    impls = [{**data["implementations"][0], "name": f"i{n}"} for n in range(60)]
    data["implementations"] = impls
    covers = [[f"item{c}-{k}#x" for k in range(10_000)] for c in range(2)]
    data["results"] = [
        {**base, "case": f"case-{c}", "impl": i["name"], "covers": covers[c]} for c in range(2) for i in impls
    ]
    path = write_record(tmp_path / "wide.json", data)
    o = invoke(["report", str(path), "--out", str(tmp_path / "out")])
    assert o.status == 2 and o.stderr.count("\n") == 1 and "too large to report" in o.stderr, o.stderr
    assert o.seconds < 20
    o = invoke(["report", "trend", str(path)])
    assert o.status == 2 and "too large to report" in o.stderr


# ---- clean_result --------------------------------------------------------------------------------


def hostile_result() -> dict[str, Any]:
    loop: list[Any] = []
    loop.append(loop)
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    return {
        "case": "c\ud800",
        "impl": "i",
        "status": "fail",
        "reasons": ["r" * 200_000, 5, None],
        "expected": [],
        "covers": ["a#b"],
        "known": None,
        "duration_s": float("nan"),
        "process_s": float("inf"),
        "observed": {
            "stdout": "o" * 7_000_000,
            "stderr": "é" * 100_000 + "\udc80",
            "steps": [
                {"value": float("nan")},
                {"value": float("inf")},
                {"value": -float("inf")},
                {"value": 2**5000},
                {"value": deep},
                {"value": loop},
                {"value": {1: "int key", None: "none key", (1, 2): "tuple key"}},
                {"value": b"bytes", "set": {1, 2}},
                {"value": list(range(50_000))},
            ],
        },
    }


def test_clean_result_bounds_and_fixes_hostile_values(tmp_path: Path) -> None:
    dirty = hostile_result()
    clean = rec.clean_result(dirty)
    # Strict JSON (no NaN, no huge int, no object), UTF-8 (no lone surrogate), as the record holds it.
    text = json.dumps(clean, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    assert len(text.encode("utf-8")) < rec.RESULT_CAP + 4096
    obs = clean["observed"]
    assert obs["stdout"].startswith("o" * 1000) and obs["stdout"].endswith(
        "…[rthooks: truncated, 7000000 bytes in all]"
    )
    assert len(obs["stdout"].encode()) <= rec.STRING_CAP + 100
    assert "\udc80" not in obs["stderr"] and clean["case"] == "c\ufffd"
    steps = obs["steps"]
    assert [s["value"] for s in steps[:3]] == [{"float": "NaN"}, {"float": "+Inf"}, {"float": "-Inf"}]
    assert "5001 bits" in steps[3]["value"]
    assert clean["duration_s"] == 0.0 and clean["process_s"] is None
    assert clean["reasons"][0].endswith("200000 bytes in all]") and clean["reasons"][1:] == ["5", "null"]
    # Depth: a 200-deep list and a list that contains itself stop at DEPTH_CAP with a marker.
    depth, v = 0, steps[4]["value"]
    while isinstance(v, list):
        depth, v = depth + 1, v[0]
    assert depth < rec.DEPTH_CAP and "nested more than" in v
    # The budget ran out before the 50,000 numbers: the list ends with a marker.
    assert re.fullmatch(r"…\[rthooks: \d+ more items left out\]", steps[-1]["value"][-1]), steps[-1]["value"][-3:]
    # The cleaned result goes into a record that reads back and renders.
    record = {**copy.deepcopy(BASE), "results": [{**BASE["results"][0], **clean, "impl": "oracle-go1.21"}]}
    rec.write(record, tmp_path / "clean.json")
    assert rec.read(tmp_path / "clean.json")["results"][0]["case"] == "c\ufffd"
    for command, o in run_commands(tmp_path / "clean.json", tmp_path).items():
        assert_safe(o, command, tmp_path)
        assert o.status in (0, 1)


def test_clean_result_leaves_ordinary_results_alone() -> None:
    for r in BASE["results"]:
        assert rec.clean_result(r) == r


@SETTINGS
@given(JSON_VALUES, JSON_VALUES)
def test_clean_result_always_gives_strict_json(observed: Any, expected: Any) -> None:
    clean = rec.clean_result({**BASE["results"][0], "observed": observed, "expected": expected})
    json.dumps(clean, allow_nan=False).encode("utf-8")
    jsonschema.validate(
        {**BASE, "results": [clean]},
        load(harness_schema("result.schema.json")),
    )


# ---- write ------------------------------------------------------------------------------------------


def test_records_are_written_with_ordinary_permissions_and_strict_json(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("r.json", "r.json.gz", "r.json.xz"):
        rec.write(BASE, tmp_path / name)
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
        assert rec.read(tmp_path / name) == BASE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.json.gz", "r.json.xz"]  # no temp file left
    bad = {**BASE, "results": [{**BASE["results"][0], "duration_s": float("nan")}]}
    with pytest.raises(RthooksError, match="cannot write the record"):
        rec.write(bad, tmp_path / "nan.json")
    assert not (tmp_path / "nan.json").exists()


# ---- rthooks.text ------------------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)


@SETTINGS
@given(ANY_TEXT, st.none() | st.integers(0, 50), st.booleans())
def test_printable_leaves_nothing_a_terminal_acts_on(s: str, limit: int | None, lines: bool) -> None:
    out = printable(s, limit, lines=lines)
    assert not RAW_CONTROL.search(out) and not re.search("[\u2028\u2029\u061c\u200e\u200f]", out)
    out.encode("utf-8")  # no lone surrogate left
    assert lines or "\n" not in out
    if limit is not None and len(s) > limit:
        assert out.endswith("…")
    if not RAW_CONTROL.search(s) and "\n" not in s and not re.search("[\u2028\u2029\u061c\u200e\u200f]", s):
        assert printable(s) == s  # ordinary text is left alone


@SETTINGS
@given(ANY_TEXT)
def test_json_for_console_and_xml_safe_keep_the_document_valid(s: str) -> None:
    text = json_for_console(json.dumps({"s": s}, ensure_ascii=False))
    assert not RAW_CONTROL.search(text) and json.loads(text) == {"s": s}  # the same value, safe to print
    el = ET.Element("t", attr=xml_safe(s))
    el.text = xml_safe(s)
    ET.fromstring(ET.tostring(el, encoding="unicode").encode("utf-8", "surrogatepass"))
