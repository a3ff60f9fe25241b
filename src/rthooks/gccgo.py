"""gccgo, the other Go compiler: finding it, reading its language level, building the driver with it.

gccgo (GCC's Go front end, with its own runtime, libgo) is an independent implementation of the
hooks, so the suite runs on it too (``rthooks run --impl gccgo[=PATH]``). It is not a gc toolchain:
there is no GOROOT/VERSION and ``go version`` says "unknown" (Debian's gccgo-12), so
``rthooks.toolchain`` cannot identify it. What identifies it is its go command (``go-12``, Debian's
name): that command's build context names the compiler ("gccgo") and the release tags it sets, whose
highest (``go1.18`` for gccgo-12) is the Go language level the implementation claims, and the
release the harness models for it. The GCC version (``gccgo-12 -dumpfullversion``) names the
implementation (``gccgo-12``) and, with the binaries' sizes and times, keys the build cache, so a
gccgo upgrade never reuses a stale driver.

Everything a user can get wrong here (no gccgo, a gc go command given as gccgo, a command that
hangs or prints garbage) is one RthooksError line naming the Debian package, never a traceback.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.text import printable
from rthooks.toolchain import cache_dir, pinned_env, run_go

#: The Debian package that provides gccgo and its go command (named in every "not found" line).
DEBIAN_PACKAGE = "gccgo-12"
INSTALL_HINT = f"install Debian's {DEBIAN_PACKAGE} (apt-get install -y {DEBIAN_PACKAGE}) or give --impl gccgo=PATH"

# Debian names gccgo's go command go-N beside gccgo-N (and x86_64-linux-gnu-go-N).
_GO_N = re.compile(r"go-(\d+)")
_OUTPUT_CAP = 64 * 1024


@dataclass(frozen=True)
class Gccgo:
    """A gccgo installation: its go command, the compiler that command drives, and their versions."""

    go: Path  # the go command that builds with gccgo (go-12)
    compiler: Path  # gccgo itself (`go env GCCGO`)
    gcc_version: str  # "12.2.0"
    release: GoVersion  # the Go language level: the highest go1.N release tag (1.18 for gccgo-12)

    @property
    def name(self) -> str:
        """The implementation's name, and so its expectations file: ``gccgo-12``."""
        return f"gccgo-{self.gcc_version.split('.')[0]}"

    @property
    def identity(self) -> str:
        """A short hash that changes when the go command or the compiler changes (for build caches)."""
        parts = [str(self.go), str(self.compiler), self.gcc_version, str(self.release)]
        for p in (self.go, self.compiler):
            st = p.stat()
            parts.append(f"{st.st_size}|{st.st_mtime_ns}")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def env(self, **extra: str) -> dict[str, str]:
        """An environment that pins this gccgo and forbids downloads (as Toolchain.env does for gc).

        GOROOT is left to the go command (gccgo's is /usr on Debian, with no GOROOT/VERSION);
        its build cache is its own, apart from the gc toolchains'.
        """
        env = pinned_env(drop=("GCCGO",), GOCACHE=str(cache_dir() / "gccgo-build"))
        env.update(extra)
        return env

    def run(
        self, *args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a go subcommand; a failure is an RthooksError whose ``output`` holds everything it printed."""
        return run_go(self.go, args, cwd=cwd, timeout=timeout, env=env or self.env())


def find(path: str | None = None) -> Gccgo:
    """The gccgo named by ``path`` (its go command, ``go-12``, or the compiler, ``gccgo-12``), else the
    newest ``go-N`` on PATH whose compiler is gccgo; one line naming the Debian package if none is."""
    if path:
        return identify(_go_command_for(path))
    for go in _go_n_on_path():
        try:
            return identify(go)
        except RthooksError:
            continue  # a go-N that is not gccgo's (or is broken) is not the one we look for
    raise RthooksError(f"gccgo not found: {INSTALL_HINT}")


def _go_command_for(path: str) -> Path:
    """The go command for a user's ``--impl gccgo=PATH``: the path itself, or for a compiler
    (``gccgo-12``) the go command beside it (``go-12``)."""
    where = printable(path, 300)
    if "\0" in path:
        raise RthooksError(f"no such command: {INSTALL_HINT}", where=where)
    found = shutil.which(path)
    if not found:
        raise RthooksError(f"no such command: {INSTALL_HINT}", where=where)
    p = Path(found)
    if "gccgo" in p.name:
        beside = p.with_name(p.name.replace("gccgo", "go"))
        if not (beside.is_file() and os.access(beside, os.X_OK)):
            raise RthooksError(
                f"a gccgo compiler without its go command ({beside.name} beside it): {INSTALL_HINT}", where=where
            )
        return beside
    return p


def _go_n_on_path() -> list[Path]:
    """Every ``go-N`` command on PATH, newest N first (Debian installs gccgo-N's as go-N)."""
    seen: dict[int, Path] = {}
    for d in os.environ.get("PATH", "").split(os.pathsep):
        try:
            names = os.listdir(d or ".")
        except OSError:
            continue
        for n in names:
            m = _GO_N.fullmatch(n)
            full = Path(d or ".") / n
            if m and int(m.group(1)) not in seen and os.access(full, os.X_OK):
                seen[int(m.group(1))] = full
    return [seen[k] for k in sorted(seen, reverse=True)]


@cache
def identify(go: Path) -> Gccgo:
    """Read a go command's build context: it must build with gccgo; its release tags give the level."""
    where = printable(str(go), 300)
    with tempfile.TemporaryDirectory(prefix="rthooks-gccgo-") as d:
        # GOPATH mode in an empty folder: `go list` of a standard package needs no module.
        env = {**_clean_env(), "GO111MODULE": "off", "GOCACHE": str(cache_dir() / "gccgo-build")}
        out = _output([str(go), "list", "-f", "{{context.Compiler}} {{context.ReleaseTags}}", "runtime"], env, d, where)
        compiler_out = _output([str(go), "env", "GCCGO"], env, d, where)
    words = out.replace("[", " ").replace("]", " ").split()
    if not words or words[0] != "gccgo":
        said = printable(words[0], 20) if words else "nothing"
        raise RthooksError(
            f"not a gccgo go command (its compiler is {said}; a gc toolchain is --impl go=PATH): {INSTALL_HINT}",
            where=where,
        )
    levels = [GoVersion.parse(w) for w in words[1:] if re.fullmatch(r"go1\.\d+", w)]
    if not levels:
        raise RthooksError("gccgo's go command sets no go1.N release tag", where=where)
    compiler = shutil.which(compiler_out.strip()) if compiler_out.strip() else None
    if not compiler:
        raise RthooksError(
            f"its compiler ({printable(compiler_out.strip(), 80)!r}) is missing: {INSTALL_HINT}", where=where
        )
    version = _output([compiler, "-dumpfullversion"], env, None, where).strip()
    if not re.fullmatch(r"\d+(\.\d+)*", version):
        raise RthooksError(f"gccgo -dumpfullversion says {printable(version, 40)!r}, not a GCC version", where=where)
    return Gccgo(go=go, compiler=Path(compiler), gcc_version=version, release=max(levels))


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("GOFLAGS", "GOOS", "GOARCH", "GOROOT", "GCCGO", "GOENV"):
        env.pop(k, None)
    return {**env, "GOENV": "off", "GOTELEMETRY": "off", "GOTOOLCHAIN": "local"}


def _output(argv: list[str], env: dict[str, str], cwd: str | None, where: str, timeout: float = 120) -> str:
    """A command's stdout (at most 64 KiB of it); a failure or a hang is one line naming ``where``."""
    try:
        p = subprocess.run(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise RthooksError(
            f"'{Path(argv[0]).name} {' '.join(argv[1:])}' ran over {timeout:.0f}s", where=where
        ) from None
    except OSError as e:
        raise RthooksError(f"cannot run it ({e.strerror}): {INSTALL_HINT}", where=where) from None
    text = p.stdout[:_OUTPUT_CAP].decode("utf-8", "replace")
    if p.returncode != 0:
        said = p.stderr[:_OUTPUT_CAP].decode("utf-8", "replace").strip().splitlines()
        raise RthooksError(
            f"'{Path(argv[0]).name} {' '.join(argv[1:])}' failed: {printable(said[0], 200) if said else p.returncode}",
            where=where,
        )
    return text
