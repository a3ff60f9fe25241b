"""Argument types shared by every command-line parser (``rthooks`` and ``rthooks fuzz``).

A bad value becomes ``argparse.ArgumentTypeError``, which each parser turns into its one line and exit
status 2. Core layer and standard library only: the harness's own parsers (``rthooks fuzz`` parses
its arguments itself, so that the CLI imports Hypothesis only when fuzzing) cannot import rthooks.cli.
"""

from __future__ import annotations

import argparse
import math


def positive(text: str) -> int:
    """An integer of at least 1 (``--jobs``, ``--repeat``, ``fuzz --examples``)."""
    try:
        n = int(text.strip()) if len(text) <= 20 else None
    except ValueError:
        n = None
    if n is None:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _finite(text: str) -> float:
    """A float, or NaN for anything that is not one (so one range check refuses both)."""
    try:
        return float(text) if len(text) <= 40 else math.nan
    except ValueError:
        return math.nan


def percentage(text: str) -> float:
    """A finite number from 0 to 100 (``coverage --min``)."""
    x = _finite(text)
    if not math.isfinite(x) or not 0 <= x <= 100:
        raise argparse.ArgumentTypeError(f"want a percentage from 0 to 100, not {text!r}")
    return x


#: The longest budget a command takes in seconds (a day).
MAX_SECONDS = 86_400


def seconds(text: str) -> float:
    """A finite number of seconds in (0, MAX_SECONDS] (``fuzz --seconds``)."""
    x = _finite(text)
    if not math.isfinite(x) or not 0 < x <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"want a number of seconds in (0, {MAX_SECONDS}], not {text!r}")
    return x
