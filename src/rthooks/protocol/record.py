"""The result record (harness/schema/result.schema.json): the one reader and writer of run records.

Core, so the harness (which writes records) and the reports (which read them) share it without
importing each other; the harness adds only what it knows, the spec revision of the run.

Records come back from other machines, CI artefacts and strangers' bug reports, and the values in
them come from implementations under test, so both directions are defensive:

* ``clean_result`` bounds what one result can put in a record (strings, lists, depth, integers,
  floats JSON cannot spell, code points UTF-8 cannot encode), so a record always serialises as
  strict JSON and renders.
* ``write`` writes strict JSON atomically (a reader never sees half a file), compressed when the
  name ends in ``.xz`` or ``.gz``, with the permissions of any file the user creates.
* ``read`` refuses, as one line naming the file, anything that is not a bounded, strict,
  schema-valid record: a FIFO or a device, a file or a decompressed stream over the size cap,
  bytes that are not UTF-8, NaN and Infinity, integers of hundreds of digits, nesting deeper than
  any record has, and values the schema bounds because they drive work (a shard's ``N``, the number
  of implementations).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import itertools
import json
import lzma
import math
import os
import re
import reprlib
import secrets
import stat
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from rthooks import __version__
from rthooks.errors import RthooksError
from rthooks.protocol.results import CaseResult, Implementation, Record
from rthooks.protocol.schemas import result_validator
from rthooks.text import no_surrogates, printable

SCHEMA_VERSION = 1

# ---- what one result may hold (clean_result) -----------------------------------------------------
#: Bytes (UTF-8) kept of one string; the rest is replaced by a marker that says how long it was.
STRING_CAP = 64 * 1024
#: About how many bytes of compact JSON one result may take in all (the largest result of the
#: published matrix takes 56 KB); once spent, lists and objects are cut with a marker.
RESULT_CAP = 256 * 1024
#: Items kept of one list, keys of one object (the published matrix's longest list has 301).
LIST_CAP = 10_000
#: Levels of nesting kept inside one result's values (the published matrix nests 9 deep).
DEPTH_CAP = 32
#: Bits of an integer (Go's integers have 64; a longer one is not data but a runaway).
INT_BITS_CAP = 1024
#: The object key that carries a marker where an object's keys were cut.
MORE_KEYS = "…[rthooks: truncated]"

# ---- what a record may hold (read) ---------------------------------------------------------------
#: Bytes of a record file, and of a compressed record once decompressed (the published matrix, 870
#: cases on eight implementations, is 10 MB).
MAX_RECORD_BYTES = 256 * 1024 * 1024
#: Memory the xz decoder may use (xz -9 needs 65 MiB; a crafted header can ask for gigabytes).
XZ_MEMLIMIT = 128 * 1024 * 1024
#: Nesting levels of a whole record (results sit 3 deep, their values at most DEPTH_CAP + 1 more).
MAX_DEPTH = DEPTH_CAP + 8
#: Digits of an integer in a record (a result holds at most INT_BITS_CAP bits, about 309 digits).
MAX_INT_DIGITS = 400
#: The most shards a run can be split into (``--shard K/N``: N at most this).
MAX_SHARDS = 10_000
#: Implementation names in one record (described, or named by a result), and results (the schema
#: says both too).
MAX_IMPLS = 64
MAX_RESULTS = 250_000


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_record(implementations: list[Implementation], spec_revision: str, shard: str | None = None) -> Record:
    """An empty record of a run that starts now (the harness gives the spec revision it ran)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "rthooks_version": __version__,
        "spec_revision": spec_revision,
        "started": now(),
        "finished": None,
        "interrupted": False,
        "shard": shard,
        "implementations": implementations,
        "results": [],
    }


# ==== clean_result ===================================================================================


def _truncated(total: int) -> str:
    return f"…[rthooks: truncated, {total} bytes in all]"


_TOO_DEEP = f"…[rthooks: nested more than {DEPTH_CAP} levels deep, left out]"
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 200


