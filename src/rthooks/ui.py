"""Console helpers: saying what a command is doing, colouring status words, suggesting close names.

Small and standard-library only, so that any command can import it at start-up.

A command phase that ends within :data:`AFTER` seconds prints nothing (the fast path stays quiet);
one that takes longer says what it is doing on stderr, and when it is done, so a user never stares
at a silent terminal wondering whether rthooks is stuck.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TextIO

#: Seconds a phase may run before it is announced.
AFTER = 1.0


@contextlib.contextmanager
def phase(what: str, *, after: float | None = None, stream: TextIO | None = None) -> Iterator[None]:
    """Announce ``what`` on stderr (``rthooks: what...``) if it is still running after ``after`` seconds,
    and then its end with the time taken. A timer thread rather than a print up front: most phases
    are fast once caches are warm, and a line per fast phase would be noise."""
    out = stream or sys.stderr
    start = time.monotonic()
    said, finished = threading.Event(), threading.Event()
    lock = threading.Lock()

    def announce() -> None:
        with lock:
            if not finished.is_set():
                _write(out, f"rthooks: {what}...\n")
                said.set()

    timer = threading.Timer(AFTER if after is None else after, announce)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            finished.set()
        timer.cancel()
        if said.is_set():
            _write(out, f"rthooks: {what}: done in {time.monotonic() - start:.1f}s\n")


def _write(stream: TextIO, text: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # a closed or broken stderr must not end the command
        stream.write(text)
        stream.flush()


#: ANSI SGR colours of the result statuses: failing red, skipped and known deviations yellow, pass green.
COLOURS = {
    "pass": "32",
    "fail": "1;31",
    "error": "1;31",
    "timeout": "1;31",
    "crash": "1;31",
    "xpass": "1;31",
    "skip": "33",
    "xfail": "33",
}


def colour_wanted(stream: Any) -> bool:
    """Colour on a terminal only, and never when NO_COLOR is set to anything (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def painter(stream: Any) -> Callable[[str], str]:
    """A function that colours a status word (``FAIL``, ``skip=3``) for ``stream``, or leaves it as it is."""
    if not colour_wanted(stream):
        return lambda word: word

    def paint(word: str) -> str:
        code = COLOURS.get(word.split("=", 1)[0].lower())
        return f"\x1b[{code}m{word}\x1b[0m" if code else word

    return paint


def did_you_mean(word: str, candidates: Iterable[str] | Mapping[str, str], *, n: int = 3) -> str:
    """`` (did you mean 'x'?)`` for the closest candidates, or ``""`` when none is close.

    ``candidates`` may map spellings to what to suggest for them (``go1.27`` -> ``go=1.27``); an exact
    spelling suggests only its own. A bare tail (``returns-previous`` for
    ``runtime/debug.SetGCPercent#returns-previous``) counts as close too: that is the usual slip when a
    clause id is typed without its item.
    """
    # deferred for start-up speed: only a did-you-mean needs difflib
    import difflib

    shown = dict(candidates) if isinstance(candidates, Mapping) else {c: c for c in candidates}
    if word in shown and shown[word] != word:
        close = [word]
    else:
        pool = list(shown)
        close = [c for c in pool if word and c.rpartition("#")[2] == word and c != word][:n]
        close = close or difflib.get_close_matches(word, pool, n=n, cutoff=0.7)
    said = list(dict.fromkeys(shown[c] for c in close))
    if not said:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in said) + "?)"
