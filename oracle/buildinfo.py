"""runtime/debug build information: ReadBuildInfo, BuildInfo.String, ParseBuildInfo.

String and ParseBuildInfo are ports of runtime/debug/mod.go (identical in go1.21-go1.27 apart
from struct tags); the value ReadBuildInfo returns is godebugmodel.build_info (the driver as the
harness builds it, DefaultGODEBUG included).
"""

from __future__ import annotations

import json
from typing import Any

from rthooks.oracle import godebugmodel
from rthooks.oracle.registry import step
from rthooks.oracle.state import OracleRuntime, StepError, Unsupported
from rthooks.protocol.refs import parse_ref

DRIVER = "rthooks.dev/driver"


def _quote(s: str) -> str:
    """strconv.Quote for the printable ASCII cases the model meets."""
    return json.dumps(s, ensure_ascii=False)


def _quote_key(k: str) -> bool:
    return not k or any(c in k for c in '= \t\r\n"`')


def _quote_value(v: str) -> bool:
    return any(c in v for c in ' \t\r\n"`')


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


def _quoted_prefix(s: str) -> str | None:
    """strconv.QuotedPrefix for the string forms a build line may use: `raw` or "interpreted"."""
    if s[:1] == "`":
        end = s.find("`", 1)
        return s[: end + 1] if end > 0 else None
    if s[:1] != '"':
        return None
    i = 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return s[: i + 1]
        if c == "\n":
            return None
        i += 2 if c == "\\" else 1
    return None


def _unquote(q: str) -> str | None:
    """strconv.Unquote of exactly one quoted string (None where Go reports ErrSyntax)."""
    if _quoted_prefix(q) != q:
        return None
    if q[0] == "`":
        return q[1:-1].replace("\r", "")
    body, out, i = q[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1 : i + 2]
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
            i += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(e)
        if width is not None:
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                return None
            n = int(digits, 16)
            if e == "x" and n >= 0x80:
                raise Unsupported("the oracle does not model \\x escapes of non-ASCII bytes in build info")
            if n > 0x10FFFF or 0xD800 <= n < 0xE000:
                return None
            out.append(chr(n))
            i += 2 + width
            continue
        if e and e in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
                return None
            if int(digits, 8) >= 0x80:
                raise Unsupported("the oracle does not model octal escapes of non-ASCII bytes in build info")
            out.append(chr(int(digits, 8)))
            i += 4
            continue
        return None  # \' and unknown escapes are invalid in an interpreted string
    return "".join(out)


def _go_q_byte(c: str) -> str:
    """fmt's %q of a byte, for the printable ASCII characters the model meets."""
    if not (" " <= c <= "~"):
        raise Unsupported(f"the oracle does not format the byte {c!r} with %q")
    return "'\\''" if c == "'" else ("'\\\\'" if c == "\\" else f"'{c}'")


def _module(m: Any) -> dict[str, Any]:
    m = m or {}
    return {
        "Path": m.get("Path", ""),
        "Version": m.get("Version", ""),
        "Sum": m.get("Sum", ""),
        "Replace": _module(m["Replace"]) if m.get("Replace") else None,
    }


def to_string(bi: dict[str, Any]) -> str:
    out = []
    if bi.get("GoVersion"):
        out.append(f"go\t{bi['GoVersion']}\n")
    if bi.get("Path"):
        out.append(f"path\t{bi['Path']}\n")

    def fmt(word: str, m: dict[str, Any]) -> None:
        out.append(f"{word}\t{m['Path']}\t{m['Version']}")
        if m["Replace"] is None:
            out.append(f"\t{m['Sum']}")
        else:
            out.append("\n")
            fmt("=>", m["Replace"])
        out.append("\n")  # after a replacement this makes an empty line, as Go does

    main = _module(bi.get("Main"))
    if main != _module(None):
        fmt("mod", main)
    for d in bi.get("Deps") or []:
        fmt("dep", _module(d))
    for s in bi.get("Settings") or []:
        k, v = s.get("Key", ""), s.get("Value", "")
        k = _quote(k) if _quote_key(k) else k
        v = _quote(v) if _quote_value(v) else v
        out.append(f"build\t{k}={v}\n")
    return "".join(out)


