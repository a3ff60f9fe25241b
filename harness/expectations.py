"""Known deviations: one YAML file per implementation, as in wpt's metadata.

harness/expectations/<impl>.yaml maps a case id to the status the case is
known to end with and why (which should name the Go behaviour, and point to a
clause deviation or seed erratum where the behaviour contradicts the docs):

    cases:
      pprof-remove-predefined-panics:
        status: fail          # the run's status that is expected
        reason: "Remove never panics (runtime/pprof.Profile#predefined-remove-panics deviation)"

A case that ends with its expected status is reported `xfail`; one listed but
passing is `xpass` (the list is stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rthooks.errors import RthooksError
from rthooks.protocol.statuses import Status
from rthooks.yamlsrc import load

EXPECTATIONS_DIR = Path(__file__).parent / "expectations"


@dataclass(frozen=True)
class Known:
    status: str
    reason: str


def load_known(impl_name: str, directory: Path | None = None) -> dict[str, Known]:
    path = (directory or EXPECTATIONS_DIR) / f"{impl_name}.yaml"
    if not path.exists():
        return {}
    data = load(path) or {}
    out: dict[str, Known] = {}
    for case_id, entry in (data.get("cases") or {}).items():
        if not isinstance(entry, dict) or "status" not in entry or "reason" not in entry:
            raise RthooksError(f"case {case_id}: want {{status, reason}}", where=str(path))
        out[str(case_id)] = Known(str(entry["status"]), str(entry["reason"]))
    return out


def apply(status: Status, known: Known | None) -> Status:
    """The reported status, given the run's status and a known deviation."""
    if known is None:
        return status
    if status == known.status:
        return "xfail"
    if status == "pass":
        return "xpass"
    return status
