"""Every Python package of the checkout ships in the wheel: tox and CI test the installed wheel, so
a subpackage missing from pyproject.toml's list fails there and nowhere else (it did: harness.fuzz)."""

from __future__ import annotations

import tomllib
from pathlib import Path

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
