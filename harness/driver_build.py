"""Building the Go driver with a given toolchain, cached by everything that affects the binary.

A case that changes the go.mod go line, go.mod godebug lines, //go:debug
directives or build flags gets a build of its own; all other cases share one
binary per toolchain. The cache key hashes the toolchain identity, the driver
sources and that build configuration, so editing the driver or switching
toolchains can never reuse a stale binary.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rthooks.harness import targets
from rthooks.toolchain import Toolchain, cache_dir

DRIVER_DIR = Path(__file__).parent / "driver"
_locks: dict[str, threading.Lock] = {}
# Where built drivers go instead of the rthooks cache (builds_under): a mutant's builds are
# thrown away with it rather than kept forever.
_root: list[Path] = []
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class BuildConfig:
    """What a case may change about the driver's build."""

    goline: str
    godebug: tuple[tuple[str, str], ...] = ()
    directives: tuple[tuple[str, str], ...] = ()
    flags: tuple[str, ...] = field(default=())
    cgo: bool = False  # CGO_ENABLED=1 (the case requires the "cgo" capability); cgo_*.go files join the build
    target: str = "linux/amd64"  # GOOS/GOARCH (harness/targets.py)

    @classmethod
    def for_case(
        cls,
        setup: dict[str, object],
        tc: Toolchain,
        requires: dict[str, object] | None = None,
        target: str = "linux/amd64",
    ) -> BuildConfig:
        goline = str(setup.get("goline") or tc.release)
        godebug = tuple(sorted((str(k), str(v)) for k, v in (setup.get("godebug") or {}).items()))  # type: ignore[attr-defined]
        directives = tuple(sorted((str(k), str(v)) for k, v in (setup.get("directives") or {}).items()))  # type: ignore[attr-defined]
        flags = tuple(str(f) for f in (setup.get("build_flags") or []))  # type: ignore[attr-defined]
        cgo = "cgo" in ((requires or {}).get("capabilities") or [])  # type: ignore[operator]
        return cls(goline, godebug, directives, flags, cgo, target)


@contextlib.contextmanager
def builds_under(folder: Path) -> Iterator[None]:
    """Within the block, drivers are built and cached under ``folder`` (which the caller removes)."""
    _root.append(folder)
    try:
        yield
    finally:
        _root.remove(folder)


def _sources(folder: Path = DRIVER_DIR) -> list[Path]:
    # .go files, and the .s of ops that need an instruction Go has no API for (ops_godebug_dit_arm64.s)
    return sorted(p for p in folder.iterdir() if p.suffix in (".go", ".s") and not p.name.endswith("_test.go"))


def source_hash() -> str:
    h = hashlib.sha256()
    for p in _sources():
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def build_driver(tc: Toolchain, cfg: BuildConfig) -> Path:
    """The driver binary for this toolchain and configuration, built if not cached."""
    port = "" if cfg.target == targets.HOST else "-" + cfg.target.replace("/", "-")
    extra = (["cgo"] if cfg.cgo else []) + ([cfg.target] if cfg.target != targets.HOST else [])

    def go_build(work: Path, out: Path) -> None:
        env = tc.env(**{**targets.build_env(targets.parse(cfg.target)), **({"CGO_ENABLED": "1"} if cfg.cgo else {})})
        tc.run("build", "-trimpath", *cfg.flags, "-o", str(out), ".", cwd=work, timeout=600, env=env)

    return cached_build([tc.identity, str(tc.version)], extra, f"go{tc.version}{port}", cfg, go_build)


def cached_build(
    identity: list[str], extra: list[str], label: str, cfg: BuildConfig, go_build: Callable[[Path, Path], None]
) -> Path:
    """The driver built by ``go_build(work, out)`` from a copy of its sources with the case's go.mod
    and ``//go:debug`` lines, once per key: the compiler's ``identity``, the driver sources, the build
    configuration and ``extra``; cached under ``driver/<label>-<key>``. Every compiler (gc, gccgo)
    builds through here, so none can reuse a stale binary."""
    key = hashlib.sha256(
        json.dumps([*identity, source_hash(), cfg.goline, cfg.godebug, cfg.directives, cfg.flags, *extra]).encode()
    ).hexdigest()[:20]
    out = (_root[-1] if _root else cache_dir() / "driver") / f"{label}-{key}" / "rthooks-driver"
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if out.exists():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="rthooks-build-") as d:
            work = Path(d)
            for p in _sources():
                shutil.copy2(p, work / p.name)
            gomod = f"module rthooks.dev/driver\n\ngo {cfg.goline}\n"
            if cfg.godebug:
                gomod += "\ngodebug (\n" + "".join(f"\t{k}={v}\n" for k, v in cfg.godebug) + ")\n"
            (work / "go.mod").write_text(gomod)
            if cfg.directives:
                lines = "".join(f"//go:debug {k}={v}\n" for k, v in cfg.directives)
                (work / "zz_directives.go").write_text(lines + "\npackage main\n")
            # A name of this process's own: two rthooks commands may build the same driver at once (the
            # lock above is per process), and each then replaces the other's identical binary atomically.
            tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
            go_build(work, tmp)
            os.replace(tmp, out)
    return out
