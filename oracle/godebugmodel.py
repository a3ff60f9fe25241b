"""GODEBUG: the binary's default GODEBUG and the effective value of each key.

cmd/go (src/cmd/go/internal/load/godebug.go, go1.21-go1.27) embeds a default
GODEBUG in every main package: the go.mod ``godebug`` lines, then the main
package's ``//go:debug`` directives (which override them), then, for every
internal/godebugs table key not set by either, the key's ``Old`` value when the
go line is older than the release that changed its default (from go1.23 a
``default=goV`` setting, itself left out, replaces the go line there). The result is
recorded as the build setting ``DefaultGODEBUG`` (absent when empty). At run
time the GODEBUG environment variable overrides it, key by key.

The table and the defaults come from the spec (rthooks.spec.load), never from
copies here; the per-key lookup wraps OracleRuntime.env_godebug. This is the build side (what the
binary carries); the runtime side, the godebug.* ops, is oracle/godebugops.py.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from rthooks.goversion import GoVersion
from rthooks.oracle.releases import cutoff
from rthooks.spec.load import default_spec
from rthooks.spec.query import default_godebug_string

if TYPE_CHECKING:  # the runtime state imports this module (binary_godebug): the type only, no cycle
    from rthooks.oracle.state import OracleRuntime


def goline(rt: OracleRuntime) -> GoVersion:
    """The go.mod go line the modelled binary was built with (the release's own by default)."""
    return GoVersion.parse(str(rt.setup.get("goline") or rt.release))


def gover_parse(x: str) -> tuple[int, int, int, str, int] | None:
    """internal/gover.Parse (go1.21-go1.27): "1", "1.N", "1.N.P", "1.Nrc1" and the like as (major, minor,
    patch, kind, pre), None where Go's IsValid is false. A missing patch counts as 0 before 1.21 and sorts
    before ".0" from 1.21 (-1 here), as Go's comparison of the empty string with "0" does."""

    def cut(t: str) -> tuple[int, str] | None:
        i = 0
        while i < len(t) and t[i].isascii() and t[i].isdigit():
            i += 1
        if i == 0 or (t[0] == "0" and i != 1):  # no digits, or an unnecessary leading zero
            return None
        return int(t[:i]), t[i:]

    got = cut(x)
    if got is None:
        return None
    major, x = got
    if x == "":
        return (major, 0, 0, "", -1)
    if x[0] != ".":
        return None
    got = cut(x[1:])
    if got is None:
        return None
    minor, x = got
    if x == "":
        return (major, minor, 0 if minor < 21 else -1, "", -1)
    if x[0] == ".":
        got = cut(x[1:])
        if got is None or got[1] != "":
            return None
        return (major, minor, got[0], "", -1)
    i = 0
    while i < len(x) and not ("0" <= x[i] <= "9"):
        if not ("a" <= x[i] <= "z"):
            return None
        i += 1
    if i == 0:
        return None
    kind, x = x[:i], x[i:]
    if x == "":
        return (major, minor, -1, kind, -1)
    got = cut(x)
    if got is None or got[1] != "":
        return None
    return (major, minor, -1, kind, got[0])


def _gover_key(v: tuple[int, int, int, str, int]) -> tuple[int, int, int, int, str, int]:
    """gover.Compare's order: major, minor, patch, then "" < alpha < beta < rc, then the prerelease number.
    A release (kind "") sorts after its prereleases only through the patch (1.21 < 1.21rc1 < 1.21.0)."""
    major, minor, patch, kind, pre = v
    return (major, minor, patch, 0 if not kind else 1, kind, pre)


def godebug_for_go_version(spec_release: GoVersion, version: str) -> dict[str, str] | None:
    """cmd/go's godebugForGoVersion: the Old value of every internal/godebugs key whose default changed
    after ``version`` ("1.N", "1.N.P"; a patch is cut off). None (no defaults at all) when the version
    is not "1." followed by a decimal minor: "1", "1.21rc1" (load/godebug.go, go1.21-go1.27)."""
    if version.count(".") >= 2:
        version = ".".join(version.split(".")[:2])
    if not version.startswith("1."):
        return None
    minor = version[2:]
    if not minor or not all(c.isascii() and c.isdigit() for c in minor):
        return None  # strconv.Atoi fails (a sign would pass Atoi, but no valid go version has one)
    return dict(_defaults(spec_release, int(minor)))


@functools.lru_cache(maxsize=256)
def _defaults(release: GoVersion, minor: int) -> tuple[tuple[str, str], ...]:
    """default_godebug_string, cached: every GODEBUG lookup of the model (env_godebug) comes through here."""
    return tuple(default_godebug_string(default_spec(), release, GoVersion(minor)).items())


def default_godebug(rt: OracleRuntime) -> dict[str, str]:
    """The key=value pairs cmd/go embeds as DefaultGODEBUG, sorted by key (load/godebug.go defaultGODEBUG):
    the go.mod godebug lines, overridden by the //go:debug directives; a ``default=goV`` among them
    (accepted from go1.23) is taken out and, where V is a valid Go version, replaces the go line; then
    the defaults of that version go under them. A version that is not "1.N" (``default=go1``,
    ``default=go1.21rc1``) gives no defaults, so only the explicit settings remain."""
    out: dict[str, str] = {}
    out.update({str(k): str(v) for k, v in (rt.setup.get("godebug") or {}).items()})
    out.update({str(k): str(v) for k, v in (rt.setup.get("directives") or {}).items()})
    version = str(goline(rt))
    if "default" in out:
        v = out.pop("default")
        v = v[2:] if v.startswith("go") else v
        if gover_parse(v) is not None:
            version = v
    defaults = godebug_for_go_version(rt.release, version)
    if defaults is not None:
        out = {**defaults, **out}
    return dict(sorted(out.items()))


def binary_value(rt: OracleRuntime, key: str) -> str | None:
    """The value of ``key`` the binary carries before the environment's: its DefaultGODEBUG entry, else
    the key's own default in the release (None for a key the release does not know)."""
    value = default_godebug(rt).get(key)
    if value is not None:
        return value
    item = default_spec().items.get(f"godebug:{key}")
    if item is None or not item.exists_in(rt.release):
        return None
    d = item.at(rt.release).get("default")
    return None if d is None else str(d)


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
        v = gover_parse(value[2:]) if value.startswith("go") else None
        if v is None:
            return "value for default= must be goVERSION"
        # gover.Compare(v, gover.Local()) > 0. The model knows the release, not the toolchain's patch: it
        # compares with go1.N.0, so a default=go1.N.P with P above 0 for the toolchain's own minor (which
        # depends on the patch release installed) is outside the model, and the build area never draws it.
        if _gover_key(v) > _gover_key((1, release.minor, 0, "", -1)):
            return f"default={value} too new (toolchain is go{release})"
        return None
    item = default_spec().items.get(f"godebug:{key}")
    if item is not None and item.at(release).get("table") and item.exists_in(release):
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

    go.mod ``godebug`` lines are checked when go.mod is loaded (before any source is read), then the
    ``//go:debug`` directives. Within each stage every bad line is reported, as the go command does
    (go1.23.9 and go1.27.3, a go.mod with two unknown godebug keys: one ``go: error loading go.mod:``
    paragraph per key, modload/init.go appending to ``errs``; modfile's usage errors under one
    ``errors parsing go.mod`` header; two bad directives: two lines under the package's ``# path``);
    the first stage that fails stops the build.
    """
    godebug = sorted((str(k), str(v)) for k, v in (setup.get("godebug") or {}).items())
    if godebug and release < cutoff("gomod-godebug-block"):
        return "go: errors parsing go.mod:\ngo.mod:5: unknown block type: godebug"
    line = setup.get("goline")
    if line is not None and GoVersion.parse(str(line)) > release:
        # GOTOOLCHAIN=local (the harness pins it): a go line above the toolchain's release is refused before
        # go.mod's godebug lines are read (go1.27.3: `go 1.28` with an unknown godebug key reports only this).
        # The model knows the release, not the patch the message names ("running go 1.27.3").
        return f"go: go.mod requires go >= {line} (running go {release}; GOTOOLCHAIN=local)"
    # modfile's parser (x/mod/modfile rule.go, case "godebug") refuses a quote or comma in the line with a
    # usage message, before cmd/go's own check of the key and value.
    usage = [f"go.mod:{6 + n}:2: usage: godebug key=value" for n, (k, v) in enumerate(godebug) if _modfile_bad(k, v)]
    if usage:
        return "\n".join(["go: errors parsing go.mod:", *usage])
    loading = [
        f"go: error loading go.mod:\ngo.mod:{6 + n}: {why}"
        for n, (k, v) in enumerate(godebug)
        if (why := _check_godebug("godebug", k, v, release))
    ]
    if loading:
        return "\n".join(loading)
    directives = sorted((str(k), str(v)) for k, v in (setup.get("directives") or {}).items())
    invalid = [
        f"./zz_directives.go:{n + 1}:1: invalid //go:debug: {why}"
        for n, (k, v) in enumerate(directives)
        if (why := _check_godebug("//go:debug setting", k, v, release))
    ]
    if invalid:
        return "\n".join(["# rthooks.dev/driver", *invalid])
    return None


def _modfile_bad(key: str, value: str) -> bool:
    return any(c in key + value for c in "\"`',")


def test_module_godebug(rt: OracleRuntime, key: str, *, goline: str) -> str | None:
    """The value of ``key`` in another binary built by the same toolchain for a module at ``goline``
    (a `go test` binary, say), run in this program's environment: GODEBUG over that module's defaults."""
    for kv in reversed((rt.env.get("GODEBUG") or "").split(",")):
        k, eq, v = kv.partition("=")
        if eq and k == key:
            return v
    return default_godebug_string(default_spec(), rt.release, GoVersion.parse(goline)).get(key)
