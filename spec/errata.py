"""`rthooks spec errata`: the seed document's claims that reality contradicts."""

from __future__ import annotations

import textwrap
from typing import Any

from rthooks.spec.load import Spec

ERRATA_VERDICTS = ("wrong", "outdated", "imprecise")


def errata(spec: Spec, *, all_claims: bool = False) -> list[dict[str, Any]]:
    """Claims judged wrong, outdated or imprecise (or every claim), as plain data."""
    out = []
    for c in spec.seed:
        if all_claims or c.get("verdict") in ERRATA_VERDICTS:
            out.append(
                {
                    k: _plain(c[k])
                    for k in ("id", "section", "claim", "items", "verdict", "reality", "evidence")
                    if k in c
                }
            )
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def render_text(rows: list[dict[str, Any]]) -> str:
    parts = []
    for r in rows:
        head = f"{r['id']} [{r['verdict']}] ({r['section']})"
        body = [f"  seed:    {r['claim']}"]
        if r.get("reality"):
            body.append(textwrap.fill(r["reality"], 100, initial_indent="  reality: ", subsequent_indent="           "))
        for ev in r.get("evidence") or []:
            desc = {
                "source": lambda e: f'go{e["go"]}+ {e["file"]}: "{e["quote"]}"',
                "api": lambda e: f"spec item {e['item']}" + (f" ({e['note']})" if e.get("note") else ""),
                "metric": lambda e: f"metrics.All() of go{e['go']}+ {'has' if e['present'] else 'lacks'} {e['metric']}",
                "godebug": lambda e: (
                    f"go{e['go']}+ GODEBUG {e['key']}"
                    + (f" default {e['default']}" if "default" in e else "")
                    + (f" present={e['present']}" if "present" in e else "")
                ),
                "case": lambda e: f"case {e['case']}",
            }[ev["kind"]](ev)
            body.append(f"  evidence: {desc}")
        parts.append("\n".join([head, *body]))
    summary = f"{len(rows)} claim(s)"
    return "\n\n".join([*parts, summary])
