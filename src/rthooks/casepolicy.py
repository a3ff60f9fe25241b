"""What a case file may name: contract 5's allow-lists and bounds, in one place.

Case files come from strangers' pull requests, and the harness turns them into a
driver build (build flags, go.mod ``godebug`` lines, ``//go:debug`` directives),
a process environment, files written and read in a working directory, commands
run by ops such as ``lib.gocmd``, and patterns matched against output. Each of
those is a way to run code or touch the host unless it is held to a list of what
cases need. So every table below is an allow-list (what it does not name is
refused), each entry says why it is there, and each bound sits well above what
today's cases use, so that it stops abuse without getting in an honest case's way.

``rthooks validate`` reports every violation through one lint rule per concern
(RTH060-RTH067, in ``rthooks.spec.lint.rules``), and the harness calls
:func:`check_case` again before it runs a case, as defence in depth for a case
that never went through validate. Both uses need the same two properties: the
checks are *total* (any input shape, a document that failed its schema or a
hand-built dict, gives violations, never an exception) and *linear* in the size of
the case (no recursion: nesting is walked with an explicit stack, to a bound).

This module is core: it imports only the standard library and core modules.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rthooks import regex
from rthooks.protocol.refs import is_reference

Where = list[str | int]
Violation = tuple[Where, str]

# ---------------------------------------------------------------------------------------------
# Tables. Sorted by key; each says why it exists.
# ---------------------------------------------------------------------------------------------

# Build flags a case may pass to `go build` of the driver (setup.build_flags), besides
# `-tags=LIST` (tags of [A-Za-z0-9_.], comma-separated: cases select optional driver files
# such as rthooks_lib). `-race` and `-trimpath` change how the driver is compiled, not what
# the build runs or where it reads and writes.
BUILD_FLAGS: tuple[str, ...] = ("-race", "-trimpath", "-trimpath=false", "-trimpath=true")
TAG = re.compile(r"[A-Za-z0-9_.]+")
# Go's flag package reads these as booleans; a case writes the canonical spelling.
GO_BOOLS: dict[str, str] = {
    "0": "false",
    "1": "true",
    "F": "false",
    "FALSE": "false",
    "False": "false",
    "T": "true",
    "TRUE": "true",
    "True": "true",
    "f": "false",
    "t": "true",
}

# Why well-known go build flags are refused, for the message (every other flag is refused too).
REFUSED_BUILD_FLAGS: dict[str, str] = {
    "-C": "changes the directory the go command works in",
    "-asmflags": "passes arbitrary flags to the assembler",
    "-exec": "runs the built program through a command of the case's choosing",
    "-gcflags": "passes arbitrary flags to the compiler",
    "-ldflags": "passes arbitrary flags to the linker (-extld= runs any program)",
    "-modfile": "reads go.mod from a path of the case's choosing",
    "-o": "writes the binary to a path of the case's choosing",
    "-overlay": "replaces source files with files from anywhere",
    "-pkgdir": "reads and writes compiled packages anywhere",
    "-toolexec": "runs a command of the case's choosing for every compile and link",
}

# Environment variables a case may set (setup.env, the runtime.setenv op)
# or read (env.get), each with the values it may take:
#   text   any text without NUL (cases test how the runtime parses junk, so no grammar here)
#   name   a bare lowercase name ([a-z0-9]+): it can carry no path, flag or list
#   flag   0 or 1
#   goroot one of FAKE_GOROOTS
ENV_KEYS: dict[str, tuple[str, str]] = {
    "GOARCH": ("name", "runtime.GOARCH#fixed-at-compile-time sets a foreign target at run time"),
    "GODEBUG": ("text", "the GODEBUG settings under test"),
    "GOGC": ("text", "env:GOGC parsing, junk included"),
    "GOMAXPROCS": ("text", "env:GOMAXPROCS parsing, junk included"),
    "GOMEMLIMIT": ("text", "env:GOMEMLIMIT parsing, junk included"),
    "GOOS": ("name", "runtime.GOOS#fixed-at-compile-time sets a foreign target at run time"),
    "GOROOT": ("goroot", "runtime.GOROOT#env-first and #read-at-start: the runtime only reports it"),
    "GOTRACEBACK": ("text", "env:GOTRACEBACK parsing, junk included"),
    "RTHOOKS_INIT_LOCKOSTHREAD": ("flag", "the driver's switch for runtime.LockOSThread#init-lock-main"),
}

# GOROOT values: fixed roots that do not exist, so that a go command started by a later step
# (which inherits the variable) can never run tools from a directory the case filled. A relative
# root would be such a directory: lib.gocmd writes files in the working directory.
FAKE_GOROOTS: tuple[str, ...] = ("/opt/elsewhere", "/opt/rthooks-goroot")

# Why well-known variables are refused, for the message (REFUSED_ENV_PREFIXES match by prefix).
REFUSED_ENV: dict[str, str] = {
    "CC": "chooses the C compiler cgo runs",
    "CGO_": "passes flags to the C compiler and linker",
    "CXX": "chooses the C++ compiler cgo runs",
    "GOCACHE": "redirects the go command's build cache",
    "GOENV": "makes the go command read settings from a file of the case's choosing",
    "GOFLAGS": "adds go command flags such as -toolexec to every build",
    "GOMODCACHE": "redirects the go command's module cache",
    "GOPATH": "redirects the go command's files",
    "GOPROXY": "fetches modules from the network",
    "GOTOOLCHAIN": "downloads and runs another toolchain",
    "HOME": "moves where tools read their configuration",
    "LD_": "loads a library of the case's choosing into every process",
    "PATH": "chooses which programs the harness and every child process run",
    "PYTHON": "makes a Python launcher import code of the case's choosing",
    "RTHOOKS_GO": "names the go command that ops such as lib.gocmd run",
    "RTHOOKS_OBS_FD": "is the harness's own observation channel",
    "TMPDIR": "moves where tools write temporary files",
}

REFUSED_ENV_PREFIXES: tuple[str, ...] = ("CGO_", "LD_", "PYTHON")
MAX_ENV_VALUE = 4096

# Environment maps that ops pass to the commands they start: (op, where in `with`) -> the keys
# allowed there, each with its value rule (as ENV_KEYS; `word` is [A-Za-z0-9._,-]{1,64}).
OP_ENV: dict[tuple[str, str], dict[str, str]] = {
    ("lib.gocmd", "runs[].env"): {"GODEBUG": "text"},  # the cmd/go GODEBUG keys under test
    ("runtime.build.run", "env"): {"GOEXPERIMENT": "word", "GOFIPS140": "word"},  # build settings the probe reports
    ("runtime.build.run", "run_env"): {"GODEBUG": "text"},
    ("runtime.cgroup.child", "env"): {"GODEBUG": "text"},
}

# Ops that set an environment variable of the running process: op -> (name key, value key).
SETENV_OPS: dict[str, tuple[str, str]] = {"runtime.setenv": ("name", "value")}

# Ops whose `with` keys name a file or directory in the case's working directory. lib.gocmd
# (dirs, files, symlinks, runs[].dir, runs[].prog, `-o` targets) and lib.exec.lookpath's
# `path` (a PATH list) are checked by their own code below. lib.http.mux's `path` is a URL
# path, not a file: it is not here.
PATH_KEYS: dict[str, tuple[str, ...]] = {
    "cpu.profile": ("file",),
    "file.size": ("file",),
    "lib.exec.lookpath": ("file",),
    "pprof.proto.summary": ("file",),
    "profile.write": ("file",),
    "runtime.crashoutput": ("file",),
    "runtime.heapdump.gap": ("file",),
    "trace.capture": ("file",),
    "trace.parse": ("file",),
    "trace.readtrace.stop": ("file",),
}

# Spec calls that open a file: call id -> index in `args` of the file (a name, or {"file": name};
# also null, {"fail": text} or {"discard": true} for writers). The driver creates or appends to it.
CALL_FILE_ARGS: dict[str, int] = {
    "runtime/debug.SetCrashOutput": 0,
    "runtime/debug.WriteHeapDump": 0,  # or descriptor 1 or 2
    "runtime/pprof.Profile.WriteTo": 1,
    "runtime/pprof.StartCPUProfile": 0,
    "runtime/pprof.WriteHeapProfile": 0,
    "runtime/trace.FlightRecorder.WriteTo": 1,
    "runtime/trace.Start": 0,
}
HEAPDUMP_FDS: tuple[int, ...] = (1, 2)  # stdout and stderr; never the observation channel

PATH_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
MAX_PATH_BYTES = 255

# Integer (or float) `with` arguments that size a step's work: key -> the largest value allowed.
# The bounds sit 4x-500x above the largest value today's cases use (in brackets), and above the
# driver's defaults; the process's resource limits and the case timeout stay the last word.
COUNT_BOUNDS: dict[str, float] = {
    "bits": 4096,  # lib.rsa.generate key size [512]
    "buffer": 65536,  # signal.notify channel capacity [8]
    "bytes": 512 << 20,  # one allocation or mapping [128 MiB]
    "cap": 1_000_000,  # runtime.gcstats.reuse Pause capacity [600]
    "chunks": 10_000,  # trace.readtrace.reuse [24]
    "count": 10_000_000,  # metrics.alloc objects [200000]
    "depth": 100_000,  # extra stack frames [1100]
    "frames": 10_000_000,  # runtime.deepstack recursion [1100000: the stack-overflow case]
    "garbage": 50_000_000,  # gc.cycle.probe objects [1000000]
    "gcs": 10_000,  # collections per goroutine [20]
    "goroutines": 100_000,  # goroutines started [128]
    "headers": 1_000_000,  # lib.multipart.part [10001]
    "headroom": 10_000,  # cgo.c-threads extra threads [8]
    "hold_ms": 60_000,  # lock hold time [5]
    "hold_us": 60_000_000,  # lock hold time [1000]
    "iterations": 1_000_000_000,  # loop iterations [2000; godebug.preempt's default is 3e8]
    "kb": 262_144,  # KiB of stack [2048]
    "live_kib": 524_288,  # KiB kept live [8192]
    "live_mb": 512,  # MiB kept live [8]
    "mb": 512,  # MiB freed [32]
    "ms": 600_000,  # milliseconds of work or sleep [5000]
    "n": 1_000_000,  # objects, goroutines, calls, cookies, query parameters [20000]
    "nest": 10_000,  # LockOSThread nesting [2]
    "parts": 1_000_000,  # multipart parts [1001]
    "reads": 1_000_000,  # metrics reads [20]
    "repeat": 10_000,  # a step's repetitions (also the schema's bound)
    "runs": 100,  # child processes started [3]
    "size": 64 << 20,  # lib.http.servecontent body bytes [default 1000]
    "spin_ms": 600_000,  # milliseconds of spinning [5]
    "stack_kib": 262_144,  # KiB of stack per goroutine [16]
    "threads": 1000,  # OS threads created [16]
    "tries": 10_000,  # retries [5; default 20]
    "within_ms": 600_000,  # polling bound [200]
    "within_s": 600,  # polling bound, seconds [5]
    "work_ms": 600_000,  # milliseconds of profiled work [400]
    "yields": 1_000_000,  # blocking operations [30]
}
MAX_TIMEOUT_S = 300  # the case schema's bound; today's largest timeout_s is 180
MAX_DEPTH = 32  # nesting of mappings and lists in one case; today's deepest case is 9 levels

REGEX_KEYS: tuple[str, ...] = ("not_regex", "regex")

# lib.gocmd runs the toolchain's go command, and the programs it builds, on files the case
# writes. A subcommand or flag outside these lists (run, generate, tool, -toolexec, -exec, ...)
# or an unreviewed Go source would make the case code, so a new program needs a reviewed
# change here (better: move it into the driver, as process.gotest does).
GOCMD_SUBCOMMANDS: tuple[str, ...] = ("build", "list", "test")
GOCMD_FLAGS: tuple[str, ...] = ("-json", "-v", "-x")  # plus -o FILE, -f TEMPLATE, -count=N
GOCMD_VALUE_FLAGS: tuple[str, ...] = ("-f", "-o")
GOCMD_DEVNULL = "/dev/null"  # the one -o target outside the working directory
# Other -o targets end in .bin, a name no file, symlink or directory the case writes may have
# (files and symlinks are go.mod, .go or .txt): so `prog`, which must be such a target, is a
# program the go command built from reviewed sources, never a file the case filled (say, after
# a build that failed and left an older file in place).
GOCMD_OUTPUT_SUFFIX = ".bin"
GOCMD_RUN_KEYS: tuple[str, ...] = ("args", "dir", "env", "prog")
GOCMD_PACKAGE = re.compile(r"\.|\./\.\.\.|[a-z0-9][a-z0-9._/-]*")
GOCMD_GOMOD_LINE = re.compile(r"module [A-Za-z0-9._/-]+|go 1\.[0-9]+(\.[0-9]+)?|godebug [a-z0-9]+=[A-Za-z0-9.,]+|")
GOCMD_TEXT_SUFFIXES: tuple[str, ...] = (".txt",)  # data files (//go:embed targets)
# SHA-256 of every Go source a case may have the go command build: reviewed programs only.
GOCMD_GO_SOURCES: dict[str, str] = {
    # The go/types and go/build probes with their counter (H5, issue 15), reviewed: each calls only
    # go/types or go/build on fixed inputs and reads its own runtime/metrics counter (no file
    # writes, network or subprocesses).
    "4f56d4d41f49fc8970c201126133509bbc0b890a6c5f778fb0d1ce46b6bebb6b": "go/types on a definition and two aliases, with the counter (gotypesalias)",
    "53f1646b377bcc767000394c442729227dfceb2023031b30b1bf36ae81c563eb": "an empty test (gocachetest)",
    "55a60bb97151b2b4b680462447ce60ec34511b14fa10d77440c97b9777101566": "an empty main (allowmultiplevcs)",
    "6ecdf1dcad53f6337b7e5553a1345ddcd0016d80c475aef866ac78e767f02b25": "a test that does not compile (gotestjsonbuildtext)",
    "814127944a884098efe535bb5eb320065f0b9cfe10e69162af0e38a3103bf485": "go/build Import of unsafe and fmt, with the counter (installgoroot)",
    "858e4725cfca05381aa4906ca1e133143593a484a690b7090b7b898e40274e37": "a //go:embed of link.txt (embedfollowsymlinks)",
    "9530fad51ced3c7dc77abf19a7b61cf17039f41543b594f378e68f68045e6c6e": "a one-function package (gocacheverify, gocachehash)",
    "b1700110a8692f1bbdd9a1b2f52a5512e1d62ab635fb8c37af180832d602e602": "go/types on an alias declaration (gotypesalias)",
}

# go.mod godebug lines and //go:debug directives are written into the driver's go.mod and
# main package: a newline or quote in them would be Go source of the case's choosing.
BUILD_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
BUILD_VALUE = re.compile(r"[A-Za-z0-9_.,:+=-]{0,256}")
GOLINE = re.compile(r"1\.(0|[1-9][0-9]?)")
PROBE_KEY = re.compile(r"[A-Za-z0-9_.-]{0,64}")  # runtime.build.run `key`: the probe's RTHOOKS_PROBE_KEY

# Host names a case may look up (lib.net.lookup, cgo.lookup): localhost and the names RFC 2606
# and RFC 6761 reserve, which never reach the public DNS, so a case cannot make the machine
# running it talk to a server of the case's choosing.
HOST_KEYS: dict[str, tuple[str, ...]] = {"cgo.lookup": ("host",), "lib.net.lookup": ("host",)}
HOSTS: tuple[str, ...] = ("localhost",)
HOST_SUFFIXES: tuple[str, ...] = (".example", ".invalid", ".localhost", ".test")
HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")

# ---------------------------------------------------------------------------------------------
# Helpers: total over any input.
# ---------------------------------------------------------------------------------------------


def _show(v: object, width: int = 60) -> str:
    """A short, printable rendering of any value for a message (never the whole of a long text)."""
    if isinstance(v, str):
        return repr(v if len(v) <= width else v[:width] + "...")
    text = repr(v) if isinstance(v, (int, float, bool, type(None))) else type(v).__name__
    return text if len(text) <= width else text[:width] + "..."


def _pattern(p: object, width: int = 60) -> str:
    """A pattern as written (/.../), on one line: control characters escaped, long ones cut."""
    if not isinstance(p, str):
        return _show(p)
    cut = p if len(p) <= width else p[:width] + "..."
    return "/" + "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut) + "/"


def _items(m: Any) -> list[tuple[Any, Any]]:
    """A mapping's items, or nothing for anything that is not a mapping."""
    return list(m.items()) if isinstance(m, Mapping) else []


