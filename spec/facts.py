"""Facts read from a real toolchain: the ground truth that ``spec check`` holds the spec to.

Each reader returns plain data (lists of dicts) so that the check and the
generator (tools/genspec.py) share exactly one way of reading a toolchain:
- the exported API, by the Go probe parsing GOROOT sources (go/parser, go/doc);
- ``metrics.All()``, from the probe built with and run under that toolchain;
- the GODEBUG tables, parsed from ``internal/godebugs/table.go`` and the
  runtime's ``dbgvars`` in ``runtime/runtime1.go``;
- ``DefaultGODEBUG`` per go.mod go line, from ``go list``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rthooks.errors import RthooksError
from rthooks.toolchain import Toolchain, cache_dir

PACKAGES = ["runtime", "runtime/debug", "runtime/metrics", "runtime/pprof", "runtime/trace", "os/signal", "os"]
PROBE_DIR = Path(__file__).parent / "probe"


def _probe_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(PROBE_DIR.iterdir()):
        if p.suffix in (".go", ".mod"):
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Port:
    """A GOOS/GOARCH whose facts are read by running the probe built for it: ``launcher`` is the argv
    prefix that runs one of its binaries here (empty when native), ``prepare`` turns the built file
    into what the launcher runs (a precompiled wasm module). The harness's ports table describes
    the ports; the command line hands one over as this plain data (the spec layer sits below)."""

    goos: str
    goarch: str
    launcher: tuple[str, ...] = ()
    prepare: Callable[[Path], Path] | None = None
    timeout_scale: float = 1.0

    @property
    def name(self) -> str:
        return f"{self.goos}/{self.goarch}"


HOST = Port("linux", "amd64")


@cache
def probe(tc: Toolchain, port: Port = HOST) -> Path:
    """Build (or reuse) the probe binary for this toolchain and port."""
    suffix = "" if port == HOST else f"-{port.goos}-{port.goarch}"
    out = cache_dir() / "probe" / f"{tc.version}-{tc.identity}-{_probe_hash()}{suffix}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        env = tc.env(GOOS=port.goos, GOARCH=port.goarch) if port != HOST else tc.env()
        tc.run("build", "-trimpath", "-o", str(tmp), ".", cwd=PROBE_DIR, env=env)
        tmp.rename(out)
    return port.prepare(out) if port.prepare else out


def _run_probe(tc: Toolchain, *args: str, port: Port = HOST, env: dict[str, str] | None = None) -> Any:
    """The probe's JSON answer to ``args``, built for and run on ``port``; ``env`` adds variables."""
    argv = [*port.launcher, str(probe(tc, port)), *args]
    try:
        with tempfile.TemporaryDirectory(prefix="rthooks-probe-") as work:  # a runner may use its folder
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=120 * port.timeout_scale,
                env=tc.env(**(env or {})),
                check=True,
                cwd=work,
            )
    except subprocess.CalledProcessError as e:
        raise RthooksError(
            f"probe {args[0]} on {port.name} failed: {e.stderr.strip()[:500]}", where=str(tc.go)
        ) from None
    except subprocess.TimeoutExpired:
        raise RthooksError(f"probe {args[0]} on {port.name} did not finish", where=str(tc.go)) from None
    return json.loads(proc.stdout)


@cache
def api(tc: Toolchain, port: Port = HOST) -> list[dict[str, Any]]:
    """Exported functions, methods, types, consts and vars of the hook packages, as the port's build
    constraints select the files (the probe parses GOROOT for that GOOS/GOARCH, natively).

    ``os`` is reduced to ``os.Exit``, the only item of it that the spec covers.
    """
    # The probe runs here, natively, and reads the port's files: only its build context is the port's.
    where = {"RTHOOKS_PROBE_GOOS": port.goos, "RTHOOKS_PROBE_GOARCH": port.goarch}
    items: list[dict[str, Any]] = _run_probe(tc, "api", str(tc.goroot), *PACKAGES, env=where)
    return [i for i in items if i["package"] != "os" or (i["name"] == "Exit" and not i.get("receiver"))]


@cache
def metrics(tc: Toolchain, port: Port = HOST) -> list[dict[str, Any]]:
    """``metrics.All()`` as reported by a binary built with this toolchain for ``port``, run there."""
    out: list[dict[str, Any]] = _run_probe(tc, "metrics", port=port)
    return out


_TABLE_ENTRY = re.compile(r"^\s*\{(Name:.*)\},?\s*(?://.*)?$")
_FIELD = re.compile(r'(\w+):\s*(func\([^)]*\)\s*bool\s*\{[^}]*\}|"(?:[^"\\]|\\.)*"|\w+)')


