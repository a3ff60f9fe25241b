"""Run the whole suite N times against one implementation and report cases whose status varied.

Usage: python tools/determinism.py [--runs 20] [--impl go=1.27] [--keep DIR]

With --keep, the run records are kept in DIR (run1.json ...), so that a case whose status varied
can be read in the run where it differed (its observed values and the reason it failed).

Issue 4 asks for identical statuses over 20 consecutive full runs against go1.27;
this prints the figure (a measurement, not a test: it takes minutes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--impl", default="go=1.27")
    ap.add_argument("--keep", type=Path, help="keep the run records in this folder")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    maps: list[dict[str, str]] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.runs):
            out = Path(d) / f"run{i}.json"
            subprocess.run(
                [sys.executable, "-m", "rthooks.cli", "run", "--impl", args.impl, "--out", str(out)],
                capture_output=True,
                text=True,
                check=False,
            )
            record = json.loads(out.read_text())
            if args.keep:
                (args.keep / f"run{i + 1}.json").write_text(out.read_text())
            maps.append({r["case"]: r["status"] for r in record["results"]})
            print(f"run {i + 1}: {len(maps[-1])} cases", file=sys.stderr)
    varied = sorted({c for m in maps for c in m if len({mm.get(c) for mm in maps}) > 1})
    print(
        f"{args.runs} runs of {len(maps[0])} cases against {args.impl} in {time.monotonic() - start:.0f}s; "
        f"cases whose status varied: {len(varied)} {varied}"
    )
    for c in varied:
        seen = [m.get(c, "-") for m in maps]
        print(f"  {c}: " + " ".join(seen))
    return 1 if varied else 0


if __name__ == "__main__":
    sys.exit(main())
