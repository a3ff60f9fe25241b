"""Where rthooks's data folders are: spec/ and harness/, installed or in a checkout.

Core, so that core modules (toolchains, the op catalogue, the schema loader) can read the data
they need by path without importing the spec or harness packages, which sit above core. Installed,
the folders are subpackages beside this module (rthooks/spec, rthooks/harness); in a checkout
they are at the top level, two levels up from src/rthooks.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from rthooks.errors import RthooksError

_HERE = Path(__file__).resolve().parent


@cache
def data_dir(folder: str, marker: str) -> Path:
    """``folder`` (``harness`` or ``spec``) of the installed package or the checkout: the one holding ``marker``."""
    for d in (_HERE / folder, _HERE.parent.parent / folder):
        if (d / marker).exists():
            return d
    raise RthooksError(f"{folder}/{marker} is missing (looked beside rthooks and in the source tree)")


def spec_root() -> Path:
    """The spec folder: RTHOOKS_SPEC, else ./spec of an rthooks checkout, else the installed copy.

    A contributor editing YAML in a checkout must see their edits even when rthooks
    is installed as a wheel (as tox does), so the checkout wins over the package.
    """
    env = os.environ.get("RTHOOKS_SPEC")
    if env:
        return Path(env)
    here = Path.cwd() / "spec"
    if (here / "releases.yaml").is_file() and (here / "schema" / "spec.schema.json").is_file():
        return here
    return data_dir("spec", "releases.yaml")


def cache_dir() -> Path:
    """Where rthooks keeps installed toolchains and built binaries."""
    base = os.environ.get("RTHOOKS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rthooks"
    )
    return Path(base)
