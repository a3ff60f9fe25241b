"""Text from strangers, made safe to show: on a terminal, in JSON printed to one, in XML.

Implementations under test and case files choose the bytes of case ids, reasons, stdout,
stderr and toolchain names. Printed raw, an ESC or a C1 CSI (U+009B) moves the cursor,
recolours or retitles the user's terminal, a bidi override (U+202E) reorders what the user
reads, and a lone surrogate (which JSON's ``\\ud800`` escape can produce) makes the print itself
fail with UnicodeEncodeError. Everything an implementation or a record provides goes through
``printable`` before it reaches a console.
"""

from __future__ import annotations

import re

#: Code points that act on a terminal or reorder text: C0 controls, DEL, C1 controls, lone
#: surrogates, the bidi marks and overrides, and the Unicode line and paragraph separators.
_SPECIAL = "\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: One line of output: every C0 control but tab is escaped, newlines included.
_ONE_LINE = re.compile(f"[\x00-\x08\x0a-\x1f{_SPECIAL}]")
#: Several lines: newlines stay.
_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_SPECIAL}]")
#: Raw code points json.dumps(ensure_ascii=False) leaves in its output that a terminal or a
#: UTF-8 encoder chokes on; inside a JSON string each may be written as a \\uXXXX escape.
_JSON_RAW = re.compile(f"[{_SPECIAL}]")
#: Characters XML 1.0 cannot hold at all (even as character references), and the C1 controls it
#: discourages.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def printable(s: str, limit: int | None = None, *, lines: bool = False) -> str:
    """``s`` with terminal controls, bidi overrides and lone surrogates written as visible escapes.

    ESC becomes ``\\x1b``, U+009B ``\\x9b``, a lone surrogate ``\\udc80``; tab stays. By default
    the result is one line (a newline is ``\\n``); with ``lines=True`` newlines stay, for a
    multi-line report printed whole. With ``limit``, at most that many characters of ``s`` are
    shown, then ``…`` (the cut comes before escaping, so a cut never splits an escape).
    """
    cut = limit is not None and len(s) > limit
    if cut:
        s = s[: max(0, limit or 0)]
    out = (_LINES if lines else _ONE_LINE).sub(_escape, s)
    return out + "…" if cut else out


def json_for_console(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the code points a terminal acts on
    written as ``\\uXXXX`` escapes: still the same JSON value, and safe to print.

    json.dumps already escapes C0 controls; C1 controls, bidi overrides, U+2028/9 and lone
    surrogates it leaves raw. They can only occur inside JSON strings, where an escape is valid.
    """
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def xml_safe(s: str) -> str:
    """``s`` with the characters XML 1.0 cannot hold (NUL, most C0 controls, lone surrogates,
    U+FFFE/U+FFFF) and the C1 controls written as visible escapes; tab, newline and CR stay."""
    return _XML_BAD.sub(_escape, s)


_SURROGATE = re.compile("[\ud800-\udfff]")


def no_surrogates(s: str) -> str:
    """``s`` with every lone surrogate (which UTF-8 cannot encode) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", s)
