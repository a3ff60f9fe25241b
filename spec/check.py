"""`rthooks spec check`: hold the spec against a real toolchain; any drift is an error.

Compared for the toolchain's release R:
- the exported API (presence, signature, struct fields, deprecation);
- ``metrics.All()`` (presence, value kind, cumulative flag);
- the GODEBUG tables (internal/godebugs ``All`` and ``Removed``, runtime dbgvars
  and their built-in defaults);
- ``DefaultGODEBUG`` from ``go list`` for go lines 1.16 and 1.20..R;
- every clause quote and every seed-evidence quote, in GOROOT's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.spec import facts
from rthooks.spec.load import Item, Spec
from rthooks.spec.query import default_godebug_string
from rthooks.toolchain import Toolchain

API_KINDS = ("function", "method", "type", "const", "var")


@dataclass(frozen=True)
class Drift:
    """One difference between the spec and a toolchain."""

    area: str  # api, metric, godebug, defaults, quote, evidence
    subject: str
    message: str

    def __str__(self) -> str:
        return f"[{self.area}] {self.subject}: {self.message}"


def _norm(text: str) -> str:
    return " ".join(text.split())


def _key(i: dict[str, Any]) -> str:
    return f"{i['package']}.{i['receiver']}.{i['name']}" if i.get("receiver") else f"{i['package']}.{i['name']}"


def check(spec: Spec, tc: Toolchain, port: facts.Port = facts.HOST) -> list[Drift]:
    """Every drift between ``spec`` and the toolchain ``tc``; for another ``port`` than the host, what
    differs per port: the API as its build constraints select the files, and ``metrics.All()`` of a
    probe built for it and run there (emulated or in wasmtime). The GODEBUG tables, DefaultGODEBUG,
    quotes and evidence are read from the same source files whatever the port: checked on the host."""
    r = tc.release
    out: list[Drift] = []
    if port != facts.HOST:
        out += _api(spec, tc, r, port)
        out += _metrics(spec, tc, r, port)
        return out
    out += _api(spec, tc, r)
    out += _metrics(spec, tc, r)
    out += _godebug(spec, tc, r)
    out += _defaults(spec, tc, r)
    out += _quotes(spec, tc, r)
    out += _evidence(spec, tc, r)
    return out


def _api(spec: Spec, tc: Toolchain, r: GoVersion, port: facts.Port = facts.HOST) -> Iterator[Drift]:
    real = {_key(i): i for i in facts.api(tc, port)}
    mine = {i.id: i for i in spec.in_release(r, API_KINDS)}
    for k in sorted(real.keys() - mine.keys()):
        yield Drift("api", k, f"in go{tc.version} but not in the spec for {r} ({real[k]['signature']})")
    for k in sorted(mine.keys() - real.keys()):
        yield Drift("api", k, f"in the spec for {r} but not in go{tc.version}")
    for k in sorted(mine.keys() & real.keys()):
        f, g = mine[k].at(r), real[k]
        if f["signature"] != g["signature"]:
            yield Drift("api", k, f"signature: spec {f['signature']!r} != go {g['signature']!r}")
        live = [x["decl"] for x in f.get("fields") or [] if not x.get("since") or GoVersion.parse(x["since"]) <= r]
        if live != (g.get("fields") or []):
            yield Drift("api", k, f"fields: spec {live} != go {g.get('fields') or []}")
        dep = f.get("deprecated")
        spec_dep = dep is not None and GoVersion.parse(str(dep)) <= r
        if spec_dep != bool(g.get("deprecated")):
            yield Drift(
                "api", k, f"deprecated: spec says {spec_dep}, go{tc.version}'s doc says {bool(g.get('deprecated'))}"
            )
        if f.get("source") and r == spec.releases[-1] and f["source"] != g["file"]:
            yield Drift("api", k, f"source: spec {f['source']} != go {g['file']}")


def _metrics(spec: Spec, tc: Toolchain, r: GoVersion, port: facts.Port = facts.HOST) -> Iterator[Drift]:
    real = {m["name"]: m for m in facts.metrics(tc, port)}
    mine = {i.data["name"]: i for i in spec.in_release(r, ["metric"])}
    for k in sorted(real.keys() - mine.keys()):
        yield Drift("metric", k, f"reported by go{tc.version}'s metrics.All() but not in the spec for {r}")
    for k in sorted(mine.keys() - real.keys()):
        yield Drift("metric", k, f"in the spec for {r} but not reported by go{tc.version}")
    for k in sorted(mine.keys() & real.keys()):
        f = mine[k].at(r)
        if f["value_kind"] != real[k]["kind"]:
            yield Drift("metric", k, f"kind: spec {f['value_kind']} != go {real[k]['kind']}")
        if bool(f["cumulative"]) != real[k]["cumulative"]:
            yield Drift("metric", k, f"cumulative: spec {f['cumulative']} != go {real[k]['cumulative']}")


def _godebug(spec: Spec, tc: Toolchain, r: GoVersion) -> Iterator[Drift]:
    table = facts.godebug_table(tc)
    real_t = {e["name"]: e for e in table["all"]}
    real_v = {v["name"]: v for v in facts.runtime_dbgvars(tc)}
    items = {i.data["name"]: i for i in spec.in_release(r, ["godebug"])}
    mine_t = {n: i.at(r)["table"] for n, i in items.items() if i.at(r).get("table")}
    mine_v = {n: i.at(r) for n, i in items.items() if i.at(r).get("runtime_var")}
    for n in sorted(real_t.keys() - mine_t.keys()):
        yield Drift("godebug", n, f"in go{tc.version}'s internal/godebugs table but not in the spec for {r}")
    for n in sorted(mine_t.keys() - real_t.keys()):
        yield Drift("godebug", n, f"in the spec's table for {r} but not in go{tc.version}'s internal/godebugs")
    for n in sorted(mine_t.keys() & real_t.keys()):
        want = {k: real_t[n][k] for k in ("package", "changed", "old", "opaque", "immutable")}
        got = {k: mine_t[n].get(k) for k in want}
        if want != got:
            diff = {k: (got[k], want[k]) for k in want if want[k] != got[k]}
            yield Drift("godebug", n, f"table fields differ (spec, go): {diff}")
    for n in sorted(real_v.keys() - mine_v.keys()):
        yield Drift("godebug", n, f"a runtime dbgvar in go{tc.version} but not marked runtime_var in the spec for {r}")
    for n in sorted(mine_v.keys() - real_v.keys()):
        yield Drift("godebug", n, f"marked runtime_var in the spec for {r} but not in go{tc.version}'s dbgvars")
    for n in sorted(mine_v.keys() & real_v.keys()):
        if str(mine_v[n].get("default")) != real_v[n]["default"]:
            yield Drift(
                "godebug", n, f"runtime default: spec {mine_v[n].get('default')!r} != go {real_v[n]['default']!r}"
            )
    removed_real = {e["name"]: e for e in table["removed"]}
    removed_mine = {
        i.data["name"]: i.data["removal"]
        for i in spec
        if i.kind == "godebug"
        and i.data.get("removal")
        and GoVersion.parse(i.data["removal"].get("listed_since", "1.0")) <= r
    }
    for n in sorted(removed_real.keys() ^ removed_mine.keys()):
        side = "go" if n in removed_real else "the spec"
        yield Drift("godebug", n, f"only {side} lists it in internal/godebugs.Removed for {r}")
    for n in sorted(removed_real.keys() & removed_mine.keys()):
        e, m = removed_real[n], removed_mine[n]
        old_differs = e["old"] is not None and sorted(e["old"]) != sorted(m["old_values"])
        if f"1.{e['removed']}" != str(m["release"]) or old_differs:
            yield Drift("godebug", n, f"removal differs: spec {dict(m)} != go {e}")


def golines(r: GoVersion) -> list[GoVersion]:
    return [GoVersion(16), *(GoVersion(m) for m in range(20, r.minor + 1))]


def _defaults(spec: Spec, tc: Toolchain, r: GoVersion) -> Iterator[Drift]:
    for gl in golines(r):
        real = facts.default_godebug(tc, str(gl))
        real.pop("fips140", None)  # set by GOFIPS140, not by the go line
        mine = default_godebug_string(spec, r, gl)
        if real != mine:
            extra = {k: v for k, v in real.items() if mine.get(k) != v}
            missing = {k: v for k, v in mine.items() if real.get(k) != v}
            yield Drift("defaults", f"go {gl}", f"DefaultGODEBUG differs: go has {extra}, spec has {missing}")


def _quotes(spec: Spec, tc: Toolchain, r: GoVersion) -> Iterator[Drift]:
    docs = {_key(i): _norm(i.get("doc") or "") for i in facts.api(tc)}
    mdocs = {m["name"]: _norm(m["description"]) for m in facts.metrics(tc)}
    for item in spec.in_release(r):
        for c in item.at(r).get("clauses") or []:
            if not c.get("quote"):
                continue
            if c.get("since") and r < GoVersion.parse(c["since"]):
                continue
            if c.get("removed") and r >= GoVersion.parse(c["removed"]):
                continue
            if c.get("file"):
                text = _file_text(tc, c["file"])
                where = c["file"]
            elif item.kind == "metric":
                text, where = mdocs.get(item.data["name"], ""), "metrics.All() description"
            else:
                text, where = docs.get(item.id, ""), "doc comment"
            if _norm(c["quote"]) not in text:
                yield Drift(
                    "quote", f"{item.id}#{c['id']}", f"quote not found in go{tc.version} {where}: {c['quote'][:80]!r}"
                )


def _file_text(tc: Toolchain, rel: str) -> str:
    """A GOROOT file as searchable prose: comment markers dropped, whitespace collapsed."""
    return _file_text_at(str(tc.goroot / rel))


@cache
def _file_text_at(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return _norm("\n".join(_COMMENT.sub("", line) for line in text.splitlines()))


_COMMENT = re.compile(r"^\s*//\s?")


def _evidence(spec: Spec, tc: Toolchain, r: GoVersion) -> Iterator[Drift]:
    metric_names = {m["name"] for m in facts.metrics(tc)}
    api_keys = {_key(i) for i in facts.api(tc)}
    dbg = {v["name"]: v for v in facts.runtime_dbgvars(tc)}
    table = {e["name"] for e in facts.godebug_table(tc)["all"]}
    for claim in spec.seed:
        for ev in claim.get("evidence") or []:
            g = GoVersion.parse(ev["go"]) if ev.get("go") else None
            u = GoVersion.parse(ev["until"]) if ev.get("until") else None
            if (g and r < g) or (u and r >= u):
                continue
            subject = f"seed {claim['id']}"
            kind = ev["kind"]
            if kind == "source" and _norm(ev["quote"]) not in _file_text(tc, ev["file"]):
                yield Drift(
                    "evidence", subject, f"quote not found in go{tc.version} {ev['file']}: {ev['quote'][:80]!r}"
                )
            elif kind == "metric" and (ev["metric"] in metric_names) != bool(ev["present"]):
                yield Drift(
                    "evidence", subject, f"metric {ev['metric']} present={ev['present']} is false for go{tc.version}"
                )
            elif kind == "godebug":
                name = ev["key"]
                present = name in dbg or name in table
                if "present" in ev and present != bool(ev["present"]):
                    yield Drift(
                        "evidence", subject, f"GODEBUG {name} present={ev['present']} is false for go{tc.version}"
                    )
                if "default" in ev and (name not in dbg or dbg[name]["default"] != ev["default"]):
                    got = dbg.get(name, {}).get("default")
                    yield Drift(
                        "evidence", subject, f"GODEBUG {name} default {ev['default']!r} != go{tc.version}'s {got!r}"
                    )
            elif kind == "api":
                # The spec's since/removed for the item is the claim; the toolchain must agree.
                item: Item | None = spec.items.get(ev["item"])
                want = bool(ev["present"]) if "present" in ev else bool(item and item.exists_in(r))
                if item is None or (ev["item"] in api_keys) != want:
                    yield Drift("evidence", subject, f"{ev['item']} present={want} is false for go{tc.version}")
