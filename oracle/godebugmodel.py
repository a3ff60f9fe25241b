"""GODEBUG: the binary's default GODEBUG and the effective value of each key.

cmd/go (src/cmd/go/internal/load/godebug.go, go1.21-go1.27) embeds a default
GODEBUG in every main package: the go.mod ``godebug`` lines, then the main
package's ``//go:debug`` directives (which override them), then, for every
internal/godebugs table key not set by either, the key's ``Old`` value when the
go line is older than the release that changed its default. The result is
recorded as the build setting ``DefaultGODEBUG`` (absent when empty). At run
time the GODEBUG environment variable overrides it, key by key.

The table and the defaults come from the spec (rthooks.spec.load), never from
copies here; the per-key lookup wraps OracleRuntime.env_godebug.
"""

from __future__ import annotations

from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle.state import OracleRuntime


def goline(rt: OracleRuntime) -> GoVersion:
    """The go.mod go line the modelled binary was built with (the release's own by default)."""
    return GoVersion.parse(str(rt.setup.get("goline") or rt.release))


def default_godebug(rt: OracleRuntime) -> dict[str, str]:
    """The key=value pairs cmd/go embeds as DefaultGODEBUG, sorted by key."""
    from rthooks.spec.load import default_spec
    from rthooks.spec.query import default_godebug_string

    out: dict[str, str] = {}
    out.update({str(k): str(v) for k, v in (rt.setup.get("godebug") or {}).items()})
    out.update({str(k): str(v) for k, v in (rt.setup.get("directives") or {}).items()})
    for k, v in default_godebug_string(default_spec(), rt.release, goline(rt)).items():
        out.setdefault(k, v)
    return dict(sorted(out.items()))


def default_godebug_text(rt: OracleRuntime) -> str:
    return ",".join(f"{k}={v}" for k, v in default_godebug(rt).items())


def effective(rt: OracleRuntime, key: str) -> str | None:
    """The value the runtime and the standard library see for ``key`` (None: the key does not exist)."""
    return rt.env_godebug(key)


def build_info(rt: OracleRuntime) -> dict[str, Any]:
    """debug.ReadBuildInfo's *BuildInfo, as the Go driver encodes it (CGO_ENABLED=0, linux/amd64, -trimpath).

    The steps ReadBuildInfo and BuildInfo.String are registered by oracle/buildinfo.py (runtime/debug's
    area); this is the GODEBUG side of that value, DefaultGODEBUG included in every release (go1.21 too).
    """
    settings = [
        {"Key": "-buildmode", "Value": "exe"},
        {"Key": "-compiler", "Value": "gc"},
        {"Key": "-trimpath", "Value": "true"},
    ]
    text = default_godebug_text(rt)
    if text:
        settings.append({"Key": "DefaultGODEBUG", "Value": text})
    settings += [
        {"Key": "CGO_ENABLED", "Value": "0"},
        {"Key": "GOARCH", "Value": "amd64"},
        {"Key": "GOOS", "Value": "linux"},
        {"Key": "GOAMD64", "Value": "v1"},
    ]
    return {
        "Deps": None,
        "GoVersion": f"go{rt.release}",
        "Main": {"Path": "rthooks.dev/driver", "Replace": None, "Sum": "", "Version": "(devel)"},
        "Path": "rthooks.dev/driver",
        "Settings": settings,
    }


def _read_build_info(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[Any]:
    return [build_info(rt), True]


def _build_info_string(rt: OracleRuntime, args: list[Any], _w: dict[str, Any]) -> str:
    from rthooks.oracle import buildinfo

    bi = args[0] if args and isinstance(args[0], dict) else build_info(rt)
    return buildinfo.to_string(bi)


def register_build_info_steps() -> None:
    """ReadBuildInfo and BuildInfo.String, unless runtime/debug's oracle/buildinfo.py registers them.

    registry.load_areas imports gc (which imports buildinfo) before profiles (which calls this), so
    buildinfo's own registrations win and this never registers a step twice.
    """
    from rthooks.oracle.registry import STEPS

    STEPS.setdefault("runtime/debug.ReadBuildInfo", _read_build_info)
    STEPS.setdefault("runtime/debug.BuildInfo.String", _build_info_string)
