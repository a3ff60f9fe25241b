"""The runtime's parsing of GOGC, GOMEMLIMIT, GOMAXPROCS and GOTRACEBACK, as the Go source does it.

References (go1.21-go1.27): runtime/mgcpacer.go readGOGC and readGOMEMLIMIT,
runtime/string.go atoi64/atoi32/parseByteCount, runtime/proc.go schedinit,
runtime/runtime1.go setTraceback. Go 1.26 replaced the runtime's own atoi
(which accepts a leading '-' only, and takes "-" alone as 0) with
internal/strconv.ParseInt (which also accepts '+', and rejects a lone sign).

``release`` is the modelled Go release; None means the newest behaviour.
"""

from __future__ import annotations

from rthooks.goversion import GoVersion
from rthooks.oracle.releases import spec_since
from rthooks.spec.load import default_spec

MAX_INT64 = (1 << 63) - 1
MAX_UINT64 = (1 << 64) - 1


class FatalStartup(Exception):
    """The runtime refuses to start: it prints the message, then ends as :func:`startup_end` says."""


def _new_parser(release: GoVersion | None) -> bool:
    """Whether the runtime parses integers with strconv.ParseInt (the spec dates it: a leading "+")."""
    return release is None or release >= spec_since("env:GOGC#plus-sign-126")


def parse_int(s: str, bits: int, release: GoVersion | None = None) -> int | None:
    """runtime atoi64/atoi32 (before go1.26) or strconv.ParseInt(s, 10, bits) (go1.26+); None if invalid."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if _new_parser(release):
        body = s[1:] if s[:1] in ("+", "-") else s
        if not body or not body.isascii() or not body.isdigit():
            return None
        n = -int(body) if s[0] == "-" else int(body)
    else:
        if s == "":
            return None
        neg = s[0] == "-"
        body = s[1:] if neg else s
        if body and (not body.isascii() or not body.isdigit()):
            return None
        un = int(body) if body else 0  # "-" alone parses as 0 in the old runtime atoi
        if un > MAX_UINT64:
            return None
        n = -un if neg else un
        if not (-(1 << 63) <= n <= MAX_INT64):
            return None
    return n if lo <= n <= hi else None


def read_gogc(value: str | None, release: GoVersion | None = None) -> int:
    """GOGC: "off" disables (-1); an int32 sets the percent (negative: -1); anything else means 100."""
    if value == "off":
        return -1
    n = parse_int(value or "", 32, release)
    if n is None:
        return 100
    return -1 if n < 0 else n


_POWERS = {"K": 1, "M": 2, "G": 3, "T": 4}


def parse_byte_count(s: str, release: GoVersion | None = None) -> int | None:
    """runtime.parseByteCount: decimal int64 with an optional B/KiB/MiB/GiB/TiB suffix; None if invalid."""
    if not s:
        return None
    last = s[-1]
    if "0" <= last <= "9":
        n = parse_int(s, 64, release)
        return n if n is not None and n >= 0 else None
    if last != "B" or len(s) < 2:
        return None
    c = s[-2]
    if "0" <= c <= "9":
        n = parse_int(s[:-1], 64, release)
        return n if n is not None and n >= 0 else None
    if c != "i" or len(s) < 4 or s[-3] not in _POWERS:
        return None
    n = parse_int(s[:-3], 64, release)
    if n is None or n < 0:
        return None
    n *= 1024 ** _POWERS[s[-3]]
    return n if n <= MAX_INT64 else None


# A frame's registers, as printframe prints them when the level is 2 or more (values are placeholders).
_REGS = " fp=0x0 sp=0x0 pc=0x0"


def runtime_stack(fn: str) -> str:
    """The "runtime stack:" block a startup throw prints whatever GOTRACEBACK says (frame shape only).

    A throw runs with m.throwing = throwTypeRuntime, and gotraceback() then answers level 2 unless
    m.traceback overrides it (runtime/runtime1.go: "Always include runtime frames in runtime throws"),
    so each frame carries fp=/sp=/pc= even at GOTRACEBACK=none (go1.21 through go1.27)."""
    frames = (
        ("runtime.throw({0x0?, 0x0?})", "runtime/panic.go"),
        (f"runtime.{fn}()", "runtime/mgcpacer.go"),
        ("runtime.gcinit()", "runtime/mgc.go"),
        ("runtime.schedinit()", "runtime/proc.go"),
        ("runtime.rt0_go()", "runtime/asm_amd64.s"),
    )
    return "\nruntime stack:" + "".join(f"\n{f}\n\t{file}:1 +0x0{_REGS}" for f, file in frames)


def startup_end(gotraceback: str | None) -> tuple[int | None, str | None]:
    """How a process that dies during start-up ends: (exit status, signal). A start-up throw or fatal
    reads GOTRACEBACK's crash flag like any other (gotraceback(): ``crash = t&tracebackCrash != 0``;
    parsedebugvars has already run setTraceback), so GOTRACEBACK=crash ends it by SIGABRT, else exit 2.
    Only the word "crash" sets that flag, so the release's number parsing does not matter here."""
    _level, flags = parse_traceback(gotraceback or "")
    return (None, "SIGABRT") if flags & TRACEBACK_CRASH else (2, None)


