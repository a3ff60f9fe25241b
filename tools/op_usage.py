"""How the cases use the op vocabulary: the op count, the ops no case uses and those one case uses.

    python tools/op_usage.py [--cases DIR] [--json]

Issue 11, item 4 (prune the vocabulary) starts from these figures: an unused op is dead code in
every implementation, and a single-use op is a candidate to fold into a general one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.opcatalogue import load
from rthooks.yamlsrc import load as load_yaml

ROOT = Path(__file__).resolve().parent.parent


def _ops_in(v: Any) -> Iterator[str]:
    """Every op a case runs, nested callback steps included."""
    if isinstance(v, dict):
        if isinstance(v.get("op"), str):
            yield v["op"]
        for x in v.values():
            yield from _ops_in(x)
    elif isinstance(v, list):
        for x in v:
            yield from _ops_in(x)


def usage(cases_dir: Path) -> dict[str, set[str]]:
    """Op name -> the ids of the cases that use it (every catalogue op present, possibly unused)."""
    used: dict[str, set[str]] = defaultdict(set)
    for op in load():
        used[op.name] = set()
    for p in sorted(cases_dir.rglob("*.yaml")):
        for case in load_yaml(p, str(p)).get("cases") or []:
            for name in _ops_in(case.get("steps") or []):
                used[name].add(str(case.get("id")))
    return dict(used)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=ROOT / "cases")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    try:
        used = usage(args.cases)
        catalogue = load().names()
    except RthooksError as e:
        print(f"op_usage: {e}", file=sys.stderr)
        return 2
    unused = sorted(n for n in catalogue if not used[n])
    single = {n: sorted(used[n])[0] for n in sorted(catalogue) if len(used[n]) == 1}
    unknown = sorted(set(used) - catalogue)
    if args.json:
        print(json.dumps({"ops": len(catalogue), "unused": unused, "single_use": single, "unknown": unknown}, indent=1))
        return 0
    print(f"{len(catalogue)} ops in harness/ops.yaml")
    print(f"{len(unused)} used by no case: {', '.join(unused) or '-'}")
    print(f"{len(single)} used by exactly one case:")
    for name, cid in single.items():
        print(f"  {name:34} {cid}")
    if unknown:
        print(f"{len(unknown)} used by cases but not in the catalogue: {', '.join(unknown)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
