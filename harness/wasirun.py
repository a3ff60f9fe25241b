"""Run the Go driver built for wasip1/wasm as a protocol implementation, in the wasmtime runtime.

``python -m rthooks.harness.wasirun MODULE.cwasm [ARG...]`` is what the harness starts (in the sandbox, like
any implementation) for ``--impl go=1.27@wasip1/wasm``. A WASI module inherits descriptors 0, 1
and 2 only, so the observation channel cannot be descriptor 3 as PROTOCOL.md says for native
programs: this runner preopens a folder of its own as ``/rthooks-obs``, tells the module to write
its observation lines to ``/rthooks-obs/obs.jsonl`` (``RTHOOKS_OBS_PATH``), and forwards each line
to the real channel (``RTHOOKS_OBS_FD``) as it appears. The case's directory is preopened as
``/work`` and is the module's working directory (``PWD``). Stdin, stdout and stderr are the
runner's own, so the harness sees the program exactly as it would a native one.

The module is compiled once per driver build (:func:`precompile`, called by the harness) and only
deserialized here, so a case pays for loading, not for compiling 7 MB of wasm.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

OBS_DIR = ".rthooks-obs"  # inside the case directory: the only place the sandbox lets us write


def engine_config() -> object:
    """One engine configuration for compiling and for running (a precompiled module must match it).

    Linear memory is reserved as it grows, not 4 GiB up front plus guard pages: the sandbox caps
    the address space at 4 GiB.
    """
    import wasmtime  # start-up: an optional, heavy dependency, imported only when a wasip1 module runs

    cfg = wasmtime.Config()
    cfg.memory_reservation = 0
    cfg.memory_guard_size = 64 << 10
    cfg.memory_reservation_for_growth = 16 << 20
    return cfg


def available() -> bool:
    """Whether the wasmtime package can be imported here."""
    return importlib.util.find_spec("wasmtime") is not None


def precompile(wasm: Path) -> Path:
    """``wasm`` compiled for this machine next to it (``.cwasm``), once."""
    import wasmtime  # start-up: an optional, heavy dependency, imported only when a wasip1 module runs

    out = wasm.with_suffix(".cwasm")
    if out.exists():
        return out
    engine = wasmtime.Engine(engine_config())  # type: ignore[arg-type]
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # concurrent commands and workers
    tmp.write_bytes(wasmtime.Module(engine, wasm.read_bytes()).serialize())
    os.replace(tmp, out)
    return out


def _forward(path: Path, fd: int, done: threading.Event) -> None:
    """Copy what the module appends to ``path`` to ``fd``, until ``done`` and the file is drained."""
    with open(path, "rb") as f:
        while True:
            finished = done.is_set()
            chunk = f.read(1 << 16)
            if chunk:
                os.write(fd, chunk)
                continue
            if finished:
                return
            done.wait(0.01)


def main(argv: list[str]) -> int:
    import wasmtime  # start-up: an optional, heavy dependency, imported only when a wasip1 module runs

    if len(argv) < 2:
        print("usage: python -m rthooks.harness.wasirun MODULE.cwasm [ARG...]", file=sys.stderr)
        return 2
    module_path = Path(argv[1])
    obs_fd = int(os.environ.get("RTHOOKS_OBS_FD", "3"))
    work = Path.cwd()
    obs_dir = work / OBS_DIR
    obs_dir.mkdir(exist_ok=True)
    obs_file = obs_dir / "obs.jsonl"
    obs_file.touch()

    engine = wasmtime.Engine(engine_config())  # type: ignore[arg-type]
    module = wasmtime.Module.deserialize_file(engine, str(module_path))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["rthooks-driver", *argv[2:]]  # the driver takes none; the spec probe takes its command
    env = {k: v for k, v in os.environ.items() if k != "RTHOOKS_OBS_FD"}
    env.update(RTHOOKS_OBS_PATH=f"/rthooks-obs/{obs_file.name}", PWD="/work")
    wasi.env = list(env.items())
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    wasi.preopen_dir(str(work), "/work")
    wasi.preopen_dir(str(obs_dir), "/rthooks-obs")
    store.set_wasi(wasi)

    done = threading.Event()
    forwarder = threading.Thread(target=_forward, args=(obs_file, obs_fd, done), daemon=True)
    forwarder.start()
    code = 0
    trapped: str | None = None
    try:
        instance = linker.instantiate(store, module)
        start = instance.exports(store)["_start"]
        start(store)  # type: ignore[operator]
    except wasmtime.ExitTrap as e:
        code = e.code
    except wasmtime.Trap as e:
        trapped = str(e)
    except wasmtime.WasmtimeError as e:
        trapped = str(e)
    finally:
        done.set()
        forwarder.join()
        shutil.rmtree(obs_dir, ignore_errors=True)
    if trapped is not None:
        # A trap is the module crashing: end the way a crashed native program does.
        print(f"wasm trap: {trapped}", file=sys.stderr, flush=True)
        signal.signal(signal.SIGABRT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGABRT)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
