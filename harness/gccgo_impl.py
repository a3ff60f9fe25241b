"""gccgo as an implementation under test: the same Go driver, built by gccgo, run one process per case.

It mirrors GoImpl (harness/impls.py) rather than subclassing it, since everything GoImpl holds
on to is a gc Toolchain (GOROOT, VERSION, `go env CC`, ports); what it shares is the sandboxed run.

Which release it models: its language level, the highest release tag its go command sets (1.18
for gccgo-12), not the spec's first modelled release (1.21). Cases are then gated exactly as for
any release: a case whose `requires.go` range excludes 1.18, or whose calls and covered clauses
all come from a later `since` (runtime/debug.SetMemoryLimit, 1.19; every GODEBUG key the spec
models, 1.21+), is N/A; everything older runs and is held to the documented behaviour. Calling
it 1.21 instead would hold gccgo to API it does not have and turn each absence into a failure.

Its capabilities leave out `gc-specific` (libgo is a different runtime: gc internals such as
the CPU profile buffer or `runtime/pprof.readProfile` do not apply) and `cgo` (the driver's cgo
ops need Go 1.21). Known deviations live in harness/expectations/gccgo-<GCC major>.yaml.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rthooks.errors import RthooksError
from rthooks.gccgo import Gccgo
from rthooks.harness.cases import Case
from rthooks.harness.driver_build import BuildConfig, cached_build
from rthooks.harness.impls import DriverImpl, GoImpl
from rthooks.harness.targets import Target
from rthooks.protocol.results import Implementation as ImplementationEntry

# What gccgo cannot offer, and why: the runner shows `why` beside a "requires capabilities" skip.
GCCGO_LACKS = frozenset({"gc-specific", "cgo"})
GCCGO_WHY = (
    "gccgo's runtime (libgo) is not the gc runtime, so gc-specific internals do not apply; the driver's"
    " cgo ops need Go 1.21"
)


class GccgoImpl(DriverImpl):
    """gccgo (GCC's Go): builds the Go driver with its go command, runs one process per case."""

    kind = "gccgo"
    capabilities = frozenset({"signals", "threads", "files", "exec", "reexec", "go-tool"})

    def __init__(self, gc: Gccgo) -> None:
        self.gc = gc
        self.name = gc.name
        self.release = gc.release
        # The machine's own port, run natively; `lacks` and `why` explain the capability skips.
        self.target = Target("linux", "amd64", "native", None, None, GCCGO_LACKS, 1.0, GCCGO_WHY)
        self._launcher = []
        super().__init__(gc.name)

    def describe(self) -> ImplementationEntry:
        return {
            **super().describe(),
            "toolchain_path": str(self.gc.go),
            "toolchain_hash": self.gc.identity,
            "goline": str(self.gc.release),
            "exec": "native",
        }

    def build_config(self, case: Case) -> BuildConfig:
        return build_config(self.gc, case.setup, case.data.get("requires"))

    def build(self, cfg: BuildConfig) -> Path:
        return build_driver(self.gc, cfg)

    def go_command(self) -> Path:
        return Path(self.gc.go)  # ops that run the toolchain run gccgo's go command

    def gocache(self) -> Path:
        return Path(self.gc.env()["GOCACHE"])

    def check_file(self, path: Path, tool: str) -> str | None:
        """Read a profile or trace back with a gc toolchain's `go tool pprof` / `go tool trace`.

        gccgo ships no pprof or trace tool (`go-12 tool` lists cgo and vet), and the formats are
        the documented ones, not gc's private business: the reader is the gc toolchain of this
        environment (`rthooks.toolchain.default()`), as any user of a gccgo program would do.
        """
        from rthooks import toolchain  # start-up: finding a gc toolchain is only needed for a file check

        try:
            tc = toolchain.default()
        except RthooksError as e:
            return f"{tool}: gccgo has none, and no gc toolchain to read {path.name} with ({e})"
        try:
            return GoImpl(tc).check_file(path, tool)
        except (RthooksError, OSError, subprocess.SubprocessError) as e:
            return f"{tool} cannot read {path.name}: {e}"


# ---- building the driver with gccgo (the core's rthooks.gccgo only finds gccgo and reads its version) ----


def build_config(gc: Gccgo, setup: dict[str, object], requires: dict[str, object] | None = None) -> BuildConfig:
    """What a case changes about the driver's build, as for gc (the go line defaults to gccgo's level).

    A case that needs cgo gets no cgo build: the driver's cgo ops need Go 1.21, so gccgo at 1.18
    level would leave them out anyway, and the implementation does not offer the capability.
    """
    goline = str(setup.get("goline") or gc.release)
    godebug = tuple(sorted((str(k), str(v)) for k, v in (setup.get("godebug") or {}).items()))  # type: ignore[attr-defined]
    directives = tuple(sorted((str(k), str(v)) for k, v in (setup.get("directives") or {}).items()))  # type: ignore[attr-defined]
    flags = tuple(str(f) for f in (setup.get("build_flags") or []))  # type: ignore[attr-defined]
    return BuildConfig(goline, godebug, directives, flags)



def build_driver(gc: Gccgo, cfg: BuildConfig) -> Path:
    """The driver built by gccgo for this configuration, from the rthooks cache when it is there.

    Keyed like harness/driver_build.py (the implementation's identity, the driver sources, the
    build configuration), under ``driver/gccgo<GCC version>-<key>``. The go command picks the
    files by their build constraints: gccgo sets release tags up to its level and not ``gc``, so
    the driver's files for newer API and for the gc runtime stay out. A build failure is an
    RthooksError whose ``output`` holds the compiler's text (build cases match on it).
    """

    def go_build(work: Path, out: Path) -> None:
        gc.run("build", "-trimpath", *cfg.flags, "-o", str(out), ".", cwd=work, timeout=600)

    return cached_build(["gccgo", gc.identity, gc.gcc_version], [], f"gccgo{gc.gcc_version}", cfg, go_build)
