"""Typed matchers: one expectation of a case against what a run observed.

Each matcher returns None when it holds and a one-line reason when it does
not. References (``$name.field[0]``, ``stdout``, ``stderr``, ``exit``,
``signal``) resolve against :class:`Observed`. Files are checked by the
implementation-specific hook ``check_file`` (the Go implementation runs
``go tool pprof`` / ``go tool trace``).
"""

from __future__ import annotations

import errno
import itertools
import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rthooks import regex
from rthooks.protocol.refs import parse_ref

_MISSING = object()


@dataclass
class Observed:
    """Everything a case's expectations may refer to."""

    values: dict[str, Any] = field(default_factory=dict)  # bind name -> value
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)  # bind name -> raw step result
    stdout: str = ""
    stderr: str = ""
    exit_status: int | None = None
    signal: str | None = None
    workdir: Path | None = None
    build: str | None = None  # the build's error text, for cases that expect a failed build

    def resolve(self, ref: str) -> Any:
        if ref == "build":
            return self.build
        if ref == "stdout":
            return self.stdout
        if ref == "stderr":
            return self.stderr
        if ref == "exit":
            return self.exit_status
        if ref == "signal":
            return self.signal
        parsed = parse_ref(ref)
        if parsed is None or parsed.name not in self.values:
            return _MISSING
        name = parsed.name
        cur = self.values[name]
        for seg in parsed.path:
            i = seg.index
            if i is None:
                key = seg.text
                if isinstance(cur, list) and cur and all(isinstance(x, dict) and key in x for x in cur):
                    cur = [x[key] for x in cur]  # a repeated step: project the field over its samples
                elif isinstance(cur, dict) and key in cur:
                    cur = cur[key]
                elif (
                    isinstance(cur, dict)
                    and key in ("status", "error", "panic", "panic_type")
                    and name in self.statuses
                ):
                    cur = self.statuses[name].get(key)
                else:
                    return _MISSING
            elif isinstance(cur, list) and i < len(cur):
                cur = cur[i]
            else:
                return _MISSING
        return cur