def read_gomemlimit(value: str | None, release: GoVersion | None = None) -> int:
    """GOMEMLIMIT: unset, empty or "off" is no limit; an invalid value is a fatal startup error."""
    if value is None or value == "" or value == "off":
        return MAX_INT64
    n = parse_byte_count(value, release)
    if n is None:
        raise FatalStartup(
            f"GOMEMLIMIT={value}\nfatal error: malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`\n"
            + runtime_stack("readGOMEMLIMIT")
        )
    return n


def read_gomaxprocs(value: str | None, default: int, release: GoVersion | None = None) -> int:
    """GOMAXPROCS: an int32 greater than 0 overrides the default; anything else is ignored."""
    n = parse_int(value or "", 32, release)
    return n if n is not None and n > 0 else default


# GOTRACEBACK (runtime1.go): the level and its flags.
TRACEBACK_ALL, TRACEBACK_CRASH = 1, 2


def parse_traceback(level: str, release: GoVersion | None = None) -> tuple[int, int]:
    """setTraceback(level) on linux: (level, flags). Unknown strings and "wer" give (0 or N, all).

    The number is read by the release's integer parser, as for GOGC: runtime atoi up to go1.25 (no "+",
    and "-" alone is 0), strconv.Atoi from go1.26 ("+2" is 2); it must fit a uint32."""
    fixed = {
        "none": (0, 0),
        "single": (1, 0),
        "": (1, 0),
        "all": (1, TRACEBACK_ALL),
        "system": (2, TRACEBACK_ALL),
        "crash": (2, TRACEBACK_ALL | TRACEBACK_CRASH),
    }
    if level in fixed:
        return fixed[level]
    n = parse_int(level, 64, release)
    if n is None or not 0 <= n < (1 << 32):
        return 0, TRACEBACK_ALL
    # t |= uint32(n) << tracebackShift: a uint32 shift, so the top two bits of n are lost
    # (SetTraceback("1073741824") is level 0, found by rthooks fuzz against go1.27).
    return n & ((1 << 30) - 1), TRACEBACK_ALL


def _fatal_traceback(gotraceback: str | None, release: GoVersion | None) -> str:
    """What runtime.fatal in runtime.main prints after its message (go1.27, the only release with a
    removed-key fatal): fatal is a throwTypeUser throw, so gotraceback() gives GOTRACEBACK's own level
    (none: nothing) and ``all = gp.m.throwing > throwTypeUser || t&tracebackAll != 0`` (go1.27's
    runtime1.go; go1.21 had ``>=``), so other goroutines only with all, system or crash. runtime.main
    still holds the lock it takes for init ("locked to thread"); at level 1 only runtime frames exist,
    so traceback1 prints them anyway. Frames are placeholders (shape only)."""
    level, _flags = parse_traceback(gotraceback or "", release)
    if level == 0:
        return ""
    system = level >= 2
    regs = _REGS if system else ""
    where = " gp=0xc000000001 m=0 mp=0x7768c0" if system else ""
    out = f"\ngoroutine 1{where} [running, locked to thread]:\n"
    out += f"runtime.fatal({{0x0, 0x0}})\n\truntime/panic.go:1 +0x0{regs}\n"
    out += f"runtime.main()\n\truntime/proc.go:1 +0x0{regs}\n"
    out += f"runtime.goexit({{}})\n\truntime/asm_amd64.s:1 +0x0{regs}\n"
    if system:  # only the runtime's own goroutines exist yet; they are runtime goroutines, shown from level 2
        runtime_gs = (
            (2, "force gc (idle)", "runtime.forcegchelper()"),
            (3, "GC sweep wait", "runtime.bgsweep(0x0)"),
            (4, "GC scavenge wait", "runtime.bgscavenge(0x0)"),
        )
        for gid, status, fn in runtime_gs:
            out += f"\ngoroutine {gid} gp=0xc00000000{gid} m=nil [{status}]:\n"
            out += f"runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)\n\truntime/proc.go:1 +0x0{regs}\n"
            out += f"{fn}\n\truntime/proc.go:1 +0x0{regs}\n"
            out += "created by runtime.init in goroutine 1\n\truntime/proc.go:1 +0x0\n"
    return out


def removed_godebug_fatal(godebug: str, release: GoVersion | None = None, gotraceback: str | None = None) -> str | None:
    """go1.27+ parsegodebug at startup: the first field setting a removed key (internal/godebugs.Removed,
    from the spec's ``removal`` records) to an old value makes runtime.main fatal; what it prints (the
    message, then the traceback GOTRACEBACK asks for), or None."""
    if release is not None and release < spec_since("env:GODEBUG#removed-old-value-fatal-127"):
        return None
    items = default_spec().items
    for field in godebug.split(","):
        key, eq, value = field.partition("=")
        if not eq:
            continue
        item = items.get(f"godebug:{key}")
        removal = (item.data.get("removal") if item is not None else None) or {}
        if not removal or (release is not None and release < GoVersion.parse(str(removal.get("listed_since")))):
            continue
        if value in [str(v) for v in removal.get("old_values") or []]:
            minor = GoVersion.parse(str(removal["release"])).minor
            return (
                f'fatal error: removed GODEBUG "{key}" set to old value "{value}" in environment '
                f"(https://go.dev/doc/godebug#go-1{minor})\n" + _fatal_traceback(gotraceback, release)
            )
    return None
