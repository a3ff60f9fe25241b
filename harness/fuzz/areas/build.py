"""The build area: the go.mod go line, go.mod ``godebug`` lines and ``//go:debug`` directives (issue 14).

Each program is a build configuration (case ``setup``: ``goline``, ``godebug``, ``directives``) and,
sometimes, a GODEBUG environment variable (the run-time override), probed by three steps: the binary's
build information (runtime/debug.ReadBuildInfo, whose ``DefaultGODEBUG`` setting is what cmd/go
computed: the go line's defaults under the go.mod lines under the directives, with ``default=goV``
replacing the go line from go1.23), a recovered ``panic(nil)``, whose outcome shows the value the
runtime finally took for panicnil (environment over the binary's default), and a fired timer's channel
(godebug.timer: asynctimerchan, whose default changed in go1.23, so a go line below 1.23 turns it on,
until go1.27 removed it). A configuration the go
command refuses (a key the release's internal/godebugs table does not have, a removed key, a go.mod
godebug block before go1.23, ``default=`` with a bad or too-new version, a go line above the
toolchain) is a failed build: the two implementations must agree that it fails.

The grammar comes from the spec (spec/godebug.yaml: every key with its table facts, documented values
and removal; spec/releases.yaml through ``Spec.releases``), not from lists written here; what is left
out, and why, is in :data:`BUILD_LIMITS`.

Cost: every distinct configuration is a build of the Go driver: the go command compiles the driver's
main package and links it, 3 s on a quiet machine and 7-12 s with the machine loaded (measured on 2
cores); a refused configuration costs well under a second (go.mod and directive checks come before the
compile). Builds are cached on disk by configuration, so a rerun, or a shrink that returns to a
configuration, does not build again. The area is therefore budgeted by ``--examples``, not seconds:
``--examples 40`` (about 25 builds and 15 refusals) is a few minutes in CI, where ``--seconds 60``
would be a handful of programs on a loaded machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from rthooks.goversion import GoVersion
from rthooks.harness.fuzz._strategies import Program, Relation, documented_values
from rthooks.harness.fuzz.areas import Area
from rthooks.spec.load import Item, Spec

#: What the build area leaves out of its grammar, with why (the blind spots, as DOMAIN_LIMITS has them).
BUILD_LIMITS: dict[str, str] = {
    "goline-below-1.13": "the driver's own source uses 0o octal literals (go1.13 language), so a go line below "
    "1.13 fails to compile the driver (`0o/0O-style octal literal requires go1.13 or later (-lang was set to "
    "go1.12; check go.mod)`, go1.27.3): a property of the harness's driver, not of cmd/go's GODEBUG handling",
    "default-patch-of-own-minor": "default=go1.N.P with P above 0 for the toolchain's own minor N is accepted or "
    "refused (`too new`) by the patch release installed (go1.27.3 accepts go1.27.3, refuses go1.27.4); the oracle "
    "models releases, not patches, so it is not drawn",
    "env-runtime-variables": "GODEBUG in the environment draws panicnil and the internal/godebugs table keys only: "
    "the runtime's own variables (gctrace, sbrk, ...) at start-up are the env area's, with its exclusions",
}

BUILDINFO = Relation(
    "buildinfo",
    "ReadBuildInfo's GoVersion is runtime.Version(): the toolchain reports its patch release (go1.27.3), the "
    "oracle models the release (go1.27); the GoVersion is compared without the patch, everything else "
    "(Path, Main, Deps, every build setting with DefaultGODEBUG, ok) by equality",
    lambda ref, v: _buildinfo_facts(ref, v),
)


def _buildinfo_facts(ref: str, value: Any) -> list[dict[str, Any]]:
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], dict)):
        return [{"of": ref, "equals": value}]
    bi, ok = value
    out: list[dict[str, Any]] = [{"of": f"{ref}[1]", "equals": ok}]
    release = re.sub(r"^(go1\.\d+)(\.\d+)?$", r"\1", str(bi.get("GoVersion")))
    out.append({"of": f"{ref}[0].GoVersion", "regex": "^" + re.escape(release) + r"(\.[0-9]+)?$"})
    for key in ("Path", "Main", "Deps"):
        out.append({"of": f"{ref}[0].{key}", "equals": bi.get(key)})
    settings = bi.get("Settings") or []
    default = [s.get("Value") for s in settings if isinstance(s, dict) and s.get("Key") == "DefaultGODEBUG"]
    # DefaultGODEBUG on its own first, so a saved case shows the value that differs; then the whole list.
    if default:
        out.append({"of": f"{ref}[0].Settings", "contains": {"Key": "DefaultGODEBUG", "Value": default[0]}})
    out.append({"of": f"{ref}[0].Settings", "equals": settings})
    return out


def _minor_lines(go: GoVersion, spec: Spec) -> list[str]:
    """Go lines: every modelled release up to the toolchain's, older ones the driver compiles with (1.13,
    1.16, 1.17, 1.20: before GODEBUG existed, so every table key gets its old value), and the release
    after the toolchain's (refused: the harness pins GOTOOLCHAIN=local)."""
    releases = [r for r in spec.releases if r <= go]
    return [*("1.13", "1.16", "1.17", "1.20"), *(str(r) for r in releases), f"1.{go.minor + 1}"]


