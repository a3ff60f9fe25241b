"""PROTOCOL.md's op tables are the op vocabulary: the Go driver registers exactly those ops, and the
oracle implements none that the document does not name (a case may use only documented ops)."""

from __future__ import annotations

import re
from pathlib import Path

from rthooks.oracle.registry import STEPS, load_areas

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "harness" / "driver"


def documented_ops() -> set[str]:
    ops: set[str] = set()
    for line in (ROOT / "PROTOCOL.md").read_text().splitlines():
        cells = line.split("|")
        if len(cells) > 2 and cells[1].strip().startswith("`"):
            ops |= set(re.findall(r"`([a-z0-9_.\-]+)`", cells[1]))
    return ops


def driver_ops() -> set[str]:
    ops: set[str] = set()
    for f in DRIVER.glob("*.go"):
        src = f.read_text()
        ops |= set(re.findall(r'registerOp\("([^"]+)"', src))
        table = re.search(r"var opTable = map\[string\]opFunc\{(.*?)\n\}", src, re.S)
        if table:
            ops |= set(re.findall(r'^\s*"([^"]+)":', table.group(1), re.M))
    return ops


def test_driver_registers_exactly_the_documented_ops() -> None:
    documented, registered = documented_ops(), driver_ops()
    assert len(registered) > 100
    assert sorted(registered - documented) == [], "ops the driver has but PROTOCOL.md does not describe"
    assert sorted(documented - registered) == [], "ops PROTOCOL.md describes but the driver lacks"


def test_oracle_implements_only_documented_ops() -> None:
    load_areas()
    oracle = {name.removeprefix("op:") for name in STEPS if name.startswith("op:")}
    assert len(oracle) > 100
    assert sorted(oracle - documented_ops()) == []
