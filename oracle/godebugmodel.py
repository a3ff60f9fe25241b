"""GODEBUG: the binary's default GODEBUG and the effective value of each key.

cmd/go (src/cmd/go/internal/load/godebug.go, go1.21-go1.27) embeds a default
GODEBUG in every main package: the go.mod ``godebug`` lines, then the main
package's ``//go:debug`` directives (which override them), then, for every
internal/godebugs table key not set by either, the key's ``Old`` value when the
go line is older than the release that changed its default. The result is
recorded as the build setting ``DefaultGODEBUG`` (absent when empty). At run
time the GODEBUG environment variable overrides it, key by key.

The table and the defaults come from the spec (rthooks.spec.load), never from
copies here; the per-key lookup wraps OracleRuntime.env_godebug. This is the build side (what the
binary carries); the runtime side, the godebug.* ops, is oracle/godebugops.py.
"""

from __future__ import annotations

from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle.releases import cutoff
from rthooks.oracle.state import OracleRuntime
from rthooks.spec.load import default_spec
from rthooks.spec.query import default_godebug_string


def goline(rt: OracleRuntime) -> GoVersion:
    """The go.mod go line the modelled binary was built with (the release's own by default)."""
    return GoVersion.parse(str(rt.setup.get("goline") or rt.release))


def default_godebug(rt: OracleRuntime) -> dict[str, str]:
    """The key=value pairs cmd/go embeds as DefaultGODEBUG, sorted by key."""
    out: dict[str, str] = {}
    out.update({str(k): str(v) for k, v in (rt.setup.get("godebug") or {}).items()})
    out.update({str(k): str(v) for k, v in (rt.setup.get("directives") or {}).items()})
    for k, v in default_godebug_string(default_spec(), rt.release, goline(rt)).items():
        out.setdefault(k, v)
    return dict(sorted(out.items()))


def default_godebug_text(rt: OracleRuntime) -> str:
    return ",".join(f"{k}={v}" for k, v in default_godebug(rt).items())


def effective(rt: OracleRuntime, key: str) -> str | None:
    """The value a standard-library package sees for ``key`` through internal/godebug (None: the key
    does not exist): the text before a ``#pattern`` bisect suffix. The pattern itself is modelled
    only as absent or unparsable (bisect.New's error leaves no matcher, so the value always applies)."""
    v = rt.env_godebug(key)
    return None if v is None else v.partition("#")[0]


def build_info(rt: OracleRuntime) -> dict[str, Any]:
    """debug.ReadBuildInfo's *BuildInfo, as the Go driver encodes it (CGO_ENABLED=0, linux/amd64, -trimpath).

    The steps ReadBuildInfo and BuildInfo.String are oracle/buildinfo.py's (runtime/debug's area); this
    is the GODEBUG side of that value, DefaultGODEBUG included in every release (go1.21 too).
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


def _check_godebug(verb: str, key: str, value: str, release: GoVersion) -> str | None:
    """cmd/go's check of one //go:debug or go.mod godebug setting (modload.CheckGodebug, load.ParseGoDebug).

    go1.21-1.22 accept only internal/godebugs table keys; go1.23 adds default=goVERSION;
    go1.26 rejects keys listed in internal/godebugs.Removed ("use of removed ..."); go1.27
    rejects them only when set to an old value. Which keys are listed when comes from the spec.
    """
    for bad, what in ((" \t", "space"), (",", "comma")):
        if any(c in key for c in bad):
            return f"key contains {what}"
        if any(c in value for c in bad):
            return f"value contains {what}"
    if key == "default" and release >= cutoff("godebug-default-goversion"):
        v = value[2:] if value.startswith("go") else ""
        try:
            ok = bool(v) and GoVersion.parse(v) is not None
        except ValueError:
            ok = False
        if not ok:
            return "value for default= must be goVERSION"
        if GoVersion.parse(v) > release:
            return f"default={value} too new (toolchain is go{release})"
        return None
    item = default_spec().items.get(f"godebug:{key}")
    if item is not None and item.data.get("table") and item.exists_in(release):
        return None
    removal = item.data.get("removal") if item is not None else None
    if removal and GoVersion.parse(str(removal.get("listed_since", removal["release"]))) <= release:
        since = GoVersion.parse(str(removal["release"]))
        if release >= cutoff("removed-godebug-old-value-error"):
            if value in [str(v) for v in removal.get("old_values") or []]:
                return (
                    f'removed GODEBUG "{key}" set to old value "{value}" (https://go.dev/doc/godebug#go-1{since.minor})'
                )
            return None
        if release >= cutoff("removed-godebug-use-error"):
            return f'use of removed {verb} "{key}", see https://go.dev/doc/godebug#go-1{since.minor}'
    return f'unknown {verb} "{key}"'


def build_error(setup: dict[str, Any], release: GoVersion) -> str | None:
    """The toolchain's error for a program's build configuration, or None if it builds.

    go.mod ``godebug`` lines are checked when go.mod is loaded (before any source is
    read), then each ``//go:debug`` directive; the first failure stops the build.
    """
    godebug = sorted((str(k), str(v)) for k, v in (setup.get("godebug") or {}).items())
    if godebug and release < cutoff("gomod-godebug-block"):
        return "go: errors parsing go.mod:\ngo.mod:5: unknown block type: godebug"
    for n, (k, v) in enumerate(godebug):
        why = _check_godebug("godebug", k, v, release)
        if why:
            return f"go: error loading go.mod:\ngo.mod:{6 + n}: {why}"
    directives = sorted((str(k), str(v)) for k, v in (setup.get("directives") or {}).items())
    for n, (k, v) in enumerate(directives):
        why = _check_godebug("//go:debug setting", k, v, release)
        if why:
            return f"# rthooks.dev/driver\n./zz_directives.go:{n + 1}:1: invalid //go:debug: {why}"
    return None


def test_module_godebug(rt: OracleRuntime, key: str, *, goline: str) -> str | None:
    """The value of ``key`` in another binary built by the same toolchain for a module at ``goline``
    (a `go test` binary, say), run in this program's environment: GODEBUG over that module's defaults."""
    for kv in reversed((rt.env.get("GODEBUG") or "").split(",")):
        k, eq, v = kv.partition("=")
        if eq and k == key:
            return v
    return default_godebug_string(default_spec(), rt.release, GoVersion.parse(goline)).get(key)
