"""`rthooks spec list|show|defaults`: answering questions from the spec.

The JSON shape is a contract (issue #2): a list of objects, each with at least
id, kind, package, name and since, plus signature/receiver for API items,
value_kind/cumulative for metrics, and changed/old/opaque/default for GODEBUG
keys, all as of the queried release.
"""

from __future__ import annotations

import json
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.spec.load import Item, Spec, godebug_default

KINDS = ("function", "method", "type", "const", "var", "metric", "godebug", "env", "process")


def row(item: Item, go: GoVersion | None) -> dict[str, Any]:
    """The query view of one item as of release ``go`` (None: newest)."""
    f = item.at(go)
    out: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "package": f["package"],
        "name": f["name"],
        "since": str(f["since"]),
    }
    if f.get("removed"):
        out["removed"] = str(f["removed"])
    if f.get("deprecated"):
        out["deprecated"] = str(f["deprecated"])
    if item.kind in ("function", "method", "type", "const", "var"):
        out["signature"] = f["signature"]
        if item.kind == "method":
            out["receiver"] = f["receiver"]
    elif item.kind == "metric":
        out["value_kind"] = f["value_kind"]
        out["cumulative"] = bool(f["cumulative"])
        out["unit"] = f["unit"]
    elif item.kind == "godebug":
        table = f.get("table") or {}
        out["changed"] = f"1.{table['changed']}" if table.get("changed") else None
        out["old"] = table.get("old") if table.get("changed") else None
        out["opaque"] = bool(table.get("opaque", False))
        out["immutable"] = bool(table.get("immutable", False))
        out["in_table"] = bool(table)
        out["runtime_var"] = bool(f.get("runtime_var"))
        out["default"] = godebug_default(item, go, go) if go else f.get("default")
    elif item.kind == "env":
        out["default"] = f.get("default")
    if f.get("summary"):
        out["summary"] = f["summary"]
    return out


def list_items(spec: Spec, go: GoVersion, kinds: list[str] | None) -> list[dict[str, Any]]:
    return [row(i, go) for i in spec.in_release(go, kinds)]


def show(spec: Spec, item_id: str, go: GoVersion | None) -> dict[str, Any]:
    item = spec.get(item_id)
    out = row(item, go)
    f = item.at(go)
    for k in (
        "fields",
        "uses",
        "source",
        "description",
        "values",
        "syntax",
        "parse",
        "removal",
        "removed_behaviour",
        "since_note",
        "changes",
    ):
        if f.get(k) is not None and k not in out:
            out[k] = item.data.get(k) if k == "changes" else f[k]
    out["exists"] = item.exists_in(go) if go else True
    out["clauses"] = [
        {"id": f"{item.id}#{c['id']}", **{k: v for k, v in c.items() if k != "id"}}
        for c in f.get("clauses") or []
        if go is None or _clause_live(c, go)
    ]
    claims = [c for c in spec.seed if item.id in (c.get("items") or [])]
    if claims:
        out["seed"] = [{k: c[k] for k in ("id", "claim", "verdict", "reality") if k in c} for c in claims]
    return out


def _clause_live(c: dict[str, Any], go: GoVersion) -> bool:
    s, r = c.get("since"), c.get("removed")
    return (not s or GoVersion.parse(s) <= go) and (not r or go < GoVersion.parse(r))


def default_godebug_string(spec: Spec, go: GoVersion, goline: GoVersion) -> dict[str, str]:
    """What cmd/go of release ``go`` puts in DefaultGODEBUG for a main module at ``goline``."""
    out = {}
    for item in spec.in_release(go, ["godebug"]):
        table = item.at(go).get("table") or {}
        if table.get("changed") and goline.minor < int(table["changed"]):
            out[item.data["name"]] = str(table["old"])
    return dict(sorted(out.items()))


def render_table(rows: list[dict[str, Any]]) -> str:
    """A plain fixed-width table: id, kind, since, and the kind's key fact."""
    lines = []
    for r in rows:
        fact = r.get("signature") or r.get("value_kind") or ""
        if r["kind"] == "godebug":
            fact = f"default={r.get('default')!s}" + (
                f" changed={r['changed']} old={r['old']}" if r.get("changed") else ""
            )
        lines.append((r["id"], r["kind"], r["since"], fact))
    w0 = max((len(x[0]) for x in lines), default=2)
    w1 = max((len(x[1]) for x in lines), default=4)
    out = [f"{'ID'.ljust(w0)}  {'KIND'.ljust(w1)}  SINCE  FACT"]
    out += [f"{a.ljust(w0)}  {b.ljust(w1)}  {c.ljust(5)}  {d}" for a, b, c, d in lines]
    return "\n".join(out)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