class _Malformed(Exception):
    pass


def parse(data: str) -> dict[str, Any]:
    bi: dict[str, Any] = {"GoVersion": "", "Path": "", "Main": _module(None), "Deps": None, "Settings": None}
    last: dict[str, Any] | None = None

    def modline(elem: list[str]) -> dict[str, Any]:
        if len(elem) not in (2, 3):
            raise _Malformed(f"expected 2 or 3 columns; got {len(elem)}")
        return {"Path": elem[0], "Version": elem[1], "Sum": elem[2] if len(elem) == 3 else "", "Replace": None}

    lineno = 1
    try:
        while data:
            line, sep, data = data.partition("\n")
            if not sep:
                break
            if line.startswith("path\t"):
                bi["Path"] = line[5:]
            elif line.startswith("mod\t"):
                bi["Main"] = last = modline(line[4:].split("\t"))
            elif line.startswith("dep\t"):
                last = modline(line[4:].split("\t"))
                bi["Deps"] = (bi["Deps"] or []) + [last]
            elif line.startswith("=>\t"):
                elem = line[3:].split("\t")
                if len(elem) != 3:
                    raise _Malformed(f"expected 3 columns for replacement; got {len(elem)}")
                if last is None:
                    raise _Malformed("replacement with no module on previous line")
                last["Replace"] = {"Path": elem[0], "Version": elem[1], "Sum": elem[2], "Replace": None}
                last = None
            elif line.startswith("build\t"):
                kv = line[6:]
                if not kv:
                    raise _Malformed("build line missing '='")
                if kv[0] == "=":
                    raise _Malformed("build line with missing key")
                if kv[0] in '`"':
                    raw_key = _quoted_prefix(kv)
                    if raw_key is None or _unquote(raw_key) is None:  # QuotedPrefix checks the escapes too
                        raise _Malformed("invalid quoted key in build line")
                    if len(kv) == len(raw_key):
                        raise _Malformed("build line missing '=' after quoted key")
                    if kv[len(raw_key)] != "=":
                        raise _Malformed(f"unexpected character after quoted key: {_go_q_byte(kv[len(raw_key)])}")
                    key = _unquote(raw_key) or ""
                    raw = kv[len(raw_key) + 1 :]
                else:
                    key, eq, raw = kv.partition("=")
                    if not eq:
                        raise _Malformed("build line missing '=' after key")
                    if _quote_key(key):
                        raise _Malformed(f"unquoted key {_quote(key)} must be quoted")
                if raw[:1] in ("`", '"'):
                    value = _unquote(raw)
                    if value is None:
                        raise _Malformed("invalid quoted value in build line")
                elif _quote_value(raw):
                    raise _Malformed(f"unquoted value {_quote(raw)} must be quoted")
                else:
                    value = raw
                bi["Settings"] = (bi["Settings"] or []) + [{"Key": key, "Value": value}]
            lineno += 1
    except _Malformed as e:
        raise StepError(f"could not parse Go build info: line {lineno}: {e}") from None
    return bi


def _receiver(rt: OracleRuntime, a: Any) -> dict[str, Any]:
    """A BuildInfo argument: an object of fields, or "$name[0]" (state.py resolves plain names only)."""
    ref = parse_ref(a)
    if ref is not None and (not ref.path or ref.single_index is not None):
        v = rt.bound.get(ref.name)
        if ref.path:
            i = ref.single_index
            v = v[i] if isinstance(v, list) and i is not None and i < len(v) else None
        a = v
    if not isinstance(a, dict):
        raise Unsupported(f"bad arguments: not a BuildInfo: {a!r}")
    return a


@step("runtime/debug.ParseBuildInfo")
def parse_build_info(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> list[Any]:
    return [parse(str(args[0])), None]


@step("runtime/debug.ReadBuildInfo")
def read_build_info(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[Any]:
    return [godebugmodel.build_info(rt), True]


@step("runtime/debug.BuildInfo.String")
def build_info_string(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> str:
    """BuildInfo.String, with Deps, replacements and quoting."""
    a = args[0] if args else None
    return to_string(_receiver(rt, a) if a is not None else godebugmodel.build_info(rt))