def _default_values(go: GoVersion) -> list[str]:
    """Values for ``default=``: go1.N from Go 1.0 to one past the toolchain (too new), the forms gover
    accepts that are not "1.N" (go1, go1.21rc1: no defaults at all) and ones it refuses."""
    vals = [f"go1.{n}" for n in (0, 13, 17, 20, *range(21, go.minor + 2))]
    vals += ["go1", "go1.20.0", f"go1.{go.minor - 1}.0", f"go1.{go.minor}.0", "go1.21rc1", "go1.22rc"]
    vals += ["1.20", "go1.x", "go", "go1.020", "go1.21.0rc1", ""]
    return vals


def _keys(spec: Spec, go: GoVersion) -> tuple[list[Item], list[Item], list[Item]]:
    """(table keys the release's internal/godebugs has, runtime variables only, keys removed by go or
    listed as removed) from spec/godebug.yaml."""
    table, runtime_only, removed = [], [], []
    for it in spec:
        if it.kind != "godebug" or it.since > go:
            continue
        gone = it.removed is not None and it.removed <= go
        listed = it.data.get("removal") and GoVersion.parse(str(it.data["removal"].get("listed_since", "99"))) <= go
        if gone or listed:
            removed.append(it)
        elif it.at(go).get("table"):  # a key may enter the table in a later release (tracebacklabels: 1.27)
            table.append(it)
        else:
            runtime_only.append(it)
    return table, runtime_only, removed


def _values(it: Item) -> list[str]:
    removal = it.data.get("removal") or {}
    return sorted({*documented_values(it), *(str(v) for v in removal.get("old_values") or []), "2", ""})


def settings(spec: Spec, go: GoVersion) -> st.SearchStrategy[tuple[str, str]]:
    """One key=value for a go.mod godebug line or a //go:debug directive: table keys with their
    documented values (panicnil often: the program observes it), runtime-only variables (refused),
    removed keys with old and other values, ``default=``, unknown and misspelt keys, values with a comma."""
    table, runtime_only, removed = _keys(spec, go)
    panicnil = st.tuples(st.just("panicnil"), st.sampled_from(["0", "1", "2", ""]))
    known = st.sampled_from([(it.data["name"], v) for it in table for v in _values(it)])
    runtime = st.sampled_from([(it.data["name"], v) for it in runtime_only for v in ("0", "1")])
    gone = st.sampled_from([(it.data["name"], v) for it in removed for v in _values(it)]) if removed else known
    default = st.tuples(st.just("default"), st.sampled_from(_default_values(go)))
    odd = st.sampled_from([("nosuchkey", "1"), ("PANICNIL", "1"), ("panicnil", "1,2"), ("panic.nil", "1")])
    refused = st.one_of(gone, runtime, odd)  # one class in four: most programs build, and are probed
    return st.one_of(panicnil, known, default, refused)


