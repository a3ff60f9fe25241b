"""One error type for every user-facing failure.

The CLI prints ``str(error)`` as a single line and exits with ``error.status``;
nothing a user can cause (bad YAML, a missing toolchain, an unknown id) may
surface as a Python traceback.
"""

from __future__ import annotations


class RthooksError(Exception):
    """A failure with a location (file:line, case id, or toolchain) and an exit status."""

    def __init__(self, message: str, *, where: str | None = None, status: int = 2) -> None:
        self.message = message
        self.where = where
        self.status = status
        self.output = ""  # a failed command's whole output, where one ran (build errors are matched on it)
        super().__init__(f"{where}: {message}" if where else message)
