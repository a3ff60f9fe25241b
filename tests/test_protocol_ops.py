"""PROTOCOL.md documents the op vocabulary through one generated table, one row per catalogue op;
no op is described by hand outside it (the catalogue, harness/ops.yaml, is the vocabulary: see
tests/test_op_catalogue.py for the driver, the oracle and the cases)."""

from __future__ import annotations

import re

from rthooks import opcatalogue
from tests.conftest import ROOT

BEGIN, END = "<!-- BEGIN GENERATED OP TABLE", "<!-- END GENERATED OP TABLE -->"


def test_the_generated_table_has_one_row_per_catalogue_op_in_order() -> None:
    text = (ROOT / "PROTOCOL.md").read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    table = text[text.index(BEGIN) : text.index(END)]
    rows = re.findall(r"^\| `([a-z0-9_.\-]+)` \|", table, re.M)
    assert rows == [op.name for op in opcatalogue.load()]


def test_no_op_rows_outside_the_generated_table() -> None:
    text = (ROOT / "PROTOCOL.md").read_text()
    outside = text[: text.index(BEGIN)] + text[text.index(END) :]
    names = opcatalogue.load().names()
    stray = {m for m in re.findall(r"^\| `([a-z0-9_.\-]+)` \|", outside, re.M) if m in names}
    assert stray == set()