def _values_of(spec: Spec, go: GoVersion) -> Callable[[str], st.SearchStrategy[str]]:
    """The values drawn for one key (its documented ones, default='s versions, or 0/1 for an unknown key)."""

    def values(key: str) -> st.SearchStrategy[str]:
        if key == "default":
            return st.sampled_from(_default_values(go))
        item = spec.items.get(f"godebug:{key}")
        return st.sampled_from(_values(item) if item is not None else ["0", "1"])

    return values


def _env_godebug(spec: Spec, go: GoVersion) -> st.SearchStrategy[str]:
    table = _keys(spec, go)[0]
    fields = st.one_of(
        st.sampled_from(["panicnil=0", "panicnil=1", "panicnil=2", "panicnil=", "nosuchkey=1"]),
        st.sampled_from([f"{it.data['name']}={v}" for it in table for v in _values(it)]),
    )
    return st.lists(fields, min_size=1, max_size=3).map(",".join)


def _cover(setup: dict[str, Any], env: dict[str, str]) -> list[str]:
    """The clauses a program exercises: panicnil's (by which source may set it) and DefaultGODEBUG's."""
    out = ["runtime/debug.ReadBuildInfo#ok-with-modules"]
    sets_one = any(
        (src.get("panicnil") == "1") for src in (setup.get("godebug") or {}, setup.get("directives") or {})
    ) or "panicnil=1" in env.get("GODEBUG", "")
    line = setup.get("goline")
    if sets_one:
        out.append("godebug:panicnil#one-restores-nil")
    elif line is not None and GoVersion.parse(line).minor < 21:
        out.append("godebug:panicnil#goline-default")
    else:
        out.append("godebug:panicnil#default-panicnilerror")
    return out


def build_programs(spec: Spec, go: GoVersion) -> st.SearchStrategy[Program]:
    """Programs whose setup holds a go line, go.mod godebug lines and //go:debug directives (each
    optional), and GODEBUG sometimes; three probe steps."""
    pairs = settings(spec, go)
    lines = st.one_of(st.none(), st.sampled_from(_minor_lines(go, spec)))
    block: st.SearchStrategy[dict[str, str]] = st.lists(pairs, max_size=2, unique_by=lambda kv: kv[0]).map(dict)
    none: st.SearchStrategy[dict[str, str]] = st.just({})
    gomod = st.one_of(none, none, block)
    values_of = _values_of(spec, go)
    env = st.one_of(st.none(), _env_godebug(spec, go))

    @st.composite
    def build(draw: Callable[..., Any]) -> Program:
        p = Program(area="build")
        line = draw(lines)
        if line is not None:
            p.setup["goline"] = line
        # go.mod godebug lines one program in three: before go1.23 every one fails the build (an unknown
        # block), so more would leave the older releases little to probe.
        for section, blocks in (("godebug", gomod), ("directives", block)):
            got = draw(blocks)
            if got:
                p.setup[section] = got
        # The precedence rules need one key set two ways: a directive over a go.mod line (and, below, the
        # environment over both); chance alone rarely draws the same key twice.
        lower = p.setup.get("godebug") or {}
        if lower and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(lower)))
            p.setup["directives"] = {**p.setup.get("directives", {}), key: draw(values_of(key))}
        value = draw(env)
        if value is not None:
            p.env["GODEBUG"] = value
        p.add({"call": "runtime/debug.ReadBuildInfo"}, "DefaultGODEBUG", relation=BUILDINFO)
        p.add({"op": "panic", "with": {"type": "nil"}}, "panicnil")
        p.add({"op": "godebug.timer"}, "asynctimerchan")  # a second key: its default changed in 1.23
        p.covers = _cover(p.setup, p.env)
        return p

    return build()


AREA = Area(
    name="build",
    description="go.mod go lines, go.mod godebug lines and //go:debug directives (a driver build per "
    "configuration: budget it with --examples)",
    programs=build_programs,
    relations=(BUILDINFO,),
)