def number(v: Any) -> float | int | None:
    """A JSON number, or a PROTOCOL.md float object, as a Python number."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, dict) and set(v) == {"float"}:
        return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(v["float"])
    return None


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 120 else s[:117] + "..."


FileChecker = Callable[[Path, str], str | None]


def evaluate(exp: dict[str, Any], obs: Observed, check_file: FileChecker | None = None) -> str | None:
    """None if ``exp`` holds for ``obs``; otherwise why not."""
    if "exit_status" in exp:
        want = exp["exit_status"]
        ok = obs.exit_status in want if isinstance(want, list) else obs.exit_status == want
        if not ok:
            how = f"signal {obs.signal}" if obs.signal else f"status {obs.exit_status}"
            return f"exit status: want {want}, process ended with {how}"
    if "signal" in exp and obs.signal != exp["signal"]:
        return f"signal: want {exp['signal']}, got {obs.signal or f'exit status {obs.exit_status}'}"
    if "relation" in exp:
        return _relation(exp["relation"], obs)
    if "file" in exp:
        return _file(exp["file"], obs, check_file)
    if "of" not in exp:
        return None
    ref = exp["of"]
    v = obs.resolve(ref)
    if v is _MISSING:
        return f"{ref}: not observed"
    for key, fn in _VALUE_MATCHERS.items():
        if key in exp:
            why = fn(v, exp[key])
            if why:
                return f"{ref}: {why}"
    return None


def _equals(v: Any, want: Any) -> str | None:
    if number(v) is not None and number(want) is not None:
        a, b = number(v), number(want)
        assert a is not None and b is not None
        if a == b or (math.isnan(a) and math.isnan(b)):
            return None
    elif v == want:
        return None
    return f"want {_short(want)}, got {_short(v)}"


def _not_equals(v: Any, want: Any) -> str | None:
    return None if _equals(v, want) else f"want anything but {_short(want)}"


def _one_of(v: Any, options: list[Any]) -> str | None:
    return None if any(_equals(v, o) is None for o in options) else f"want one of {_short(options)}, got {_short(v)}"


def _range(v: Any, bounds: list[Any]) -> str | None:
    x, lo, hi = number(v), number(bounds[0]), number(bounds[1])
    if x is None:
        return f"want a number in {bounds}, got {_short(v)}"
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        return f"want {bounds[0]} <= x <= {bounds[1]}, got {x}"
    return None


def _tolerance(v: Any, t: dict[str, Any]) -> str | None:
    x = number(v)
    if x is None:
        return f"want a number near {t['value']}, got {_short(v)}"
    allowed = max(float(t.get("abs", 0)), abs(t["value"]) * float(t.get("rel", 0)))
    return None if abs(x - t["value"]) <= allowed else f"want {t['value']} ± {allowed}, got {x}"


def _search(pat: str, text: str) -> Any:
    """RE2 (linear time, Go's syntax): a case's pattern cannot make the judge backtrack for minutes."""
    try:
        return regex.search(pat, text)
    except regex.RegexError as e:
        raise _BadPattern(f"pattern /{pat}/ cannot be used: {e}") from None


class _BadPattern(Exception):
    """A pattern that got past validation but RE2 refuses: the case is broken, not the implementation."""


def _regex(v: Any, pat: str) -> str | None:
    if not isinstance(v, str):
        return f"want text matching /{pat}/, got {_short(v)}"
    return None if _search(pat, v) else f"no match for /{pat}/ in {_short(v[-400:])}"


def _not_regex(v: Any, pat: str) -> str | None:
    if not isinstance(v, str):
        return None
    m = _search(pat, v)
    return f"unexpected match for /{pat}/: {_short(m.group(0))}" if m else None


def _contains(v: Any, item: Any) -> str | None:
    if isinstance(v, str) and isinstance(item, str):
        return None if item in v else f"want text containing {item!r}"
    if isinstance(v, (list, dict)):
        return None if item in v else f"want {_short(item)} in {_short(v)}"
    return f"cannot look for {_short(item)} in {_short(v)}"


def _monotonic(v: Any, direction: str) -> str | None:
    if not isinstance(v, list) or not v:
        return f"want a non-empty list of samples, got {_short(v)}"
    xs = [number(x) for x in v]
    if any(x is None for x in xs):
        return "samples are not all numbers"
    cmp: Callable[[Any, Any], bool] = {
        "increasing": lambda a, b: a < b,
        "nondecreasing": lambda a, b: a <= b,
        "decreasing": lambda a, b: a > b,
        "nonincreasing": lambda a, b: a >= b,
    }[direction]
    for i, (a, b) in enumerate(itertools.pairwise(xs)):
        if not cmp(a, b):
            return f"not {direction}: sample {i} = {a}, sample {i + 1} = {b}"
    return None


def _histogram(v: Any, shape: dict[str, Any]) -> str | None:
    if not isinstance(v, dict) or "counts" not in v or "buckets" not in v:
        return f"want a histogram, got {_short(v)}"
    counts, buckets = v["counts"], v["buckets"]
    if shape.get("buckets_len") == "counts+1" and len(buckets) != len(counts) + 1:
        return f"len(buckets) = {len(buckets)}, want len(counts)+1 = {len(counts) + 1}"
    if shape.get("sorted"):
        nums = [number(b) for b in buckets]
        if any(n is None for n in nums) or any(a >= b for a, b in itertools.pairwise(nums)):  # type: ignore[operator]
            return "bucket boundaries are not strictly increasing"
    if "min_total" in shape and sum(counts) < shape["min_total"]:
        return f"total count {sum(counts)} < {shape['min_total']}"
    return None


def _length(v: Any, want: int | list[int]) -> str | None:
    """The length of a list or string, or the number of buckets of a histogram's counts."""
    if isinstance(v, dict) and "counts" in v:
        v = v["counts"]
    if not isinstance(v, (list, str)):
        return f"want a list or string, got {_short(v)}"
    lo, hi = (want, want) if isinstance(want, int) else (want[0], want[1])
    if lo <= len(v) <= hi:
        return None
    return f"length {len(v)}, want {want}"


_VALUE_MATCHERS: dict[str, Callable[[Any, Any], str | None]] = {
    "equals": _equals,
    "not_equals": _not_equals,
    "one_of": _one_of,
    "range": _range,
    "tolerance": _tolerance,
    "regex": _regex,
    "not_regex": _not_regex,
    "contains": _contains,
    "monotonic": _monotonic,
    "histogram": _histogram,
    "length": _length,
}


def _relation(rel: dict[str, Any], obs: Observed) -> str | None:
    def side(x: Any) -> tuple[Any, str]:
        if isinstance(x, list):
            vals = [obs.resolve(r) for r in x]
            if any(v is _MISSING for v in vals):
                return _MISSING, f"{x}"
            nums = [number(v) for v in vals]
            if any(n is None for n in nums):
                return _MISSING, f"{x} (not numbers)"
            return sum(n for n in nums if n is not None), "+".join(x)
        if isinstance(x, str):
            v = obs.resolve(x)
            return v, x
        return x, repr(x)

    left, ln = side(rel["left"])
    right, rn = side(rel["right"])
    if left is _MISSING or right is _MISSING:
        return f"relation {ln} {rel['op']} {rn}: an operand was not observed"
    op = rel["op"]
    slack = _slack(rel.get("tolerance"))
    if rel.get("each"):
        return _relation_each(left, ln, op, right, rn, slack)
    why = _compare(left, op, right, slack)
    return None if why is None else f"relation {ln} {op} {rn} {why}: {_short(left)} vs {_short(right)}"


def _slack(tol: dict[str, Any] | None) -> Callable[[float, float], float]:
    """How far apart two numbers may be and still compare equal: max(abs, rel * max(|a|, |b|))."""
    if not tol:
        return lambda a, b: 0.0
    ab, rel = float(tol.get("abs", 0)), float(tol.get("rel", 0))
    return lambda a, b: max(ab, rel * max(abs(a), abs(b)))


def _compare(left: Any, op: str, right: Any, slack: Callable[[float, float], float]) -> str | None:
    """None if `left op right` holds (within the slack); else a short reason."""
    a, b = number(left), number(right)
    if op in ("==", "sum==", "!="):
        eq = (a == b or abs(a - b) <= slack(a, b)) if a is not None and b is not None else left == right
        ok = eq if op != "!=" else not eq
    else:
        if a is None or b is None:
            return "has operands that are not numbers"
        s = slack(a, b)
        ok = {"<": a < b + s, "<=": a <= b + s, ">": a + s > b, ">=": a + s >= b}[op]
    return None if ok else "does not hold"


def _relation_each(
    left: Any, ln: str, op: str, right: Any, rn: str, slack: Callable[[float, float], float]
) -> str | None:
    """Element by element over two lists of the same length (a histogram compares its counts)."""

    def elems(v: Any) -> list[Any] | None:
        if isinstance(v, dict) and "counts" in v:
            return list(v["counts"])
        return list(v) if isinstance(v, list) else None

    xs, ys = elems(left), elems(right)
    if xs is None or ys is None:
        return f"relation {ln} {op} {rn} (each): both sides must be lists or histograms"
    if len(xs) != len(ys):
        return f"relation {ln} {op} {rn} (each): lengths differ ({len(xs)} vs {len(ys)})"
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if _compare(x, op, y, slack) is not None:
            return f"relation {ln} {op} {rn} does not hold at element {i}: {_short(x)} vs {_short(y)}"
    return None


FILE_READ_CAP = 64 << 20  # bytes of a written file the judge reads for a regex


def _open_case_file(workdir: Path, name: str) -> tuple[int | None, str | None]:
    """Open ``name`` inside ``workdir`` for reading: a relative path, no symlink on the way, a regular file.

    Each component is opened relative to its parent with O_NOFOLLOW, and the last
    with O_NONBLOCK, so a symlink to /etc/passwd, a FIFO (which would block the
    judge for good) or a device (/dev/zero, endless) planted by the
    implementation is refused before anything is read.
    """
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in name:
        return None, "not a plain relative path inside the case directory"
    try:
        dirfd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        return None, f"cannot open the case directory: {e.strerror}"
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dirfd)
            os.close(dirfd)
            dirfd = nxt
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dirfd)
    except FileNotFoundError:
        return None, "not written"
    except OSError as e:
        if e.errno == errno.ELOOP or e.errno == errno.ENOTDIR:
            return None, "a symbolic link or not a directory on the way: refused"
        return None, f"cannot open: {e.strerror}"
    finally:
        os.close(dirfd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None, "not a regular file: refused"
    return fd, None


def _file(spec: dict[str, Any], obs: Observed, check_file: FileChecker | None) -> str | None:
    if obs.workdir is None:
        return f"file {spec['path']}: no working directory"
    fd, why = _open_case_file(obs.workdir, str(spec["path"]))
    if fd is None:
        return f"file {spec['path']}: {why}"
    path = obs.workdir / spec["path"]
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if spec.get("nonempty") and size == 0:
            return f"file {spec['path']}: empty"
        if spec.get("regex") or spec.get("not_regex"):
            data = f.read(FILE_READ_CAP + 1)
            if len(data) > FILE_READ_CAP:
                return f"file {spec['path']}: larger than {FILE_READ_CAP} bytes, too large to match"
            text = data.decode("utf-8", "replace")
            if spec.get("regex") and not _search(spec["regex"], text):
                return f"file {spec['path']}: no match for /{spec['regex']}/"
            if spec.get("not_regex") and (m := _search(spec["not_regex"], text)):
                return f"file {spec['path']}: unexpected match for /{spec['not_regex']}/: {_short(m.group(0))}"
    if spec.get("readable_by"):
        if check_file is None:
            return f"file {spec['path']}: no {spec['readable_by']} available to read it"
        return check_file(path, spec["readable_by"])
    return None
