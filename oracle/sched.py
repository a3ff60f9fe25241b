"""The scheduler and the process's identity: GOMAXPROCS, Version, CPU work."""

from __future__ import annotations

from typing import Any

from rthooks.oracle.registry import step
from rthooks.oracle.state import OracleRuntime


@step("runtime.GOMAXPROCS")
def gomaxprocs_call(rt: OracleRuntime, args: list[Any], _: dict[str, Any]) -> int:
    prev = rt.gomaxprocs
    if int(args[0]) >= 1:
        rt.gomaxprocs = int(args[0])
    return prev


@step("op:busy")
def busy(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> None:
    """CPU work has no observable effect in the model."""


@step("runtime.Version")
@step("op:version")
def version(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    return f"go{rt.release}"


# --- metrics -------------------------------------------------------------------------
