"""The YAML loader: same values and line tables as the former PyYAML loader, and its caching.

``_reference_loads`` below is the former loader (a pure-Python SafeLoader subclass), kept here
only to prove that the libyaml-based loader gives every file of the repository exactly the same
data: values with their types, key order, and every line table.
"""

from __future__ import annotations

import datetime
import math
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import yaml

from rthooks import yamlsrc
from rthooks.errors import RthooksError
from rthooks.yamlsrc import VERSION_KEYS, Node, Seq, line_of, load, loads

ROOT = Path(__file__).resolve().parent.parent
REPO_YAML = sorted(p.relative_to(ROOT) for p in [*(ROOT / "spec").rglob("*.yaml"), *(ROOT / "cases").rglob("*.yaml")])


# --- the former loader, verbatim but for names ------------------------------------------------


class _RefLoader(yaml.SafeLoader):
    source_name = "?"


_RefLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RefLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _ref_mapping(loader: _RefLoader, node: yaml.MappingNode) -> Node:
    out = Node()
    out.file = loader.source_name
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in VERSION_KEYS and isinstance(value_node, yaml.ScalarNode):
            value_node = yaml.ScalarNode("tag:yaml.org,2002:str", value_node.value, value_node.start_mark)
        if key in out:
            raise RthooksError(f"duplicate key {key!r}", where=f"{loader.source_name}:{key_node.start_mark.line + 1}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


def _ref_sequence(loader: _RefLoader, node: yaml.SequenceNode) -> Seq:
    out = Seq(loader.construct_object(child, deep=True) for child in node.value)
    out.file = loader.source_name
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_RefLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _ref_mapping)
_RefLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _ref_sequence)


def _reference_loads(text: str, name: str = "<string>") -> Any:
    loader = _RefLoader(text)
    loader.source_name = name
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise RthooksError(f"malformed YAML: {e.problem}", where=f"{name}:{mark.line + 1 if mark else 0}") from None
    finally:
        loader.dispose()


# --- deep comparison -----------------------------------------------------------------------