def _get(m: Any, key: str) -> Any:
    return m.get(key) if isinstance(m, Mapping) else None


def _seq(v: Any) -> list[Any]:
    return list(v) if isinstance(v, (list, tuple)) else []


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _close(word: str, options: list[str]) -> str:
    """ " (did you mean X?)" for the closest allowed spelling, or nothing."""
    near = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {near[0]}?)" if near else ""


def _walk(root: Any, where: Where) -> Iterator[tuple[Where, Any, int]]:
    """Every node under ``root`` (pre-order) with its path and depth, to MAX_DEPTH levels.

    An explicit stack, not recursion: a hostile document may nest thousands of levels.
    """
    stack: list[tuple[Where, Any, int]] = [(where, root, 1)]
    while stack:
        here, node, depth = stack.pop()
        yield here, node, depth
        if depth >= MAX_DEPTH:
            continue
        if isinstance(node, Mapping):
            children = [([*here, k if isinstance(k, (str, int)) else str(k)], v) for k, v in node.items()]
        elif isinstance(node, (list, tuple)):
            children = [([*here, i], v) for i, v in enumerate(node)]
        else:
            continue
        stack.extend((w, v, depth + 1) for w, v in reversed(children))


def iter_steps(case: Any) -> Iterator[tuple[Where, Mapping[str, Any]]]:
    """Every step of a case with where it stands: the case's own, and those of callbacks.

    A callback argument (`runtime/pprof.Do`'s f, `runtime/trace.WithRegion`'s fn) is a mapping
    with its own `steps`, nested in a step's `args` or `with`; the schema does not type it, so
    only this walk finds what it names.
    """
    for i, step in enumerate(_seq(_get(case, "steps"))):
        if not isinstance(step, Mapping):
            continue
        yield ["steps", i], step
        for key in ("args", "with"):
            for here, node, _ in _walk(_get(step, key), ["steps", i, key]):
                if isinstance(node, Mapping):
                    for j, inner in enumerate(_seq(node.get("steps"))):
                        if isinstance(inner, Mapping):
                            yield [*here, "steps", j], inner