class _Cleaner:
    """One pass over a result's values, spending a byte budget (about their compact JSON size)."""

    def __init__(self, budget: int) -> None:
        self.left = budget

    def value(self, v: Any, depth: int) -> Any:
        if v is None or isinstance(v, bool):
            self.left -= 6
            return v
        if isinstance(v, int):
            if v.bit_length() > INT_BITS_CAP:
                return self.string(f"…[rthooks: an integer of {v.bit_length()} bits, left out]")
            self.left -= 2 + v.bit_length() // 3
            return int(v)  # an IntEnum or bool-like subclass serialises as a plain number
        if isinstance(v, float):
            self.left -= 24
            if math.isnan(v):
                return {"float": "NaN"}
            if math.isinf(v):
                return {"float": "+Inf" if v > 0 else "-Inf"}
            return float(v)
        if isinstance(v, str):
            return self.string(v)
        if isinstance(v, dict | list | tuple) and depth >= DEPTH_CAP:
            return self.string(_TOO_DEEP)
        if isinstance(v, dict):
            return self.mapping(v, depth)
        if isinstance(v, list | tuple):
            return self.sequence(v, depth)
        try:  # not JSON data (bytes, a set, an object): shown, not stored as what it was
            text = _repr.repr(v)
        except Exception:
            text = f"<{type(v).__name__}>"
        return self.string(text)

    def string(self, s: str, cap: int = STRING_CAP) -> str:
        room = max(0, min(cap, self.left))
        if len(s) * 4 <= room:  # fits whatever the encoding: no need to measure
            out = no_surrogates(s)
        else:
            data = s.encode("utf-8", "surrogatepass")
            if len(data) <= room:
                out = no_surrogates(s)
            else:
                # Cut at a character boundary ("ignore" drops a split character's first bytes).
                head = data[:room].decode("utf-8", "ignore")
                out = no_surrogates(head) + _truncated(len(data))
        self.left -= 2 + len(out) + (len(out.encode("utf-8")) - len(out) if not out.isascii() else 0)
        return out

    def key(self, k: Any) -> str:
        if isinstance(k, str):
            return self.string(k, 1024)
        if k is None or isinstance(k, bool | int | float):  # as json.dumps spells such keys
            return self.string(json.dumps(k) if isinstance(k, bool) or k is None else repr(k), 1024)
        return self.string(_repr.repr(k), 1024)

    def mapping(self, v: dict[Any, Any], depth: int) -> dict[str, Any]:
        self.left -= 2
        out: dict[str, Any] = {}
        kept = 0
        for k, x in v.items():
            if kept >= LIST_CAP or self.left <= 0:
                break
            key = self.key(k)  # first: the key is what says what the (possibly cut) value was
            out[key] = self.value(x, depth + 1)
            kept += 1
        if kept < len(v):
            out[MORE_KEYS] = f"{len(v) - kept} more keys left out"
            self.left -= 60
        return out

    def sequence(self, v: list[Any] | tuple[Any, ...], depth: int) -> list[Any]:
        self.left -= 2
        out: list[Any] = []
        for x in v:
            if len(out) >= LIST_CAP or self.left <= 0:
                break
            out.append(self.value(x, depth + 1))
            self.left -= 1
        if len(out) < len(v):
            out.append(f"…[rthooks: {len(v) - len(out)} more items left out]")
            self.left -= 60
        return out


#: The order a result's fields spend the budget in: what identifies the result and why it ended
#: as it did first, the (possibly huge) observed values last.
_FIRST = ("case", "impl", "status", "known", "reasons", "covers", "duration_s", "process_s", "expected")


#: The most seconds a duration may say (the schema's maximum: about 32 years).
MAX_SECONDS = 1e9