def assert_same(new: Any, ref: Any, where: str = "$") -> None:
    """Equal values of the same types, same key order, same positions, all the way down."""
    assert type(new) is type(ref), f"{where}: {type(new).__name__} != {type(ref).__name__}"
    if isinstance(ref, Node):
        assert list(new) == list(ref), f"{where}: keys {list(new)} != {list(ref)}"
        assert (new.file, new.line, new.key_lines) == (ref.file, ref.line, ref.key_lines), f"{where}: positions"
        for key in ref:
            assert_same(new[key], ref[key], f"{where}.{key}")
    elif isinstance(ref, Seq):
        assert len(new) == len(ref), f"{where}: length"
        assert (new.file, new.line, new.item_lines) == (ref.file, ref.line, ref.item_lines), f"{where}: positions"
        for i, (a, b) in enumerate(zip(new, ref, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(ref, float) and math.isnan(ref):
        assert math.isnan(new), where
    elif isinstance(ref, datetime.datetime):
        assert (new, new.tzinfo) == (ref, ref.tzinfo), where
    else:
        assert new == ref, f"{where}: {new!r} != {ref!r}"


# --- equivalence on the repository ------------------------------------------------------------


@pytest.mark.parametrize("rel", REPO_YAML, ids=str)
def test_every_repo_file_loads_as_before(rel: Path) -> None:
    text = (ROOT / rel).read_text(encoding="utf-8")
    assert_same(loads(text, str(rel)), _reference_loads(text, str(rel)))


def test_the_repo_has_yaml_to_compare() -> None:
    # Guards the parametrized test above against silently comparing nothing.
    assert len(REPO_YAML) >= 20 and any(p.parts[0] == "cases" for p in REPO_YAML)


# Constructs the repository does not use (yet), each compared against the former loader.
SNIPPETS = [
    "",
    "# only a comment\n",
    "---\n",
    "--- 3\n...\n",
    "- a\n- b\n",
    "plain string at the top\n",
    "a: ~\nb: null\nc: Null\nd:\ne: NULL\n",
    "a: 0o17\nb: 017\nc: 0x1F\nd: 0b101\ne: 1_000\nf: -12\ng: +7\nh: 1:30\ni: 0\n",
    "a: 1.5\nb: -.inf\nc: .NaN\nd: 1_0.5\ne: 1e5\nf: 1.0e+5\ng: 1:30.5\nh: .5\ni: 6.\n",
    "a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.1234567\nd: 2001-12-15T02:59:43Z\n",
    "a: !!binary aGVsbG8gd29ybGQ=\nb: !!str 12\nc: !!int '7'\nd: !!float '1'\ne: !!bool yes\nf: !!null x\n",
    "a: ! 12\nb: ! '12'\nc: '12'\nd: \"true\"\ne: !!timestamp 2020-01-02\n",
    "a: yes\nb: No\nc: ON\nd: off\ne: y\nf: n\ng: true\nh: FALSE\n",
    "since: 1.20\nremoved: 1.21.0\ngo: 1.9\nuntil: ~\nrelease: !!int 3\ngo_bin: [1.2]\n",
    "base: &b {x: 1, since: 1.10}\nuse: *b\nlist: [*b, *b]\n",
    "v: &v 1.20\nsince: *v\nother: *v\n",
    "since: &v 1.20\nother: *v\n",
    "k: &k key\n*k : value\n",
    "d: &d {a: 1, b: 2}\ne: {<<: *d, c: 3}\n",
    "d: &d {a: 1}\ne:\n  <<: *d\n  <<: {z: 2}\n",
    "n: &n {<<: {deep: 1}, own: 2}\nm: {<<: *n}\n",
    "=: equals key\n",
    "3: int key\n2.5: float key\ntrue: bool key\n~: null key\n2020-01-02: date key\n",
    "a: |\n  line one\n  line two\nb: >\n  folded\n  text\nc: 'it''s'\nd: \"tab\\tnew\\nline\"\n",
    "a:\n- x: 1\n  y:\n  - 2\n  - z: [3, {w: 4}]\n",
    "? a\n: 1\n? b\n",
    "a: x\r\nb:\r\n  - y\r\n",
    "\ufeffa: bom\n",
    "x: &s [1, 2]\ny: *s\nz: [*s, *s]\n",
    "a: !!seq [1, 2]\nb: !!map {c: 3}\nc: !!str\n",
]


@pytest.mark.parametrize("text", SNIPPETS)
def test_snippets_load_as_before(text: str) -> None:
    assert_same(loads(text, "s.yaml"), _reference_loads(text, "s.yaml"))


@pytest.mark.parametrize("text", SNIPPETS)
def test_the_pure_python_parser_fallback_builds_the_same(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Where PyYAML has no libyaml, yamlsrc reads PyYAML's own (slower) event stream instead.
    monkeypatch.setattr(yamlsrc, "_PARSER", yaml.SafeLoader)
    assert_same(loads(text, "s.yaml"), _reference_loads(text, "s.yaml"))


# PyYAML 6.0.3 changed how lists of merged mappings flatten (listed order; the same pair once).
_MERGE_ORDER_AS_NOW = tuple(int(x) for x in yaml.__version__.split(".")[:3]) >= (6, 0, 3)


@pytest.mark.skipif(not _MERGE_ORDER_AS_NOW, reason="the reference loader flattens merge lists differently")
@pytest.mark.parametrize(
    "text",
    [
        "d: &d {a: 1}\nf: &f {b: 2}\ng:\n  <<: [*d, *f]\n  c: 3\n",
        "d: &d {alpha: 1}\ne: {<<: [*d, *d], z: 2}\n",
        "i: &i {deep: 1}\nn: &n {<<: *i, own: 2}\nm: {<<: [*n, *i]}\n",
    ],
)
def test_merge_lists_load_as_before(text: str) -> None:
    assert_same(loads(text, "s.yaml"), _reference_loads(text, "s.yaml"))


def test_one_key_from_two_merged_mappings_is_a_duplicate() -> None:
    text = "d: &d {alpha: 1}\nf: &f {alpha: 2}\ng: {<<: [*d, *f]}\n"
    with pytest.raises(RthooksError, match=r"^f.yaml:2: duplicate key 'alpha'$"):
        loads(text, "f.yaml")
    with pytest.raises(RthooksError, match=r"duplicate key 'alpha'"):
        _reference_loads(text, "f.yaml")


# --- behaviour spelled out -----------------------------------------------------------------


def test_lines_are_remembered() -> None:
    data = loads("a: 1\nb:\n  - x: 1\n    y: 2\n", "f.yaml")
    assert line_of(data, ["b", 0, "y"]) == 4
    assert line_of(data, ["b", 0]) == 3
    assert (data.file, data.line, data.key_lines) == ("f.yaml", 1, {"a": 1, "b": 2})
    assert (data["b"].line, data["b"].item_lines) == (3, [3])


def test_versions_stay_strings_other_floats_do_not() -> None:
    data = loads("since: 1.20\ngoline: 1.21\ntolerance: {value: 2, rel: 0.03}\n")
    assert data["since"] == "1.20" and data["goline"] == "1.21"
    assert data["tolerance"]["rel"] == 0.03


def test_versions_stay_strings_through_aliases_and_merges() -> None:
    data = loads("v: &v 1.20\nsince: *v\nbase: &b {removed: 1.30}\nitem: {<<: *b, kind: x}\n")
    assert data["v"] == 1.2 and data["since"] == "1.20"
    assert data["item"] == {"removed": "1.30", "kind": "x"}


def test_duplicate_key_is_an_error_with_its_line() -> None:
    with pytest.raises(RthooksError, match=r"^f.yaml:3: duplicate key 'a'$"):
        loads("a: 1\nb: 2\na: 3\n", "f.yaml")


def test_a_key_repeated_by_a_merge_is_a_duplicate_as_before() -> None:
    text = "d: &d {a: 1}\ne:\n  <<: *d\n  a: 2\n"
    with pytest.raises(RthooksError, match=r"^f.yaml:4: duplicate key 'a'$"):
        loads(text, "f.yaml")
    with pytest.raises(RthooksError, match=r"^f.yaml:4: duplicate key 'a'$"):
        _reference_loads(text, "f.yaml")


def test_malformed_yaml_is_one_line() -> None:
    with pytest.raises(RthooksError) as e:
        loads("a: [1\nb: 2\n", "f.yaml")
    assert str(e.value).startswith("f.yaml:") and "\n" not in str(e.value)


def test_only_yaml12_booleans() -> None:
    data = loads("a: off\nb: on\nc: yes\nd: true\ne: False\n")
    assert data == {"a": "off", "b": "on", "c": "yes", "d": True, "e": False}


def test_a_top_level_that_is_not_a_mapping_loads() -> None:
    assert loads("- 1\n- 2\n") == [1, 2]
    assert loads("just text\n") == "just text"
    assert loads("") is None


# --- the cache -----------------------------------------------------------------------------


def test_load_parses_a_file_once_per_content_and_name(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("a: [1, 2]\n")
    first = load(f, "c.yaml")
    assert load(f, "c.yaml") is first
    other_name = load(f, "elsewhere.yaml")
    assert other_name is not first and other_name == first and other_name.file == "elsewhere.yaml"
    f.write_text("a: [1, 3]\n")
    changed = load(f, "c.yaml")
    assert changed is not first and changed == {"a": [1, 3]}


def test_the_cache_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsrc, "_CACHE_ENTRIES", 3)
    f = tmp_path / "c.yaml"
    for i in range(10):
        f.write_text(f"n: {i}\n")
        assert load(f)["n"] == i
    assert len(yamlsrc._CACHE) <= 3


def test_display_name_is_relative_under_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "spec").mkdir()
    f = tmp_path / "spec" / "x.yaml"
    f.write_text("a: 1\n")
    monkeypatch.chdir(tmp_path)
    assert yamlsrc.display_name(f) == "spec/x.yaml"
    assert yamlsrc.display_name(Path("spec/x.yaml")) == "spec/x.yaml"
    assert yamlsrc.display_name(Path("/elsewhere/y.yaml")) == "/elsewhere/y.yaml"
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    assert yamlsrc.display_name(tmp_path / "loop.yaml") == str(tmp_path / "loop.yaml")  # no crash


def test_commands_share_one_parse_and_leave_it_unmodified(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Validation, the spec index, case loading, coverage and oracle runs all read the cached
    objects; none may change them (a change would leak into every later reader)."""
    from rthooks.harness import cases as case_mod
    from rthooks.harness.coverage import coverage
    from rthooks.harness.impls import OracleImpl
    from rthooks.harness.runner import run_one
    from rthooks.spec.lint import lint_paths
    from rthooks.spec.lint.engine import project_paths
    from rthooks.spec.load import default_spec, load_spec

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(yamlsrc, "_CACHE", OrderedDict())  # earlier tests may have loaded these files
    monkeypatch.setenv("RTHOOKS_CACHE", str(tmp_path))  # and earlier processes: an empty disk cache
    default_spec.cache_clear()  # the oracle reads the spec through default_spec(): from this cache too
    parses: list[str] = []
    real_loads = yamlsrc.loads

    def counting_loads(text: str, name: str = "<string>") -> Any:
        parses.append(name)
        return real_loads(text, name)

    monkeypatch.setattr(yamlsrc, "loads", counting_loads)

    assert lint_paths() == []
    spec = load_spec()
    cases = case_mod.load_cases()
    coverage(spec, cases)
    for item in spec:
        item.at(None)
    impl = OracleImpl(spec.releases[-1])
    for case in cases[:: max(1, len(cases) // 25)]:
        run_one(impl, case, spec)

    assert sorted(parses) == sorted(set(parses)), "a file was parsed twice"
    names = [yamlsrc.display_name(path) for path in project_paths()]
    assert set(names) <= set(parses)
    for path, name in zip(project_paths(), names, strict=True):
        assert_same(load(path, name), real_loads(path.read_text(encoding="utf-8"), name))


# --- the on-disk cache -------------------------------------------------------------------------


def big_yaml(tag: str = "") -> str:
    """A file over the disk-cache threshold with every kind of value the JSON form must carry."""
    row = (
        "  - {{id: k{i}{tag}, n: {i}, f: 1.5, nan: .nan, inf: -.inf, t: true, z: ~, since: 1.20, gogc: off,"
        " day: 2020-01-02, at: 2020-01-02 03:04:05.25+05:30, utc: 2020-01-02T03:04:05Z, blob: !!binary aGk=,"
        " list: [a, {{b: c}}], empty: {{}}, none: []}}\n"
    )
    text = "shared: &s {x: 1}\nuses: [*s, *s]\nitems:\n" + "".join(row.format(i=i, tag=tag) for i in range(120))
    assert len(text.encode()) >= yamlsrc.DISK_CACHE_MIN_BYTES
    return text


def disk_entries(cache: Path) -> list[Path]:
    return sorted((cache / "yaml").glob("*.json")) if (cache / "yaml").is_dir() else []


@pytest.mark.parametrize(
    "rel", [p for p in REPO_YAML if (ROOT / p).stat().st_size >= yamlsrc.DISK_CACHE_MIN_BYTES], ids=str
)
def test_big_repo_files_survive_the_disk_form(rel: Path) -> None:
    import json

    value = loads((ROOT / rel).read_text(encoding="utf-8"), str(rel))
    blob = json.dumps(yamlsrc._encode(value))
    assert_same(json.loads(blob, object_pairs_hook=yamlsrc._decoder(str(rel))), value)


def test_a_later_process_reads_the_disk_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("RTHOOKS_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "big.yaml"
    f.write_text(big_yaml())
    first = load(f, "big.yaml")
    (entry,) = disk_entries(tmp_path / "cache")
    json.loads(entry.read_bytes().partition(b"\n")[2])  # plain JSON under a checksum: nothing in it can run

    yamlsrc._CACHE.clear()  # as a new process

    def no_parse(text: str, name: str = "<string>") -> Any:
        raise AssertionError("parsed although the disk cache had the file")

    monkeypatch.setattr(yamlsrc, "loads", no_parse)
    again = load(f, "other-name.yaml")  # one entry serves every name; each object names its own
    assert_same(again, _reference_loads(f.read_text(), "other-name.yaml"))
    assert again["items"][0]["at"] == first["items"][0]["at"]


def test_a_damaged_or_foreign_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTHOOKS_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "big.yaml"
    f.write_text(big_yaml())
    want = load(f, "big.yaml")
    (entry,) = disk_entries(tmp_path / "cache")
    good = entry.read_bytes()
    flipped = good.replace(b'"k7"', b'"k8"', 1)
    assert flipped != good
    for damage in [flipped, good[: len(good) // 2], b"", b"\n{}"]:
        entry.write_bytes(damage)
        yamlsrc._CACHE.clear()
        assert_same(load(f, "big.yaml"), want)
    for damage in ['{"\\u0000line": 1, "\\u0000keys": [1, 2]}', '{"truncated', "[1, 2", '{"\\u0000bytes": "%%%"}', ""]:
        entry.write_text(damage)
        yamlsrc._CACHE.clear()
        assert_same(load(f, "big.yaml"), want)
    monkeypatch.setattr(yamlsrc, "_loader_key", lambda: "another-loader")
    yamlsrc._CACHE.clear()
    assert_same(load(f, "big.yaml"), want)
    assert len(disk_entries(tmp_path / "cache")) == 2  # entries of another loader are never read


def test_values_json_cannot_carry_still_load_uncached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTHOOKS_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "big.yaml"
    f.write_text(big_yaml() + "3: an int key\n")
    assert load(f)[3] == "an int key"
    g = tmp_path / "nul.yaml"
    g.write_text(big_yaml() + '"\\0line": a key that looks like a marker\n')
    assert load(g)["\0line"].startswith("a key")
    assert disk_entries(tmp_path / "cache") == []


def test_an_unusable_cache_folder_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("RTHOOKS_CACHE", str(blocker))
    f = tmp_path / "big.yaml"
    f.write_text(big_yaml())
    assert len(load(f)["items"]) == 120


def test_the_disk_cache_is_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTHOOKS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(yamlsrc, "_DISK_ENTRIES", 3)
    for i in range(6):
        f = tmp_path / f"big{i}.yaml"
        f.write_text(big_yaml(tag=f"-{i}"))
        load(f)
    assert len(disk_entries(tmp_path / "cache")) == 3