def _op(step: Mapping[str, Any]) -> str | None:
    op = step.get("op")
    return op if isinstance(op, str) else None


def _with(step: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    return _items(step.get("with"))


# ---------------------------------------------------------------------------------------------
# The concerns, one function each (one lint rule each).
# ---------------------------------------------------------------------------------------------


def check_build_flags(case: Any) -> list[Violation]:
    """setup.build_flags: only BUILD_FLAGS and -tags=LIST."""
    out: list[Violation] = []
    flags = _get(_get(case, "setup"), "build_flags")
    if flags is None:
        return out
    if not isinstance(flags, (list, tuple)):
        return [(["setup", "build_flags"], "build_flags must be a list of flags")]
    for i, flag in enumerate(flags):
        where: Where = ["setup", "build_flags", i]
        why = build_flag_problem(flag)
        if why:
            out.append((where, why))
    return out


def build_flag_problem(flag: object) -> str | None:
    """Why a build flag is refused, with what to write instead, or None."""
    if not isinstance(flag, str):
        return f"build flag {_show(flag)} must be a string"
    if flag in BUILD_FLAGS:
        return None
    allowed = "allowed: -race, -tags=LIST, -trimpath, -trimpath=true, -trimpath=false"
    if flag.startswith("-tags="):
        tags = flag[len("-tags=") :].split(",")
        bad = [t for t in tags if not TAG.fullmatch(t)]
        if not bad:
            return None
        return f"build flag {_show(flag)}: tag {_show(bad[0])} is not a build tag ([A-Za-z0-9_.]+, comma-separated)"
    name = "-" + flag.lstrip("-").split("=", 1)[0]
    if flag.startswith("--") and ("-" + flag[2:] in BUILD_FLAGS or flag[2:].startswith("tags=")):
        return f"build flag {_show(flag)}: write {_show('-' + flag[2:])} (one dash)"
    if name in REFUSED_BUILD_FLAGS:
        return f"build flag {_show(flag)} is refused: {name} {REFUSED_BUILD_FLAGS[name]} ({allowed})"
    name, eq, value = flag.partition("=")
    canonical = GO_BOOLS.get(value) if eq else None
    if canonical and f"{name}={canonical}" in BUILD_FLAGS:
        return f"build flag {_show(flag)} is not allowed (did you mean {name}={canonical}?) ({allowed})"
    hint = _close(flag, [*BUILD_FLAGS, "-tags=rthooks_lib"])
    return f"build flag {_show(flag)} is not allowed{hint} ({allowed})"


def env_key_problem(key: object) -> str | None:
    """Why an environment variable may not be named by a case, or None."""
    if not isinstance(key, str):
        return f"environment key {_show(key)} must be a string"
    if key in ENV_KEYS:
        return None
    for name, why in REFUSED_ENV.items():
        if key == name or (name in REFUSED_ENV_PREFIXES and key.startswith(name)):
            return f"environment key {_show(key)} is refused: it {why} (allowed: {', '.join(ENV_KEYS)})"
    return f"environment key {_show(key)} is not allowed{_close(key, list(ENV_KEYS))} (allowed: {', '.join(ENV_KEYS)})"


def env_value_problem(key: str, value: object, rule: str | None = None) -> str | None:
    """Why ``value`` is refused for ``key`` (by its ENV_KEYS rule, or ``rule``), or None."""
    rule = rule or ENV_KEYS.get(key, ("text", ""))[0]
    if not isinstance(value, str):
        return f"{key}: value {_show(value)} must be a string"
    if "\0" in value:
        return f"{key}: value contains NUL"
    if len(value) > MAX_ENV_VALUE:
        return f"{key}: value is {len(value)} characters long (at most {MAX_ENV_VALUE})"
    if rule == "name" and not re.fullmatch(r"[a-z0-9]{1,32}", value):
        return f"{key}: value {_show(value)} must be a bare name such as linux or amd64 ([a-z0-9]+)"
    if rule == "flag" and value not in ("0", "1"):
        return f"{key}: value {_show(value)} must be 0 or 1"
    if rule == "word" and not re.fullmatch(r"[A-Za-z0-9._,-]{1,64}", value):
        return f"{key}: value {_show(value)} must be a word ([A-Za-z0-9._,-]+)"
    if rule == "goroot" and value not in FAKE_GOROOTS:
        return (
            f"{key}: value {_show(value)} is not allowed: GOROOT may only be one of {', '.join(FAKE_GOROOTS)}"
            " (roots that do not exist, so no go command a later step starts reads tools from them)"
        )
    return None


def check_environment(case: Any) -> list[Violation]:
    """Environment variables a case sets or reads: ENV_KEYS, OP_ENV and their value rules."""
    out: list[Violation] = []
    env = _get(_get(case, "setup"), "env")
    if env is not None and not isinstance(env, Mapping):
        out.append((["setup", "env"], "env must be a mapping of variable names to strings"))
    for k, v in _items(env):
        where: Where = ["setup", "env", str(k)]
        why = env_key_problem(k) or env_value_problem(str(k), v)
        if why:
            out.append((where, why))
    for where, step in iter_steps(case):
        op = _op(step)
        w = step.get("with")
        if op in SETENV_OPS:
            name_key, value_key = SETENV_OPS[op]
            name = _get(w, name_key)
            why = env_key_problem(name)
            if why is None and isinstance(w, Mapping) and value_key in w:
                why = env_value_problem(str(name), w[value_key])
            if why:
                out.append(([*where, "with", name_key], why))
        if op == "env.get" and isinstance(w, Mapping) and "name" in w:
            why = env_key_problem(w["name"])
            if why:
                out.append(([*where, "with", "name"], why))
        for key, value in _with(step):
            sets_godebug = key == "setenv_godebug" or (op == "godebug.setenv" and key == "value")
            if sets_godebug and value is not None and (why := env_value_problem("GODEBUG", value)):
                out.append(([*where, "with", key], why))
        for (env_op, env_key), allowed in OP_ENV.items():
            if op != env_op:
                continue
            if env_key == "runs[].env":
                maps = [
                    ([*where, "with", "runs", i, "env"], _get(r, "env")) for i, r in enumerate(_seq(_get(w, "runs")))
                ]
            else:
                maps = [([*where, "with", env_key], _get(w, env_key))]
            for mwhere, m in maps:
                if m is not None and not isinstance(m, Mapping):
                    out.append((mwhere, f"{op}: {env_key} must be a mapping of variable names to strings"))
                for k, v in _items(m):
                    if k not in allowed:
                        hint = _close(str(k), list(allowed))
                        out.append(
                            (
                                [*mwhere, str(k)],
                                f"{op}: environment key {_show(k)} is not allowed in {env_key}{hint}"
                                f" (allowed: {', '.join(allowed)})",
                            )
                        )
                    elif why := env_value_problem(str(k), v, allowed[str(k)]):
                        out.append(([*mwhere, str(k)], why))
    return out


def path_problem(path: object) -> str | None:
    """Why ``path`` is not a safe name inside the working directory, with a fix, or None."""
    if not isinstance(path, str):
        return f"a file name must be a string, not {_show(path)}"
    if is_reference(path):
        return f"file name {_show(path)} must be written out, not taken from a bound value"
    if not path:
        return "a file name is empty"
    if "\0" in path:
        return "a file name contains NUL"
    shown = _show(path)
    if path.startswith("/"):
        base = posixpath.basename(path.rstrip("/")) or "file"
        return f"file name {shown} is absolute: name a file in the case's working directory (e.g. {_show(base)})"
    parts = path.split("/")
    if ".." in parts:
        inside = "/".join(p for p in parts if p not in ("..", ".", "")) or "file"
        return f"file name {shown} leaves the case's working directory ('..'): write e.g. {_show(inside)}"
    if not PATH_CHARS.fullmatch(path):
        return f"file name {shown} has characters outside [A-Za-z0-9._/-]"
    if posixpath.normpath(path) != path:
        return f"file name {shown} is not normalised: write {_show(posixpath.normpath(path))}"
    if len(path.encode()) > MAX_PATH_BYTES:
        return f"file name is {len(path.encode())} bytes long (at most {MAX_PATH_BYTES})"
    if path.startswith("-"):
        return f"file name {shown} starts with '-' and would read as a flag"
    return None


def _gocmd_paths(where: Where, w: Any) -> Iterator[tuple[Where, object]]:
    """Every path lib.gocmd's `with` names: dirs, files and symlinks (both ends), run dirs, progs, -o targets."""
    for i, d in enumerate(_seq(_get(w, "dirs"))):
        yield [*where, "dirs", i], d
    for key in ("files", "symlinks"):
        for k, v in _items(_get(w, key)):
            yield [*where, key, str(k)], k
            if key == "symlinks":
                yield [*where, key, str(k)], v  # a target, relative to the link's directory
    for i, run in enumerate(_seq(_get(w, "runs"))):
        for key in ("dir", "prog"):
            if isinstance(run, Mapping) and key in run:
                yield [*where, "runs", i, key], run[key]
        args = _seq(_get(run, "args"))
        for j, a in enumerate(args[:-1]):
            if a == "-o" and args[j + 1] != GOCMD_DEVNULL:
                yield [*where, "runs", i, "args", j + 1], args[j + 1]
        for j, a in enumerate(args):
            if isinstance(a, str) and a.startswith("-o=") and a[3:] != GOCMD_DEVNULL:
                yield [*where, "runs", i, "args", j], a[3:]


def check_paths(case: Any) -> list[Violation]:
    """Every file a case names: PATH_KEYS, CALL_FILE_ARGS, lib.gocmd, lib.exec.lookpath, file matchers."""
    out: list[Violation] = []

    def check(where: Where, path: object) -> None:
        why = path_problem(path)
        if why:
            out.append((where, why))

    for where, step in iter_steps(case):
        op, w = _op(step), step.get("with")
        for key in PATH_KEYS.get(op or "", ()):
            if isinstance(w, Mapping) and key in w:
                check([*where, "with", key], w[key])
        if op == "lib.gocmd":
            for pwhere, path in _gocmd_paths([*where, "with"], w):
                check(pwhere, path)
        if op == "lib.exec.lookpath" and isinstance(w, Mapping) and "path" in w:
            value = w["path"]
            entries = value.split(":") if isinstance(value, str) else [value]
            for entry in entries:
                why = None if entry in ("", ".") else path_problem(entry)
                if why:
                    out.append(([*where, "with", "path"], f"PATH entry: {why}"))
        call = step.get("call")
        if isinstance(call, str) and call in CALL_FILE_ARGS:
            i = CALL_FILE_ARGS[call]
            args = _seq(step.get("args"))
            if i < len(args):
                arg, awhere = args[i], [*where, "args", i]
                if isinstance(arg, Mapping):
                    if "file" in arg:
                        check([*awhere, "file"], arg["file"])
                elif isinstance(arg, bool) or (_is_number(arg) and call != "runtime/debug.WriteHeapDump"):
                    out.append((awhere, f"{call}: argument {i} must be a file name, not {_show(arg)}"))
                elif _is_number(arg):
                    if arg not in HEAPDUMP_FDS:
                        out.append((awhere, f"{call}: descriptor {_show(arg)} is not allowed (1 or 2, or a file name)"))
                elif arg is not None:
                    check(awhere, arg)
    for i, exp in enumerate(_seq(_get(case, "expect"))):
        f = _get(exp, "file")
        if isinstance(f, Mapping) and "path" in f:
            check(["expect", i, "file", "path"], f["path"])
    return out


def check_bounds(case: Any) -> list[Violation]:
    """timeout_s, the work sizes of COUNT_BOUNDS, NaN and infinities, and nesting depth."""
    out: list[Violation] = []
    if isinstance(case, Mapping) and "timeout_s" in case:
        t = case["timeout_s"]
        if not _is_number(t) or not math.isfinite(t) or not 0 < t <= MAX_TIMEOUT_S:
            out.append(
                (["timeout_s"], f"timeout_s {_show(t)} must be a number of seconds, 0 < timeout_s <= {MAX_TIMEOUT_S}")
            )
    deep = False
    for where, node, depth in _walk(case, []):
        if isinstance(node, float) and not math.isfinite(node) and where != ["timeout_s"]:
            spelled = ".nan" if math.isnan(node) else ("-.inf" if node < 0 else ".inf")
            out.append(
                (
                    where,
                    f"{spelled} is not a finite number (an expected NaN or infinity is written"
                    ' {float: NaN}, {float: "+Inf"} or {float: "-Inf"})',
                )
            )
        if depth >= MAX_DEPTH and isinstance(node, (Mapping, list, tuple)) and node and not deep:
            deep = True
            out.append((where, f"the case nests deeper than {MAX_DEPTH} levels"))
    for where, step in iter_steps(case):
        items = _with(step)
        if "repeat" in step:
            items.append(("repeat", step["repeat"]))
        for key, value in items:
            if key not in COUNT_BOUNDS or not _is_number(value) or not math.isfinite(value):
                continue
            bound = COUNT_BOUNDS[key]
            vwhere: Where = [*where, key] if key == "repeat" else [*where, "with", key]
            if value < 0:
                out.append((vwhere, f"{key} {_show(value)} must not be negative"))
            elif value > bound:
                shown = int(bound) if bound == int(bound) else bound
                out.append((vwhere, f"{key} {_show(value)} is above its bound {shown}"))
    return out


def check_patterns(case: Any) -> list[Violation]:
    """Every `regex` and `not_regex` anywhere in the case compiles under RE2 (rthooks.regex)."""
    out: list[Violation] = []
    for where, node, _ in _walk(case, []):
        for key, value in _items(node):
            if key in REGEX_KEYS:
                why = regex.problem(value) if isinstance(value, str) else f"a pattern must be text, not {_show(value)}"
                if why:
                    out.append(([*where, key], f"{key} {_pattern(value)} does not compile under RE2: {why}"))
    return out


def _gocmd_file_problem(name: object, text: object) -> str | None:
    """Why lib.gocmd may not write ``text`` to ``name``: names and reviewed contents."""
    if not isinstance(name, str):
        return None  # check_paths reports it
    base = posixpath.basename(name)
    if not isinstance(text, str):
        return f"lib.gocmd: the content of {_show(name)} must be a string"
    if base == "go.mod":
        for line in text.split("\n"):
            if not GOCMD_GOMOD_LINE.fullmatch(line):
                return (
                    f"lib.gocmd: {_show(name)} line {_show(line)} is not allowed"
                    " (a go.mod here holds only module, go and godebug lines)"
                )
        return None
    if base.endswith(".go"):
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if digest not in GOCMD_GO_SOURCES:
            return (
                f"lib.gocmd: {_show(name)} is not a reviewed Go source (sha256 {digest[:16]}...): Go code in a case"
                " runs on the machine that runs the suite, so a new program needs its hash in"
                " rthooks.casepolicy.GOCMD_GO_SOURCES (or, better, a driver op)"
            )
        return None
    if base.endswith(GOCMD_TEXT_SUFFIXES):
        return None
    return (
        f"lib.gocmd: file {_show(name)} is not allowed: only go.mod, reviewed .go sources and"
        f" {', '.join(GOCMD_TEXT_SUFFIXES)} data files (a tool such as git would read other files as configuration)"
    )


def _gocmd_args_problem(args: list[Any], outputs: set[tuple[str, str]], run_dir: str) -> tuple[int, str] | None:
    """Why a go command line is refused, as (index, message); records its -o outputs in ``outputs``."""
    if not args:
        return 0, "lib.gocmd: a run needs args (a go subcommand) or prog"
    for j, a in enumerate(args):
        if not isinstance(a, str):
            return j, f"lib.gocmd: argument {_show(a)} must be a string"
    sub = args[0]
    if sub not in GOCMD_SUBCOMMANDS:
        hint = _close(sub, list(GOCMD_SUBCOMMANDS))
        return 0, f"lib.gocmd: go {_show(sub)} is not allowed{hint} (allowed: {', '.join(GOCMD_SUBCOMMANDS)})"
    j = 1
    while j < len(args):
        a = args[j]
        if a.startswith("-"):
            flag, eq, value = a.partition("=")
            if flag.startswith("--"):
                return j, f"lib.gocmd: write {_show(a[1:])} (one dash)"
            if flag in GOCMD_VALUE_FLAGS:
                if not eq:
                    if j + 1 >= len(args):
                        return j, f"lib.gocmd: {flag} needs a value"
                    value, j = args[j + 1], j + 1
                if "\0" in value or len(value) > MAX_ENV_VALUE:
                    return j, f"lib.gocmd: the value of {flag} is not allowed"
                if flag == "-o" and value != GOCMD_DEVNULL:
                    if not value.endswith(GOCMD_OUTPUT_SUFFIX):
                        return j, (
                            f"lib.gocmd: -o {_show(value)} must be {GOCMD_DEVNULL} or a name ending in"
                            f" {GOCMD_OUTPUT_SUFFIX} (so that no file the case writes is run as the program)"
                        )
                    outputs.add((run_dir, value))
            elif flag == "-count" and eq and re.fullmatch(r"[0-9]{1,6}", value):
                pass
            elif a not in GOCMD_FLAGS:
                why = REFUSED_BUILD_FLAGS.get(flag)
                allowed = ", ".join([*GOCMD_FLAGS, "-o FILE", "-f TEMPLATE", "-count=N"])
                reason = f": {flag} {why}" if why else _close(a, [*GOCMD_FLAGS, *GOCMD_VALUE_FLAGS])
                return j, f"lib.gocmd: go {sub} flag {_show(a)} is not allowed{reason} (allowed: {allowed})"
        elif not GOCMD_PACKAGE.fullmatch(a) or ".." in a.split("/")[1:]:
            return j, f"lib.gocmd: package {_show(a)} is not allowed (., ./... or an import path)"
        j += 1
    return None


def check_go_command(case: Any) -> list[Violation]:
    """lib.gocmd: go subcommands and flags, programs it built, file names and reviewed sources."""
    out: list[Violation] = []
    for where, step in iter_steps(case):
        if _op(step) != "lib.gocmd":
            continue
        w = step.get("with")
        wwhere: Where = [*where, "with"]
        for k, v in _items(_get(w, "files")):
            why = _gocmd_file_problem(k, v)
            if why:
                out.append(([*wwhere, "files", str(k)], why))
        for k, v in _items(_get(w, "symlinks")):
            # Links exist for //go:embed of a link to a data file: both ends are data files.
            if not all(isinstance(x, str) and x.endswith(GOCMD_TEXT_SUFFIXES) for x in (k, v)):
                out.append(
                    (
                        [*wwhere, "symlinks", str(k)],
                        f"lib.gocmd: symlink {_show(k)} -> {_show(v)} must link one"
                        f" {', '.join(GOCMD_TEXT_SUFFIXES)} data file to another",
                    )
                )
        runs = _get(w, "runs")
        if not isinstance(runs, (list, tuple)):
            out.append((wwhere, "lib.gocmd: with.runs must be a list of runs"))
            continue
        outputs: set[tuple[str, str]] = set()
        for i, run in enumerate(runs):
            rwhere: Where = [*wwhere, "runs", i]
            if not isinstance(run, Mapping):
                out.append((rwhere, "lib.gocmd: each run must be a mapping ({args, env, dir, prog})"))
                continue
            unknown = [k for k in run if k not in GOCMD_RUN_KEYS]
            if unknown:
                out.append(([*rwhere, str(unknown[0])], f"lib.gocmd: unknown run key {_show(unknown[0])}"))
            run_dir = run.get("dir") or "m"  # the driver's default
            run_dir = run_dir if isinstance(run_dir, str) else ""
            prog = run.get("prog")
            args = run.get("args", [])
            if not isinstance(args, (list, tuple)):
                out.append(([*rwhere, "args"], "lib.gocmd: args must be a list of strings"))
                continue
            if prog is not None and prog != "":
                # The program an earlier run of this step built with -o, never any other file.
                if (run_dir, prog) not in outputs:
                    out.append(
                        (
                            [*rwhere, "prog"],
                            f"lib.gocmd: prog {_show(prog)} is not the -o output of an earlier run in dir"
                            f" {_show(run_dir)} of this step (only programs built from reviewed sources run)",
                        )
                    )
                for j, a in enumerate(args):
                    if not isinstance(a, str) or "\0" in a:
                        out.append(([*rwhere, "args", j], f"lib.gocmd: argument {_show(a)} must be text"))
                continue
            problem = _gocmd_args_problem(list(args), outputs, run_dir)
            if problem:
                j, why = problem
                out.append(([*rwhere, "args", j] if args else [*rwhere], why))
    return out


def check_build_config(case: Any) -> list[Violation]:
    """go.mod godebug lines and //go:debug directives (written into the driver's build), probe go lines."""
    out: list[Violation] = []
    setup = _get(case, "setup")
    for section in ("godebug", "directives"):
        for k, v in _items(_get(setup, section)):
            where: Where = ["setup", section, str(k)]
            if not isinstance(k, str) or not BUILD_KEY.fullmatch(k):
                out.append((where, f"{section} key {_show(k)} must be a GODEBUG name ([A-Za-z0-9_.-]{{1,64}})"))
            elif not isinstance(v, str) or not BUILD_VALUE.fullmatch(v):
                out.append(
                    (where, f"{section} value {_show(v)} for {k} must be a plain value ([A-Za-z0-9_.,:+=-]{{0,256}})")
                )
    goline = _get(setup, "goline")
    if goline is not None and not (isinstance(goline, str) and GOLINE.fullmatch(goline)):
        out.append((["setup", "goline"], f"goline {_show(goline)} must be a Go release such as 1.21"))
    for where, step in iter_steps(case):
        if _op(step) != "runtime.build.run":
            continue
        w = step.get("with")
        if isinstance(w, Mapping) and "goline" in w:
            g = w["goline"]
            if not (isinstance(g, str) and (g == "" or GOLINE.fullmatch(g))):
                out.append(([*where, "with", "goline"], f"goline {_show(g)} must be a Go release such as 1.21"))
        if isinstance(w, Mapping) and "key" in w:
            k = w["key"]
            if not (isinstance(k, str) and PROBE_KEY.fullmatch(k)):
                out.append(([*where, "with", "key"], f"key {_show(k)} must be a GODEBUG name ([A-Za-z0-9_.-]*)"))
    return out


def host_problem(host: object) -> str | None:
    """Why a case may not look ``host`` up, or None."""
    if not isinstance(host, str):
        return f"host {_show(host)} must be a string"
    if host in HOSTS or (HOST_NAME.fullmatch(host) and host.endswith(HOST_SUFFIXES)):
        return None
    return (
        f"host {_show(host)} is not allowed: use localhost or a name under {', '.join(HOST_SUFFIXES)}"
        " (reserved names that never leave the machine)"
    )


def check_network(case: Any) -> list[Violation]:
    """Host names of HOST_KEYS: localhost and reserved test names only."""
    out: list[Violation] = []
    for where, step in iter_steps(case):
        w = step.get("with")
        for key in HOST_KEYS.get(_op(step) or "", ()):
            if isinstance(w, Mapping) and key in w:
                why = host_problem(w[key])
                if why:
                    out.append(([*where, "with", key], why))
    return out


# One entry per concern, in the order of their lint rules (RTH060...RTH067).
CONCERNS: dict[str, Callable[[Any], list[Violation]]] = {
    "build-flags": check_build_flags,
    "environment": check_environment,
    "paths": check_paths,
    "bounds": check_bounds,
    "patterns": check_patterns,
    "go-command": check_go_command,
    "build-config": check_build_config,
    "network": check_network,
}


def check_concern(concern: str, case: Any) -> list[Violation]:
    """One concern's violations; an unexpected failure refuses the case instead of raising."""
    try:
        if not isinstance(case, Mapping):
            return [([], "a case must be a mapping")] if concern == "bounds" else []
        return CONCERNS[concern](case)
    except Exception as e:  # fail closed: a check that cannot finish refuses the case
        return [([], f"the case could not be checked ({type(e).__name__}), so it is refused")]


def check_case(case: Mapping[str, Any]) -> list[tuple[list[str | int], str]]:
    """Every violation of the case policy: (path inside the case, message). Never raises."""
    out: list[Violation] = []
    for concern in CONCERNS:
        out.extend(check_concern(concern, case))
    return out