def _seconds(v: Any, default: float | None) -> float | None:
    """A duration as the schema takes it (a number from 0 to MAX_SECONDS), else ``default``."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= MAX_SECONDS:  # NaN fails too
        return default
    return v


def clean_result(result: Mapping[str, Any]) -> CaseResult:
    """A copy of ``result`` that is safe to store, serialise as strict JSON and render.

    Every string is cut to STRING_CAP bytes and the whole result to about RESULT_CAP bytes (a
    cut string ends in ``…[rthooks: truncated, N bytes in all]``, a cut list in a string item
    ``…[rthooks: N more items left out]``, a cut object in a ``…[rthooks: truncated]`` key);
    lists and objects keep at most LIST_CAP items and DEPTH_CAP levels; lone surrogates become
    U+FFFD; NaN and ±Inf become the protocol's ``{"float": "NaN"}``, ``{"float": "+Inf"}``,
    ``{"float": "-Inf"}``; an integer of more than INT_BITS_CAP bits, or a value that is not
    JSON data, becomes a string saying what it was. The fields the schema types (case, impl,
    reasons, covers, known, duration_s, process_s, expected, observed) keep their types.
    """
    c = _Cleaner(RESULT_CAP)
    order = [k for k in _FIRST if k in result] + [k for k in result if k not in _FIRST]
    cleaned: dict[str, Any] = {}
    for k in order:
        v = result[k]
        if k == "duration_s":
            cleaned[k] = _seconds(v, 0.0)
        elif k == "process_s":
            cleaned[k] = _seconds(v, None)
        elif k in ("case", "impl") or (k == "known" and v is not None):
            cleaned[k] = c.string(v if isinstance(v, str) else json.dumps(c.value(v, 1)), 4096)
        elif k in ("reasons", "covers"):
            items = c.value(v if isinstance(v, list | tuple) else [v], 0)
            cleaned[k] = [x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in items]
        elif k == "expected" and not isinstance(v, list | tuple):
            cleaned[k] = [c.value(v, 1)]
        elif k == "observed" and not isinstance(v, dict):
            cleaned[k] = {"value": c.value(v, 1)}
        else:
            cleaned[k] = c.value(v, 0)
    # The fields the schema types keep their types (above), so the cleaned row is a CaseResult.
    return cast(CaseResult, {k if isinstance(k, str) else str(k): cleaned[k] for k in result})


# ==== write ==========================================================================================

#: Compressed record files: every reader takes them, ``write`` writes them by the name's suffix. xz
#: suits records best (results of one case on several implementations repeat far apart).
COMPRESSED = (".xz", ".gz")


def _serialise(record: Record) -> bytes:
    """Strict JSON: the record's header one field a line, then one result a line.

    One result a line keeps the file readable and diffable with line tools, and lets the C
    encoder do the work (an indented dump of a 10 MB record takes seconds in pure Python).
    """
    head = {k: v for k, v in record.items() if k != "results"}
    parts = ["{"]
    for k, v in head.items():
        parts.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, allow_nan=False)},")
    results = record.get("results") or []
    parts.append(' "results": [')
    for n, r in enumerate(results):
        line = json.dumps(r, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        parts.append("  " + line + ("," if n < len(results) - 1 else ""))
    parts.append(" ]")
    parts.append("}")
    text = "\n".join(parts) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate that did not go through clean_result
        return no_surrogates(text).encode("utf-8")


def check_out(path: Path | str, what: str = "--out") -> Path:
    """``path`` if a file can be written there, else an RthooksError (exit 2) saying why.

    Checked before a run starts, so that a bad ``--out`` costs nothing: the name is not empty,
    not a folder, not too long; its folder exists and takes a new file (tried by creating and
    removing a probe file, which also catches read-only mounts and /proc); what is there already
    is a regular file (replacing a device or a FIFO is never what was meant). Creates nothing
    that stays.
    """
    text = os.fspath(path)
    if not text:
        raise RthooksError(f"{what}: the file name is empty")
    if "\0" in text:
        raise RthooksError(f"{what}: the file name holds a NUL byte")
    shown = printable(text, 200)
    if text.endswith(os.sep) or os.path.isdir(text):
        raise RthooksError(f"{what} {shown}: is a folder (give the record's file name)")
    p = Path(text)
    folder = p.parent
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX") if folder.is_dir() else 255
    except (OSError, ValueError):
        name_max = 255
    if len(os.fsencode(p.name)) > name_max:
        raise RthooksError(f"{what}: the file name is longer than {name_max} bytes")
    if len(os.fsencode(text)) >= 4096:
        raise RthooksError(f"{what}: the path is longer than 4095 bytes")
    if not folder.is_dir():
        raise RthooksError(f"{what} {shown}: no such folder {printable(str(folder), 200)}")
    try:
        st = os.stat(text)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise RthooksError(f"{what} {shown}: {e.strerror}") from None
    else:
        if not stat.S_ISREG(st.st_mode):
            raise RthooksError(f"{what} {shown}: exists and is not a regular file")
    probe = folder / f".rthooks-probe-{secrets.token_hex(6)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise RthooksError(
            f"{what} {shown}: cannot create a file in {printable(str(folder), 200)}: {e.strerror}"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return p


def write(record: Record, path: Path | str) -> None:
    """Write the record atomically: strict JSON (``*.xz`` / ``*.gz`` compressed), permissions 0666 less
    the umask (0644 usually) like any file the user creates; a problem is one RthooksError line.

    The data goes to a temporary file in the same folder, renamed over ``path`` only once
    complete, so a reader (or a crash) never sees half a record; the temporary file is removed on
    any failure.
    """
    name = os.fspath(path)
    try:
        body = _serialise(record)
    except (ValueError, TypeError, RecursionError) as e:  # NaN, a huge int, an object: not from clean_result
        raise RthooksError(f"cannot write the record: {printable(str(e), 200)}", where=printable(name)) from None
    if name.endswith(".xz"):
        body = lzma.compress(body, preset=6)
    elif name.endswith(".gz"):
        body = gzip.compress(body, compresslevel=6, mtime=0)
    p = Path(name)
    tmp = p.parent / f".rthooks-{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, p)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise RthooksError(f"cannot write: {e.strerror or e}", where=printable(name)) from None


# ==== read ===========================================================================================


class _Refused(ValueError):
    """A value the reader refuses while parsing (raised from json.loads' hooks)."""


def _constant(token: str) -> Any:
    raise _Refused(f"{token} is not a JSON number (a record is strict JSON)")


def _float(text: str) -> float:
    f = float(text)
    if not math.isfinite(f):
        raise _Refused(f"the number {text[:40]} is out of range")
    return f


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _read_bytes(name: str, limit: int) -> bytes:
    """The file's bytes, read in chunks; refused up front if not a regular file or over ``limit``."""
    try:
        st = os.stat(name)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise RthooksError(f"cannot read: {kind}", where=name)
        # O_NONBLOCK: should the name have become a FIFO since the stat, open does not wait for a writer.
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise RthooksError(f"cannot read: {e.strerror or e}", where=name) from None
    except ValueError:  # a NUL in the name
        raise RthooksError("cannot read: the name holds a NUL byte", where=name) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RthooksError("cannot read: not a regular file", where=name)
        if st.st_size > limit:
            raise RthooksError(f"too large: {st.st_size} bytes (a record may have {limit})", where=name)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # it grew since the stat
                raise RthooksError(f"too large: over {limit} bytes", where=name)
            chunks.append(chunk)
    except OSError as e:
        raise RthooksError(f"cannot read: {e.strerror or e}", where=name) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def _inflate(raw: bytes, name: str, limit: int) -> bytes:
    """``raw`` decompressed (xz or gzip by the name; several concatenated streams too), never more
    than ``limit`` bytes of output: a small file that inflates to gigabytes is refused early."""
    kind = "xz" if name.endswith(".xz") else "gz"
    out = bytearray()
    data = raw
    if not data:
        raise RthooksError(f"cannot read: not valid {kind} data (empty)", where=name)
    try:
        while True:
            if kind == "xz":
                dx = lzma.LZMADecompressor(memlimit=XZ_MEMLIMIT)
                while True:
                    out += dx.decompress(data, max_length=limit + 1 - len(out))
                    data = b""
                    if len(out) > limit:
                        raise RthooksError(f"too large: decompresses to over {limit} bytes", where=name)
                    if dx.eof:
                        data = dx.unused_data
                        break
                    if dx.needs_input:
                        raise EOFError("truncated")
            else:
                dz = zlib.decompressobj(16 + zlib.MAX_WBITS)
                while True:
                    out += dz.decompress(data, limit + 1 - len(out))
                    data = dz.unconsumed_tail
                    if len(out) > limit:
                        raise RthooksError(f"too large: decompresses to over {limit} bytes", where=name)
                    if dz.eof:
                        data = dz.unused_data
                        break
                    if not data:
                        raise EOFError("truncated")
            if not data.strip(b"\0"):  # the end, or the zero padding both formats allow
                return bytes(out)
    except (EOFError, lzma.LZMAError, zlib.error) as e:
        raise RthooksError(f"cannot read: not valid {kind} data ({e or 'truncated'})", where=name) from None


def _depth_ok(data: Any, most: int) -> bool:
    """Whether no value in ``data`` nests deeper than ``most`` (iteratively: no recursion limit)."""
    if not isinstance(data, dict | list):
        return True
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        v, d = stack.pop()
        if d > most:
            return False
        for x in v.values() if isinstance(v, dict) else v:
            if isinstance(x, dict | list):
                stack.append((x, d + 1))
    return True


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _replace_surrogates(data: Any) -> Any:
    """``data`` with lone surrogates (from ``\\udXXX`` escapes) in strings and keys replaced by U+FFFD."""
    if isinstance(data, str):
        return no_surrogates(data)
    stack = [data]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            for i, x in enumerate(v):
                if isinstance(x, str):
                    v[i] = no_surrogates(x)
                elif isinstance(x, dict | list):
                    stack.append(x)
        elif isinstance(v, dict):
            for k in list(v):
                x = v[k]
                if isinstance(x, str):
                    x = no_surrogates(x)
                elif isinstance(x, dict | list):
                    stack.append(x)
                if isinstance(k, str) and (k2 := no_surrogates(k)) != k:
                    del v[k]
                    k = k2
                v[k] = x
    return data


def parse(raw: bytes, name: str) -> Any:
    """Bytes of a record file as strict JSON: UTF-8, no NaN or Infinity, no huge integers, bounded depth."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise RthooksError(
            f"not UTF-8 (byte {e.start + 1}: {raw[e.start : e.start + 1]!r})", where=f"{name}:{line}"
        ) from None
    try:
        data = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as e:
        raise RthooksError(f"not JSON: {e.msg} (column {e.colno})", where=f"{name}:{e.lineno}") from None
    except _Refused as e:
        raise RthooksError(f"not a run record: {e}", where=name) from None
    except (ValueError, RecursionError, MemoryError) as e:  # the int-digits limit, nesting past the stack
        why = "nested too deep" if isinstance(e, RecursionError) else printable(str(e), 120)
        raise RthooksError(f"not a run record: {why}", where=name) from None
    if not _depth_ok(data, MAX_DEPTH):
        raise RthooksError(f"not a run record: values nested more than {MAX_DEPTH} levels deep", where=name)
    if _SURROGATE_ESCAPE.search(text):
        data = _replace_surrogates(data)
    return data


def _location(path: Any) -> str:
    return "/".join(printable(str(p), 60) for p in path) or "top level"


def validate(data: Any, name: str) -> Record:
    """``data`` if it is a run record (the schema, then the bounds it cannot say), else one line naming ``name``."""
    errors = list(itertools.islice(result_validator().iter_errors(data), 20))
    if errors:
        first = min(errors, key=lambda e: [str(p) for p in e.absolute_path])
        where = _location(first.absolute_path)
        raise RthooksError(f"not a run record ({where}: {printable(first.message, 120)})", where=name)
    assert isinstance(data, dict)
    shard = data.get("shard")
    if shard is not None:
        k, n = (int(x) for x in shard.split("/"))
        if not 1 <= k <= n:
            raise RthooksError(f"not a run record (shard {shard}: K must be between 1 and N)", where=name)
    names = {i["name"] for i in data["implementations"]}
    for r in data["results"]:
        names.add(r["impl"])
        if len(names) > MAX_IMPLS:
            raise RthooksError(f"not a run record (more than {MAX_IMPLS} implementations)", where=name)
    return cast(Record, data)  # the schema (result.schema.json) is what the Record type mirrors


def read(path: Path | str, *, limit: int | None = None) -> Record:
    """Read and validate a record (``*.xz`` and ``*.gz`` decompressed); any problem is one RthooksError
    line naming the file (``file: message`` or ``file:line: message``). ``limit``: the most bytes the
    record may have, compressed and decompressed (default MAX_RECORD_BYTES)."""
    return read_sized(path, limit=limit)[0]


def read_sized(path: Path | str, *, limit: int | None = None) -> tuple[Record, int]:
    """``read``, and the record's size in bytes (decompressed), for a caller that budgets several records."""
    limit = MAX_RECORD_BYTES if limit is None else limit
    name = os.fspath(path)
    if not name:
        raise RthooksError("cannot read a record: the file name is empty")
    shown = printable(name)
    try:
        raw = _read_bytes(name, limit)
        if name.endswith(COMPRESSED):
            raw = _inflate(raw, name, limit)
        return validate(parse(raw, name), name), len(raw)
    except RthooksError as e:
        if e.where is not None and e.where.startswith(name):
            e = RthooksError(e.message, where=shown + e.where[len(name) :], status=e.status)
        raise e from None
    except MemoryError:
        raise RthooksError("cannot read: out of memory", where=shown) from None
