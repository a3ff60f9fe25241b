"""Generate PROTOCOL.md's op table from the op catalogue (harness/ops.yaml).

    python tools/gen_protocol_ops.py           # rewrite the table between the markers
    python tools/gen_protocol_ops.py --check   # exit 1, with a one-line summary, if it is stale

The table sits between the BEGIN/END markers below; everything else in PROTOCOL.md is prose
written by hand and left alone. The catalogue is the source of truth, so an op's row is never
edited in PROTOCOL.md itself: change harness/ops.yaml and run this.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.opcatalogue import Catalogue, Op, load

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "PROTOCOL.md"
BEGIN = "<!-- BEGIN GENERATED OP TABLE: tools/gen_protocol_ops.py from harness/ops.yaml; do not edit -->"
END = "<!-- END GENERATED OP TABLE -->"


def _literal(v: object) -> str:
    """A value as the table shows it: code-formatted JSON."""
    return f"`{json.dumps(v, ensure_ascii=False)}`" if isinstance(v, str) else f"`{json.dumps(v)}`"


def _type_text(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + ", ".join(_literal(v) for v in prop["enum"])
    t = prop.get("type")
    if t is None:
        return ""
    if isinstance(t, list):
        return " or ".join(t)
    if t == "array":
        items = prop.get("items") or {}
        inner = _type_text(items) if items else ""
        return (
            f"list of {inner}"
            if inner and not inner.startswith("one of")
            else ("list, each " + inner if inner else "list")
        )
    return str(t)


def render_with(op: Op) -> str:
    """The `with` cell: each key with its type, whether it is required, its default and a note."""
    if not op.properties:
        return "—"
    keys = [k for k in op.required] + sorted(k for k in op.properties if k not in op.required)
    cells = []
    for k in keys:
        prop = op.properties[k]
        parts = [p for p in (_type_text(prop),) if p]
        if k in op.required:
            parts.append("required")
        if "default" in prop:
            parts.append(f"default {_literal(prop['default'])}")
        note = f": {prop['description']}" if prop.get("description") else ""
        cells.append(f"`{k}` ({', '.join(parts)}{note})" if parts or note else f"`{k}`")
    return "; ".join(cells)


def render_where(op: Op) -> str:
    """Releases, capabilities, build tags and the implementation kinds that provide the op."""
    parts = []
    if op.since or op.until:
        parts.append(f"go{op.since}+" if op.until is None else f"go{op.since or '1.0'} to before go{op.until}")
    parts += op.capabilities
    parts += [f"`-tags={t}`" for t in op.build_tags]
    parts.append(" and ".join(op.impls))
    return "; ".join(parts)


def render(cat: Catalogue) -> str:
    lines = [
        BEGIN,
        "",
        "| op | `with` | value | needs; provided by |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{op.name}` | {render_with(op)} | {op.description} | {render_where(op)} |" for op in cat]
    lines += ["", END]
    return "\n".join(lines)


def splice(text: str, table: str) -> str:
    """PROTOCOL.md with the generated table in place of whatever stood between the markers."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise RthooksError(f"{PROTOCOL.name}: the markers {BEGIN!r} and {END!r} are missing or out of order")
    return text[:start] + table + text[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if PROTOCOL.md's op table is stale")
    parser.add_argument("--protocol", type=Path, default=PROTOCOL, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        old = args.protocol.read_text(encoding="utf-8")
        new = splice(old, render(load()))
    except (RthooksError, OSError) as e:
        print(f"gen_protocol_ops: {e}", file=sys.stderr)
        return 2
    if old == new:
        return 0
    if args.check:
        diff = [
            line
            for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        changed = sorted({line[1:].split("|")[1].strip() for line in diff if line[1:].startswith("| `")})
        names = ", ".join(changed[:5]) + (f" (+{len(changed) - 5} more)" if len(changed) > 5 else "")
        print(
            f"{args.protocol.name}: the op table is stale ({len(diff)} lines differ"
            + (f"; rows {names}" if names else "")
            + "): run python tools/gen_protocol_ops.py"
        )
        return 1
    args.protocol.write_text(new, encoding="utf-8")
    print(f"{args.protocol.name}: op table regenerated ({sum(1 for _ in load())} ops)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
