"""Go release numbers ("1.21") as comparable values.

The spec speaks of Go *releases* (language versions "1.N"); toolchains report
"go1.N.P". Everything is normalised to a ``GoVersion`` so that comparisons are
numeric (1.9 < 1.10) rather than lexical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_RE = re.compile(r"^(?:go)?1\.(\d+)(?:\.(\d+))?(?:(?:rc|beta)\d+)?$")


@total_ordering
@dataclass(frozen=True)
class GoVersion:
    """A Go 1.x release; ``patch`` is kept for toolchain identity but ignored by ``release``."""

    minor: int
    patch: int | None = None

    @classmethod
    def parse(cls, text: str | int | float) -> GoVersion:
        s = str(text).strip()
        if s == "1":  # Go 1.0 is spelled "1" in some places (api/go1.txt)
            return cls(0)
        m = _RE.match(s)
        if not m:
            raise ValueError(f"not a Go version: {text!r}")
        return cls(int(m.group(1)), int(m.group(2)) if m.group(2) is not None else None)

    @property
    def release(self) -> GoVersion:
        return GoVersion(self.minor)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, GoVersion):
            return NotImplemented
        return (self.minor, self.patch or 0) < (other.minor, other.patch or 0)

    def __str__(self) -> str:
        base = f"1.{self.minor}"
        return base if self.patch is None else f"{base}.{self.patch}"


def is_version(text: object) -> bool:
    """Whether ``text`` spells a Go version ("1.21", "go1.21.3", "1.0")."""
    try:
        GoVersion.parse(str(text))
    except ValueError:
        return False
    return True
