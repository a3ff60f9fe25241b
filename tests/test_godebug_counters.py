"""Issue 15, "earn every clause", for the /godebug/non-default-behavior counters.

A generated case reads every counter and sees 0, so it passes on a counter that never moves: the
clauses that need the counter to move or to stay while the gated code runs (#monotonic,
#counts-non-default-behaviour, #only-on-behaviour-change) must be covered by a hand-written case,
or be marked untestable with the source that shows why. These tests hold the spec and the cases
to that, and hold the generator to dropping its claim on untestable clauses while keeping its reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rthooks.spec.load import default_spec
from tests.conftest import ROOT, tool_module

PREFIX = "metric:/godebug/non-default-behavior/"
EARNED = ("monotonic", "counts-non-default-behaviour", "only-on-behaviour-change")

# Clauses still covered only nominally, each with why (empty when every clause is earned).
NOMINAL_LEFT: dict[str, str] = {}

# The keys only the go command reads (src/cmd/go/internal/...): their counters never move in a program.
GO_COMMAND_KEYS = (
    "allowmultiplevcs",
    "embedfollowsymlinks",
    "gocachehash",
    "gocachetest",
    "gocacheverify",
    "gotestjsonbuildtext",
)


def _hand_written_covers() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted((ROOT / "cases").rglob("*.yaml")):
        if "generated" in path.relative_to(ROOT / "cases").parts:
            continue
        for case in yaml.safe_load(path.read_text()).get("cases") or []:
            for c in case.get("covers") or []:
                out.setdefault(str(c), []).append(str(case["id"]))
    return out


def _counter_clauses() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in default_spec():
        if item.id.startswith(PREFIX):
            for c in item.data.get("clauses") or []:
                if c["id"] in EARNED:
                    out[f"{item.id}#{c['id']}"] = c
    return out


def test_every_counter_clause_is_earned_or_untestable() -> None:
    covers = _hand_written_covers()
    clauses = _counter_clauses()
    assert len(clauses) > 100  # the spec has ~50 counters with three such clauses each
    nominal = sorted(cid for cid, c in clauses.items() if not c.get("untestable") and cid not in covers)
    print(f"{len(clauses)} counter clauses; nominal: {nominal}")
    assert nominal == sorted(NOMINAL_LEFT), "a counter clause is covered only by generated cases (or the list is stale)"


def test_go_command_keys_are_unobservable_with_their_source() -> None:
    clauses = _counter_clauses()
    for key in GO_COMMAND_KEYS:
        for clause in EARNED:
            u = clauses[f"{PREFIX}{key}:events#{clause}"].get("untestable") or {}
            assert u.get("reason") == "unobservable", (key, clause)
            assert "src/cmd/go/internal/" in u.get("detail", ""), (key, clause)
    # installgoroot is read by go/build too, which a program can import: it must stay testable.
    for clause in EARNED:
        assert not clauses[f"{PREFIX}installgoroot:events#{clause}"].get("untestable")


def test_generator_drops_untestable_claims_but_keeps_the_reads() -> None:
    gen: Any = tool_module("gen_metric_cases")
    files = gen.render(default_spec(), frozenset())
    clause = f"{PREFIX}gocachehash:events#monotonic"
    assert clause in _counter_clauses() and _counter_clauses()[clause].get("untestable")
    assert clause not in files["metrics_reads.yaml"]
    assert f"{PREFIX}gocachehash:events#counts-non-default-behaviour" not in files["metrics_godebug.yaml"]
    # The counter is still read, and checked never to decrease, by a generated case.
    reads = yaml.safe_load(files["metrics_reads.yaml"])["cases"]
    name = "/godebug/non-default-behavior/gocachehash:events"
    assert any(e.get("relation", {}).get("left") == f"$m1.{name}" for case in reads for e in case.get("expect") or [])


def test_reviewed_probe_sources_match_their_cases() -> None:
    """The two counter probes run by lib.gocmd are the reviewed sources (casepolicy.GOCMD_GO_SOURCES)."""
    import hashlib

    from rthooks import casepolicy

    data = yaml.safe_load((ROOT / "cases" / "godebug_library.yaml").read_text())
    found = 0
    for case in data["cases"]:
        if case["id"] in (
            "godebug-lib-installgoroot-all-counted-per-import",
            "godebug-lib-gotypesalias-zero-counted-per-alias",
        ):
            for name, text in case["steps"][0]["with"]["files"].items():
                if Path(name).suffix == ".go":
                    assert hashlib.sha256(text.encode()).hexdigest() in casepolicy.GOCMD_GO_SOURCES
                    assert "runtime/metrics" in text
                    found += 1
    assert found == 2
