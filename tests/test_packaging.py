"""Every Python package of the checkout ships in the wheel: tox and CI test the installed wheel, so
a subpackage missing from pyproject.toml's list fails there and nowhere else (it did: harness.fuzz)."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from rthooks.harness import driver_build

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = set()
    for dotted, folder in setuptools["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            found.add(".".join([dotted, *rel.parts]))
    assert found - listed == set(), "package folders pyproject.toml does not ship"
    assert listed - found == set(), "listed packages with no folder"


def test_every_driver_source_ships() -> None:
    """The driver is built from the installed package's files (harness/driver_build._sources): a source kind
    the package data does not list builds from the checkout and fails from the wheel (it did: the arm64 .s
    file of godebug.dit, whose function then had no body)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["rthooks.harness"]
    # the checkout's sources (an installed wheel holds only what shipped, which would prove nothing)
    sources = [f"driver/{p.name}" for p in driver_build._sources(ROOT / "harness" / "driver")]
    assert sources, "no driver sources found"
    assert [s for s in sources if not any(fnmatch(s, g) for g in globs)] == []