def _fields(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _FIELD.finditer(body)}


@cache
def godebug_table(tc: Toolchain) -> dict[str, Any]:
    """``internal/godebugs``: ``All`` (name, package, changed, old, opaque, immutable) and ``Removed``."""
    src = (tc.goroot / "src/internal/godebugs/table.go").read_text()
    all_part, _, rest = src.partition("var Removed")
    entries = []
    for line in all_part.splitlines():
        m = _TABLE_ENTRY.match(line)
        if not m:
            continue
        f = _fields(m.group(1))
        entries.append(
            {
                "name": f["Name"].strip('"'),
                "package": f["Package"].strip('"'),
                "changed": int(f.get("Changed", "0")),
                "old": f.get("Old", '""').strip('"'),
                "opaque": f.get("Opaque") == "true",
                "immutable": f.get("Immutable") == "true",
            }
        )
    removed = []
    preds = {"one": ["1"], "zero": ["0"]}
    for line in rest.splitlines():
        m = _TABLE_ENTRY.match(line)
        if not m:
            continue
        f = _fields(m.group(1))
        old = f.get("Old")  # absent before Go 1.27: the table only named the release
        olds = None if old is None else preds.get(old) or sorted(set(re.findall(r'"([^"]*)"', old)))
        removed.append({"name": f["Name"].strip('"'), "removed": int(f["Removed"]), "old": olds})
    return {"all": entries, "removed": removed}


_DBGVAR = re.compile(r'\{name:\s*"(\w+)",\s*(value|atomic):\s*&debug\.(\w+)(?:,\s*def:\s*(\d+))?\}')
_ASSIGN = re.compile(r"^\s*debug\.(\w+)\s*=\s*(\w+)")


@cache
def runtime_dbgvars(tc: Toolchain) -> list[dict[str, Any]]:
    """The runtime's own GODEBUG keys (``dbgvars``) with their built-in defaults on linux."""
    src = (tc.goroot / "src/runtime/runtime1.go").read_text()
    block = src[src.index("var dbgvars") :]
    block = block[: block.index("\n}\n")]
    fields: dict[str, str] = {}
    out = []
    for m in _DBGVAR.finditer(block):
        fields[m.group(3)] = m.group(1)
        out.append({"name": m.group(1), "default": m.group(4) or "0"})
    # Defaults assigned before the environment is parsed.
    start = re.search(r"func parse(?:RuntimeDebugVars|debugvars)\(", src)
    if start:
        body = src[start.end() :]
        body = body[: body.index("for _, v := range dbgvars")]
        consts = _runtime_consts(tc)
        for line in body.splitlines():
            am = _ASSIGN.match(line)
            if am and am.group(1) in fields:
                value = am.group(2)
                value = consts.get(value, value)
                for item in out:
                    if item["name"] == fields[am.group(1)]:
                        item["default"] = _intlit(value)
    return out


def _runtime_consts(tc: Toolchain) -> dict[str, str]:
    """Simple `name = literal` constants of package runtime (a default may name one, e.g. 1e9)."""
    out: dict[str, str] = {}
    # Only the files this toolchain compiles for linux/amd64 (build tags and default GOEXPERIMENTs
    # decide: go1.22 defines defaultTraceAdvancePeriod twice, in trace.go and trace2.go).
    env = tc.env(GOOS="linux", GOARCH="amd64")
    listed = tc.run("list", "-f", '{{join .GoFiles " "}}', "runtime", env=env).stdout.split()
    for name in sorted(listed):
        path = tc.goroot / "src/runtime" / name
        for name, value in re.findall(r"^\s*(?:const\s+)?(\w+)\s*=\s*([\w.]+)\s*(?://.*)?$", path.read_text(), re.M):
            out.setdefault(name, value)
    return out


def _intlit(text: str) -> str:
    try:
        return str(int(float(text))) if re.match(r"^[\d.e+]+$", text) else text
    except ValueError:
        return text


def default_godebug(tc: Toolchain, goline: str) -> dict[str, str]:
    """``DefaultGODEBUG`` of a main package whose go.mod says ``go GOLINE``."""
    with tempfile.TemporaryDirectory(prefix="rthooks-gl-") as d:
        Path(d, "go.mod").write_text(f"module example.com/m\n\ngo {goline}\n")
        Path(d, "main.go").write_text("package main\n\nfunc main() {}\n")
        out = tc.run("list", "-f", "{{.DefaultGODEBUG}}", ".", cwd=Path(d)).stdout.strip()
    return dict(kv.split("=", 1) for kv in out.split(",") if kv)
