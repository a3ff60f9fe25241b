"""The result record (harness/schema/result.schema.json): written incrementally, read by reports."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rthooks import __version__
from rthooks.errors import RthooksError
from rthooks.harness.schemas import result_validator
from rthooks.spec.lint.engine import cases_root
from rthooks.spec.load import spec_paths, spec_root

SCHEMA_VERSION = 1


def spec_revision() -> str:
    """A content hash of the spec and case files the run used."""
    h = hashlib.sha256()
    files = spec_paths(spec_root())
    croot = cases_root()
    if croot:
        files += sorted(croot.rglob("*.yaml"))
    for p in files:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_record(implementations: list[dict[str, Any]], shard: str | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "rthooks_version": __version__,
        "spec_revision": spec_revision(),
        "started": now(),
        "finished": None,
        "interrupted": False,
        "shard": shard,
        "implementations": implementations,
        "results": [],
    }


def write(record: dict[str, Any], path: Path) -> None:
    """Atomically write the record (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".rthooks-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def read(path: Path) -> dict[str, Any]:
    """Read and validate a record; any problem is one line naming the file."""
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise RthooksError(f"cannot read: {e.strerror}", where=str(path)) from None
    except json.JSONDecodeError as e:
        raise RthooksError(f"not JSON (line {e.lineno}): {e.msg}", where=str(path)) from None
    errors = sorted(result_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "top level"
        raise RthooksError(f"not a run record ({where}: {first.message[:120]})", where=str(path))
    return dict(data)
