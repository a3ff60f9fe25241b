"""Regular expressions from case files, matched in linear time.

Case files come from strangers' pull requests, and a backtracking engine
(Python's ``re``) lets one pattern such as ``^(a+)+$`` run for minutes on a
short string. RE2 (PyPI's ``google-re2``) guarantees time linear in the input,
and its syntax is exactly Go's ``regexp`` package, the dialect the suite's users
already write. What RE2 lacks (backreferences, look-around, ``\\Z``) is
rejected by ``rthooks validate`` with the reason, so a case never reaches a run
with a pattern the matcher cannot compile.

Patterns are matched in multi-line mode (``^``/``$`` at line boundaries), as the
matchers always did.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

# A pattern longer than this is refused: RE2 is linear in the text, but compiling
# is not free, and no honest expectation needs more.
MAX_PATTERN = 4096

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print its own line on stderr for each bad pattern
_OPTIONS.max_mem = 8 << 20


class RegexError(ValueError):
    """A pattern that RE2 does not accept, with RE2's reason."""


@functools.lru_cache(maxsize=4096)
def compile(pattern: str) -> Any:
    """The compiled pattern (multi-line), or RegexError with a one-line reason."""
    if not isinstance(pattern, str):
        raise RegexError(f"not a string: {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"pattern is {len(pattern)} characters long (at most {MAX_PATTERN})")
    try:
        return re2.compile("(?m)" + pattern, _OPTIONS)
    except re2.error as e:
        msg = e.args[0] if e.args else str(e)
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        hint = ""
        if "(?!" in pattern or "(?=" in pattern or "(?<" in pattern:
            hint = " (RE2, like Go's regexp, has no look-around: use not_regex for 'does not contain')"
        elif "\\Z" in pattern:
            hint = " (write \\z for the end of the text)"
        raise RegexError(f"{msg}{hint}") from None


def problem(pattern: Any) -> str | None:
    """Why ``pattern`` cannot be used, or None (for lint rules)."""
    try:
        compile(pattern)
    except RegexError as e:
        return str(e)
    return None


def search(pattern: str, text: str) -> Any:
    """The first match of ``pattern`` in ``text`` (an object with ``group(0)``), or None."""
    return compile(pattern).search(text)
