"""The library GODEBUG keys (internal/godebugs, non-runtime): the ``lib.*`` probe ops.

Each probe of harness/driver/ops_lib_*.go exercises one standard-library behaviour in memory
(crypto/tls over net.Pipe, x509 certificates made at run time, net/url, mime/multipart, archives,
html/template, os/exec, net's MPTCP defaults and resolver, net/http) or runs the toolchain's go
command in a small module (``lib.gocmd``). The model derives each result from the effective
GODEBUG value (godebugmodel.effective: environment, //go:debug, go.mod godebug lines, then the go
line's default from the spec) and from whether the release has the key at all (the spec's
``since``/``removed``); the behaviour each value selects is the one spec/godebug.yaml's clauses
state. Everything here is what go1.21-go1.27 (linux/amd64, CGO_ENABLED=0) were seen to do.

Each probe also increments the key's /godebug/non-default-behavior counter (:func:`_inc`) where
the standard library calls ``Setting.IncNonDefault``, under the same condition as the Go source
of go1.21-go1.27 (cited at each call), so a counter moves exactly when the behaviour differs
from the default, or, where the library counts more loosely (multipartmaxheaders,
multipartmaxparts, htmlmetacontenturlescape), as loosely as the library does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rthooks.goversion import GoVersion
from rthooks.oracle import godebugmodel, godebugops
from rthooks.oracle.cutoffs import GOMOD_DEFAULT_GO_LINE
from rthooks.oracle.registry import StepFn, step
from rthooks.oracle.releases import cutoff, in_spec, spec_removed, spec_since
from rthooks.oracle.state import Exited, OracleRuntime, PanicError, Unsupported
from rthooks.spec.load import default_spec, godebug_default


def _exists(rt: OracleRuntime, key: str) -> bool:
    item = default_spec().items.get(f"godebug:{key}")
    return item is not None and item.exists_in(rt.release)


def _val(rt: OracleRuntime, key: str) -> str | None:
    """The effective value of a key the release has (None if unset or if the release lacks the key)."""
    return godebugmodel.effective(rt, key) if _exists(rt, key) else None


def _inc(rt: OracleRuntime, key: str, n: int = 1) -> None:
    """Setting.IncNonDefault of a key the release has (the counter of a key it lacks does not exist)."""
    if n > 0 and _exists(rt, key):
        godebugops.inc_non_default(rt, key, n)


def _lib_linked(rt: OracleRuntime) -> bool:
    """Whether the modelled driver links the lib probes (and with them net/http's initialisers)."""
    return rt.release >= cutoff("lib-probes") and "-tags=rthooks_lib" in (rt.setup.get("build_flags") or [])


def _init_counts(rt: OracleRuntime) -> dict[str, int]:
    """What the standard library counts before main: net/http's init reads httpmuxgo121 and counts
    a "1" once (src/net/http/servemux121.go, go1.22-go1.27), whatever the program does later."""
    if _lib_linked(rt) and _exists(rt, "httpmuxgo121") and godebugops.startup_value(rt, "httpmuxgo121") == "1":
        return {"httpmuxgo121": 1}
    return {}


godebugops.INIT_COUNTS.append(_init_counts)


def _deviation_since(key: str, clause: str) -> GoVersion:
    """The first release of the spec's deviation of the counter clause ``key``#``clause`` (the
    oracle models what real Go does; the spec records where that departs from the clause)."""
    item = default_spec().items[f"metric:/godebug/non-default-behavior/{key}:events"]
    for c in item.data.get("clauses") or []:
        if c["id"] == clause and c.get("deviations"):
            return GoVersion.parse(str(c["deviations"][0]["go"]))
    raise KeyError(f"spec: no deviation of {item.id}#{clause}")


def _deviates(rt: OracleRuntime, key: str, clause: str) -> bool:
    """Whether the spec records a deviation of the counter clause ``key``#``clause`` in this release."""
    item = default_spec().items[f"metric:/godebug/non-default-behavior/{key}:events"]
    for c in item.data.get("clauses") or []:
        if c["id"] == clause:
            for dev in c.get("deviations") or []:
                until = dev.get("until")
                if GoVersion.parse(str(dev["go"])) <= rt.release and (
                    until is None or rt.release < GoVersion.parse(str(until))
                ):
                    return True
    return False


def _counter_exists(rt: OracleRuntime, key: str) -> bool:
    """Whether the release has the /godebug/non-default-behavior counter of ``key`` (a program
    reading a counter its release lacks gets KindBad, which the probe programs print as 0)."""
    item = default_spec().items.get(f"metric:/godebug/non-default-behavior/{key}:events")
    return item is not None and item.exists_in(rt.release)


def _installgoroot_prog(rt: OracleRuntime, value: str | None) -> str:
    """The go/build probe program: Import(unsafe), then Import(fmt) twice, with FindOnly.

    build.go Import (go1.21-go1.27): a GOROOT package gets an install target (PkgObj) only with
    installgoroot=all, and then counts; unsafe and builtin never get one, so they never count.
    """
    lines, n = ["unsafe true true false 0"], 0
    for _ in range(2):
        target = value == "all" and _exists(rt, "installgoroot")
        n += int(target and _counter_exists(rt, "installgoroot"))
        lines.append(f"fmt true true {str(target).lower()} {n}")
    return "".join(line + "\n" for line in lines)


def _new_ca(rt: OracleRuntime, n: int = 1) -> None:
    """x509.CreateCertificate of ``n`` CA templates without a SubjectKeyId (libTemplate, what
    libSelfSigned and the x509 probes sign): with x509sha256skid=0 each takes the SHA-1 path and
    counts (src/crypto/x509/x509.go, go1.25+)."""
    if _val(rt, "x509sha256skid") == "0":
        _inc(rt, "x509sha256skid", n)


def _num(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _startup(rt: OracleRuntime) -> None:
    """The lib probes' start-up: they exist from go1.21, and crypto/internal/fips140's init (go1.24+,
    linked by every driver with the lib probes) panics on an unknown value."""
    if rt.release < cutoff("lib-probes"):
        raise Unsupported("the lib probes need go1.21")
    v = _val(rt, "fips140")
    if v is not None and v not in ("", "on", "only", "debug", "off"):
        raise Exited(
            2,
            f"panic: fips140: unknown GODEBUG setting fips140={v}\n\ngoroutine 1 [running]:\n"
            "crypto/internal/fips140.init.0()\n",
        )


def _lib(name: str) -> Callable[[StepFn], StepFn]:
    """Register op:NAME, a lib probe, with the probes' start-up declared to run first."""
    return step(f"op:{name}", before=(_startup,))


# ---- crypto/tls -------------------------------------------------------------------------------

TLS_VERSIONS = {"1.0": 0x301, "1.1": 0x302, "1.2": 0x303, "1.3": 0x304}
CLASSICAL_CURVES = [29, 23, 24, 25]  # X25519, P-256, P-384, P-521
TLS12_SUITES = [49195, 49199, 49196, 49200, 52393, 52392, 49161, 49171, 49162, 49172]
RSA_KEX_SUITES = [156, 157, 47, 53]
TLS13_SUITES = [4865, 4866, 4867]
SCHEMES = [2052, 1027, 2055, 2053, 2054, 1025, 1281, 1537, 1283, 1539]
SHA1_SCHEMES = [513, 515]  # PKCS1WithSHA1, ECDSAWithSHA1


# A setting that turns a legacy behaviour back on: before the setting existed the behaviour was
# the default; once it is removed the behaviour is gone.


def _rsakex(rt: OracleRuntime) -> bool:
    if _exists(rt, "tlsrsakex"):
        return _val(rt, "tlsrsakex") == "1"
    return rt.release < spec_since("godebug:tlsrsakex")


def _tls3des(rt: OracleRuntime) -> bool:
    if _exists(rt, "tls3des"):
        return _val(rt, "tls3des") == "1"
    return rt.release < spec_since("godebug:tls3des")


def _tlssha1(rt: OracleRuntime) -> bool:
    return rt.release < spec_since("godebug:tlssha1") or _val(rt, "tlssha1") == "1"


@_lib("lib.tls.hello")
def op_tls_hello(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    tls13 = w.get("max_version") in (None, "1.3")
    curves = list(CLASSICAL_CURVES)
    if tls13:
        if _exists(rt, "tlskyber") and _val(rt, "tlskyber") != "0":
            curves = [25497, *curves]  # X25519Kyber768Draft00
        if _exists(rt, "tlsmlkem") and _val(rt, "tlsmlkem") != "0":
            hybrids = [4588]  # X25519MLKEM768
            if _exists(rt, "tlssecpmlkem") and _val(rt, "tlssecpmlkem") != "0":
                hybrids += [4587, 4589]  # SecP256r1MLKEM768, SecP384r1MLKEM1024
            curves = hybrids + curves
    suites = list(TLS12_SUITES)
    if _rsakex(rt):
        suites += RSA_KEX_SUITES
    if _tls3des(rt):
        suites.append(49170)  # TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
        if _rsakex(rt):
            suites.append(10)  # TLS_RSA_WITH_3DES_EDE_CBC_SHA
    if tls13:
        suites += TLS13_SUITES
    return {
        "curves": curves,
        "suites": suites,
        "schemes": SCHEMES + (SHA1_SCHEMES if _tlssha1(rt) else []),
        "versions": [0x304, 0x303] if tls13 else [0x303],
    }


def _rsa_limit(rt: OracleRuntime) -> int:
    n = _num(_val(rt, "tlsmaxrsasize"))
    return 8192 if n is None else n


def _server_min(rt: OracleRuntime) -> int:
    if _exists(rt, "tls10server"):
        return 0x301 if _val(rt, "tls10server") == "1" else 0x303
    return 0x301 if rt.release < spec_since("godebug:tls10server") else 0x303


ECDSA_SUITES = {49195, 49196, 52393, 49161, 49162}  # ECDHE_ECDSA_*: the rest need an RSA certificate


def _offered_suite(rt: OracleRuntime, client_suites: list[int], version: int, cert: str) -> int:
    """The suite a TLS 1.2 server with the default suites picks when the client offers exactly one:
    that one, if the server's defaults (lib.tls.hello's list) have it and the certificate fits."""
    server = list(TLS12_SUITES) + (RSA_KEX_SUITES if _rsakex(rt) else [])
    if _tls3des(rt):
        server += [49170] + ([10] if _rsakex(rt) else [])
    if version != 0x303 or len(client_suites) != 1:
        raise Unsupported("lib.tls.handshake: only one offered suite at TLS 1.2 is modelled")
    suite = client_suites[0]
    if suite not in server or (suite in ECDSA_SUITES) != (cert == "ecdsa"):
        raise Unsupported("lib.tls.handshake: a failed suite negotiation is not modelled")
    return suite


@_lib("lib.tls.handshake")
def op_tls_handshake(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    if w.get("server_suites") or w.get("server_max"):
        raise Unsupported("lib.tls.handshake: the server's cipher suites and maximum version are not modelled")
    client_suites = [int(s) for s in w.get("client_suites") or []]
    out: dict[str, Any] = {"client_err": None, "server_err": None, "version": None, "suite": None, "ekm_err": None}
    _new_ca(rt)
    cmin = TLS_VERSIONS[w.get("client_min") or "1.2"]
    cmax = TLS_VERSIONS[w.get("client_max") or "1.3"]
    smin = TLS_VERSIONS[w["server_min"]] if w.get("server_min") else _server_min(rt)
    if cmax < smin:
        offered = " ".join(f"{v:x}" for v in range(cmax, cmin - 1, -1))
        out["client_err"] = "remote error: tls: protocol version not supported"
        out["server_err"] = f"tls: client offered only unsupported versions: [{offered}]"
        return out
    cert = str(w.get("cert") or "ecdsa")
    if cert.startswith("rsa"):
        bits = int(cert[3:] or 2048)
        # checkKeySize (handshake_client.go): a parsable setting counts when it changes the verdict.
        if _num(_val(rt, "tlsmaxrsasize")) is not None and (bits <= _rsa_limit(rt)) != (bits <= 8192):
            _inc(rt, "tlsmaxrsasize")
        if bits > _rsa_limit(rt):
            out["client_err"] = f"tls: server sent certificate containing RSA key larger than {_rsa_limit(rt)} bits"
            out["server_err"] = "remote error: tls: bad certificate"
            return out
    version = cmax
    if client_suites:
        suite = _offered_suite(rt, client_suites, version, cert)
        # handshake_server.go (go1.22-go1.26): a server with the default suites counts an RSA key
        # exchange or 3DES suite it negotiated (only tlsrsakex=1 / tls3des=1 put them there); the
        # client, whose suites are configured, counts nothing.
        if suite in RSA_KEX_SUITES or suite == 10:
            _inc(rt, "tlsrsakex")
        if suite in (49170, 10):
            _inc(rt, "tls3des")
    elif version == 0x304:
        suite = 4865  # TLS_AES_128_GCM_SHA256
    elif version == 0x303:
        # ECDHE with AES-128-GCM first (hosts with AES hardware, as amd64 has)
        suite = 49195 if cert == "ecdsa" else 49199
    elif version in (0x301, 0x302) and cert == "ecdsa":
        suite = 49161  # TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    else:
        raise Unsupported("lib.tls.handshake: this version and certificate are not modelled")
    # Go 1.21+ always negotiates Extended Master Secret, so ExportKeyingMaterial works.
    out.update(version=version, suite=suite)
    if not w.get("server_min") and version < 0x303:
        # handshake_server.go (go1.22-go1.26): a server with MinVersion 0 that negotiates below
        # TLS 1.2 counts; only tls10server=1 lets it.
        _inc(rt, "tls10server")
    return out


@_lib("lib.tls.keypair")
def op_tls_keypair(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    _new_ca(rt)
    present = _exists(rt, "x509keypairleaf")
    leaf = _val(rt, "x509keypairleaf") != "0" if present else rt.release >= spec_since("godebug:x509keypairleaf")
    if present and not leaf:
        _inc(rt, "x509keypairleaf")  # tls.go X509KeyPair: Leaf left nil
    return {"leaf": leaf, "err": None}


# ---- crypto/x509, crypto/rsa, crypto/rand, crypto/fips140 --------------------------------------


@_lib("lib.x509.negserial")
def op_x509_negserial(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    _new_ca(rt)
    if _exists(rt, "x509negativeserial") and _val(rt, "x509negativeserial") != "1":
        return {"err": "x509: negative serial number", "serial": None}
    _inc(rt, "x509negativeserial")  # parser.go: a negative serial accepted
    return {"err": None, "serial": -128}


@_lib("lib.x509.rsacrt")
def op_x509_rsacrt(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    if _exists(rt, "x509rsacrt") and _val(rt, "x509rsacrt") != "0":
        return {"err": "crypto/rsa: invalid CRT exponent", "valid": None}
    _inc(rt, "x509rsacrt")  # pkcs1.go: the key validated only once its CRT values were recomputed
    return {"err": None, "valid": True}


@_lib("lib.x509.sha1")
def op_x509_sha1(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    _new_ca(rt)
    if _exists(rt, "x509sha1"):
        if _val(rt, "x509sha1") == "1":
            _inc(rt, "x509sha1")  # x509.go checkSignature: a SHA-1 signature accepted
            return {"create_err": None, "err": None}
        hint = " (temporarily override with GODEBUG=x509sha1=1)"
    else:
        hint = ""
    return {"create_err": None, "err": "x509: cannot verify signature: insecure algorithm ECDSA-SHA1" + hint}


@_lib("lib.x509.skid")
def op_x509_skid(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> str:
    _new_ca(rt)
    return "sha256" if _exists(rt, "x509sha256skid") and _val(rt, "x509sha256skid") != "0" else "sha1"


@_lib("lib.x509.policies")
def op_x509_policies(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> list[str]:
    # The Policies field came with the x509usepolicies setting (go1.22).
    if rt.release < spec_since("godebug:x509usepolicies"):
        raise Unsupported("x509.Certificate.Policies needs go1.22")
    v = _val(rt, "x509usepolicies")
    _new_ca(rt)
    if rt.release >= spec_since("godebug:x509usepolicies#default-policies"):
        # x509.go marshalCertificatePolicies (go1.24+): counted whenever the value is not "0", so the
        # default is counted and x509usepolicies=0 is not (the spec's deviation of the counts clause).
        if v != "0":
            _inc(rt, "x509usepolicies")
        return ["1.2.3.4"] if v == "0" else ["1.2.3.5"]
    if v == "1":
        _inc(rt, "x509usepolicies")  # go1.22-go1.23: the non-default value counted
    return ["1.2.3.5"] if v == "1" else ["1.2.3.4"]


@_lib("lib.x509.fallback")
def op_x509_fallback(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> str | None:
    system = str(w.get("system") or "none")
    _new_ca(rt, 2)  # the root and the unrelated certificate (the leaf is no CA)
    pool = system
    if w.get("fallback") == "root" and system != "none" and _val(rt, "x509usefallbackroots") == "1":
        _inc(rt, "x509usefallbackroots")  # root.go SetFallbackRoots: system roots there, overridden
    if w.get("fallback") == "root" and (system == "none" or _val(rt, "x509usefallbackroots") == "1"):
        pool = "root"
    return None if pool == "root" else "x509: certificate signed by unknown authority"


@_lib("lib.rsa.generate")
def op_rsa_generate(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    bits = int(w.get("bits", 2048))
    if bits < 1024 and _exists(rt, "rsa1024min") and _val(rt, "rsa1024min") != "0":
        return {
            "err": f"crypto/rsa: {bits}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
        }
    if bits < 1024:
        _inc(rt, "rsa1024min")  # rsa.go checkKeySize: a small key allowed
    return {"err": None}


@_lib("lib.crypto.customrand")
def op_crypto_customrand(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    custom = _val(rt, "cryptocustomrand") == "1" if _exists(rt, "cryptocustomrand") else True
    if custom:
        _inc(rt, "cryptocustomrand")  # crypto/internal/rand CustomReader: a non-default reader used
    return {"custom": custom, "err": None}


def _fips_on(v: str | None) -> bool:
    return v in ("on", "only", "debug")


@_lib("lib.fips.enabled")
def op_fips_enabled(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> bool:
    if rt.release < spec_since("godebug:fips140"):
        raise Unsupported("crypto/fips140 needs go1.24")
    start = _val(rt, "fips140")
    if w.get("setenv_godebug") is not None:
        rt.env["GODEBUG"] = str(w["setenv_godebug"])
        now = _val(rt, "fips140")
        if rt.release < cutoff("fips140-setting-fixed") and (now or "") != (start or ""):
            # go1.24: fips140.Enabled checks the setting against its value at start.
            raise PanicError("crypto/fips140: GODEBUG setting changed after program start", "string")
    return _fips_on(start)


@_lib("lib.fips.x25519")
def op_fips_x25519(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    if rt.release < spec_since("godebug:fips140"):
        raise Unsupported("crypto/fips140 needs go1.24")
    if _val(rt, "fips140") == "only":
        return {"err": "crypto/ecdh: use of X25519 is not allowed in FIPS 140-only mode"}
    return {"err": None}


# ---- net/http ---------------------------------------------------------------------------------


@_lib("lib.http.proto")
def op_http_proto(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    h2 = _val(rt, "http2client") != "0" and _val(rt, "http2server") != "0"
    if _val(rt, "http2client") == "0":
        _inc(rt, "http2client")  # transport.go onceSetNextProtoDefaults: one per Transport
    if _val(rt, "http2server") == "0" and rt.release < _deviation_since("http2server", "counts-non-default-behaviour"):
        # server.go onceSetNextProtoDefaults: one per Server; from go1.24 Server.protocols applies the
        # setting first, uncounted, and the increment is never reached (the spec's deviation).
        _inc(rt, "http2server")
    _new_ca(rt)
    if h2:
        # http2debug: read once at init from the GODEBUG environment variable, by substring.
        env = rt.env.get("GODEBUG") or ""
        stamp = "2026/01/01 00:00:00 "
        lines = []
        if "http2debug=2" in env:
            lines.append(stamp + "http2: Framer 0xc000100000: wrote SETTINGS len=18, settings: ENABLE_PUSH=0")
        if "http2debug=1" in env or "http2debug=2" in env:
            lines.append(stamp + "http2: Transport creating client conn 0xc000200000 to pipe")
            lines.append(stamp + "http2: server: client pipe said hello")
        rt.stderr += "".join(line + "\n" for line in lines)
    return {"proto": "HTTP/2.0" if h2 else "HTTP/1.1", "err": None}


@_lib("lib.http.cookies")
def op_http_cookies(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> int:
    n = int(w.get("n", 1))
    if not _exists(rt, "httpcookiemaxnum"):
        return n
    custom = _num(_val(rt, "httpcookiemaxnum"))
    limit = 3000 if custom is None else custom
    if custom is not None and (n <= 3000) != (custom == 0 or n <= custom):
        _inc(rt, "httpcookiemaxnum")  # cookie.go cookieNumWithinMax: the verdict differs
    return n if limit == 0 or n <= limit else 0


@_lib("lib.http.contentlength")
def op_http_contentlength(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    value = str(w.get("value") or "")
    if value.strip() == "":
        lax = _val(rt, "httplaxcontentlength") == "1" if _exists(rt, "httplaxcontentlength") else True
        if lax:
            _inc(rt, "httplaxcontentlength")  # transfer.go: an empty Content-Length accepted
            return {"length": -1, "err": None}
        return {"length": None, "err": f'invalid empty Content-Length "{value}"'}
    return {"length": int(value), "err": None}


def _mux_match(pattern: str, method: str, path: str, legacy: bool) -> int | None:
    """How specifically `pattern` matches (higher wins), or None."""
    if legacy:
        if not pattern.startswith("/"):
            return None  # a host pattern: the request's host is rthooks.test
        if pattern.endswith("/"):
            return len(pattern) if path.startswith(pattern) else None
        return 10_000 if path == pattern else None
    pmethod, _, ppath = pattern.rpartition(" ")
    if pmethod and pmethod != method:
        return None
    psegs, segs = ppath.strip("/").split("/"), path.strip("/").split("/")
    if ppath.endswith("/") and not ppath.endswith("{$}"):
        psegs = psegs if ppath != "/" else []
        if len(segs) < len(psegs):
            return None
        ok = all(p == s or (p.startswith("{") and p.endswith("}")) for p, s in zip(psegs, segs, strict=False))
        return len(psegs) if ok else None
    if len(psegs) != len(segs):
        return None
    if all(p == s or (p.startswith("{") and p.endswith("}")) for p, s in zip(psegs, segs, strict=True)):
        return 10_000 + (1 if pmethod else 0)
    return None


@_lib("lib.http.mux")
def op_http_mux(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    # httpmuxgo121 is read once, at startup: a later os.Setenv changes nothing.
    legacy = _val(rt, "httpmuxgo121") == "1" if _exists(rt, "httpmuxgo121") else True
    if w.get("setenv_godebug") is not None:
        rt.env["GODEBUG"] = str(w["setenv_godebug"])
    method, path = str(w.get("method") or "GET"), str(w.get("path") or "/")
    best, body = -1, None
    for p in w.get("patterns") or []:
        m = _mux_match(str(p), method, path, legacy)
        if m is not None and m > best:
            best, body = m, str(p)
    if body is None:
        return {"status": 404, "body": "404 page not found\n", "register_err": None}
    return {"status": 200, "body": body, "register_err": None}


def _ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for r in spec.removeprefix("bytes=").split(","):
        a, _, b = r.strip().partition("-")
        out.append((int(a), int(b)))
    return out


@_lib("lib.http.servecontent")
def op_http_servecontent(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    size = int(w.get("size", 1000))
    cc = "max-age=60"
    if w.get("range") is None:
        return {"status": 200, "cache_control": cc, "parts": 0}
    ranges = _ranges(str(w["range"]))
    if _exists(rt, "httpservecontentmaxranges"):
        n = _num(_val(rt, "httpservecontentmaxranges"))
        limit = 200 if n is None or n < 0 else n
        if (bool(limit) and len(ranges) > limit) != (len(ranges) > 200):
            _inc(rt, "httpservecontentmaxranges")  # fs.go parseRange: the limit's verdict differs
        if limit and len(ranges) > limit:
            return {"status": 200, "cache_control": cc, "parts": 0}
    if all(a >= size for a, _ in ranges):
        keep = _val(rt, "httpservecontentkeepheaders") == "1" if _exists(rt, "httpservecontentkeepheaders") else True
        if keep:
            _inc(rt, "httpservecontentkeepheaders")  # fs.go serveError: Cache-Control kept
        return {"status": 416, "cache_control": cc if keep else "", "parts": 0}
    return {"status": 206, "cache_control": cc, "parts": len(ranges) if len(ranges) > 1 else 0}


# ---- net/url, mime/multipart, archives, html/template, os/exec, net -----------------------------


@_lib("lib.url.parsequery")
def op_url_parsequery(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    n = int(w.get("n", 1))
    if _exists(rt, "urlmaxqueryparams"):
        custom = _num(_val(rt, "urlmaxqueryparams"))
        ok = n <= 10000 if custom is None else (custom == 0 or n < custom)
        if ok != (n <= 10000):
            _inc(rt, "urlmaxqueryparams")  # url.go urlParamsWithinMax: the verdict differs
        if not ok:
            return {"n": 0, "err": "number of URL query parameters exceeded limit"}
    return {"n": n, "err": None}


@_lib("lib.url.parse")
def op_url_parse(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    url = str(w["url"])
    m = re.match(r"^([a-z]+)://([^/]*)(/.*)?$", url)
    if not m:
        raise Unsupported("lib.url.parse: only scheme://host/path URLs are modelled")
    scheme, host = m.group(1), m.group(2)
    if host.count(":") > 1 and not host.startswith("["):
        strict = _val(rt, "urlstrictcolons") != "0" if _exists(rt, "urlstrictcolons") else False
        if not strict and scheme in ("http", "https"):
            _inc(rt, "urlstrictcolons")  # url.go parseHost: the colons let through
        if strict and scheme in ("http", "https"):
            bad = host[host.index(":") :]
            return {
                "host": None,
                "hostname": None,
                "port": None,
                "err": f'parse "{url}": invalid port "{bad}" after host',
            }
    hostname, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    return {"host": host, "hostname": hostname, "port": port, "err": None}


def _limit(rt: OracleRuntime, key: str, default: int) -> int:
    """A multipart limit: a parsable, non-negative setting replaces the default, and is counted
    each time it is read, whether or not it changes anything (multipart.go maxMIMEHeaders,
    formdata.go readForm)."""
    n = _num(_val(rt, key))
    if n is None or n < 0:
        return default
    _inc(rt, key)
    return n


@_lib("lib.multipart.part")
def op_multipart_part(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    n = int(w.get("headers", 1))
    if n > _limit(rt, "multipartmaxheaders", 10000):
        return {"headers": None, "err": "multipart: message too large"}
    return {"headers": n, "err": None}


@_lib("lib.multipart.form")
def op_multipart_form(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    n = int(w.get("parts", 1))
    h = int(w.get("headers", 1))
    files = bool(w.get("files", False))
    # readForm (formdata.go) reads the header limit once for the whole form (maxHeaders :=
    # maxMIMEHeaders()) and hands it to its internal nextPart; only the exported NextPart and
    # NextRawPart read it per part. Measured: multipartmaxheaders=20000, ReadForm of 3 parts, the
    # counter reads 1 on go1.21.13 and go1.27.3.
    headers_left = _limit(rt, "multipartmaxheaders", 10000)
    parts_left = _limit(rt, "multipartmaxparts", 1000)
    too_large: dict[str, Any] = {"values": None, "err": "multipart: message too large"}
    for _ in range(n):
        # nextPart refuses a part with more headers than are left (textproto readMIMEHeader), then
        # the part limit applies; a file part's headers are taken off the form's budget
        # (readForm: maxHeaders -= int64(len(v)) for each of them), a value part's are not.
        if headers_left < h or parts_left <= 0:
            return {**too_large, "files": None} if files else too_large
        parts_left -= 1
        if files:
            headers_left -= h
    if files:
        return {"values": 0, "files": n, "err": None}
    return {"values": n, "err": None}


def _local(name: str) -> bool:
    return bool(name) and not name.startswith("/") and ".." not in name.split("/")


@_lib("lib.tar.next")
def op_tar_next(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    name = str(w["name"])
    err = None if _local(name) or _val(rt, "tarinsecurepath") != "0" else "archive/tar: insecure file path"
    if err:
        _inc(rt, "tarinsecurepath")  # reader.go Next
    return {"name": name, "err": err}


@_lib("lib.zip.open")
def op_zip_open(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    names = [str(n) for n in w.get("names") or []]
    bad = any(not _local(n) or "\\" in n for n in names)
    err = "zip: insecure file path" if bad and _val(rt, "zipinsecurepath") == "0" else None
    if err:
        _inc(rt, "zipinsecurepath")  # reader.go init: once, at the first insecure name
    return {"files": len(names), "err": err}


UNSAFE_URL = re.compile(r"^\s*(javascript|vbscript|data):", re.I)


@_lib("lib.template.exec")
def op_template_exec(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    text, data = str(w["text"]), str(w.get("data") or "")
    if "{{.}}" not in text or not re.fullmatch(r"[A-Za-z0-9:()/. ]*", data):
        raise Unsupported("lib.template.exec: only a single {{.}} with plain data is modelled")
    at = text.index("{{.}}")
    if text[at - 1 : at] == "`":  # inside a JS template literal
        if rt.release < spec_since("godebug:jstmpllitinterp#ignored-122") and _val(rt, "jstmpllitinterp") != "1":
            return {"out": None, "err": f"html/template:t:1:{at + 2}: {{{{.}}}} appears in a JS template literal"}
        if rt.release < spec_since("godebug:jstmpllitinterp#ignored-122"):
            _inc(rt, "jstmpllitinterp")  # escape.go (go1.21): an action allowed in a JS template literal
        return {"out": text.replace("{{.}}", data), "err": None}
    if "http-equiv" in text and "url=" in text[:at]:
        escape = _val(rt, "htmlmetacontenturlescape") != "0" if _exists(rt, "htmlmetacontenturlescape") else False
        if not escape:
            # escape.go: counted whenever the filter is left out, whether or not the data needed it.
            _inc(rt, "htmlmetacontenturlescape")
        return {"out": text.replace("{{.}}", "#ZgotmplZ" if escape and UNSAFE_URL.match(data) else data), "err": None}
    raise Unsupported("lib.template.exec: this template context is not modelled")


@_lib("lib.exec.lookpath")
def op_exec_lookpath(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    file, path = str(w.get("file") or "rthooks-prog"), str(w.get("path") or ".")
    if path != "." and "/" not in file and all(d not in ("", ".") for d in path.split(":")):
        # The op writes the program only into the working directory, so a PATH of other
        # directories finds nothing: lp_unix.go LookPath returns ErrNotFound before the gated
        # relative-path check, whatever execerrdot says.
        return {"path": "", "err": f'exec: "{file}": executable file not found in $PATH', "errdot": False}
    if path != ".":
        raise Unsupported("lib.exec.lookpath: only PATH=. or a PATH without the working directory is modelled")
    if _val(rt, "execerrdot") == "0":
        _inc(rt, "execerrdot")  # lp_unix.go LookPath: a relative result allowed
        return {"path": file, "err": None, "errdot": False}
    err = f'exec: "{file}": cannot run executable found relative to current directory'
    return {"path": file, "err": err, "errdot": True}


@_lib("lib.net.mptcp")
def op_net_mptcp(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    v = _val(rt, "multipathtcp")
    if rt.release < spec_since("godebug:multipathtcp#values-124"):
        dialer = listener = v == "1"
        # dial.go mptcpStatus.get: "1" counts on each default read.
        counted = (v == "1" and w.get("dialer_set") is None) + (v == "1" and w.get("listener_set") is None)
    else:
        dialer, listener = {"0": (False, False), "1": (True, True), "2": (False, True), "3": (True, False)}.get(
            v or "", (False, True)
        )
        # dial.go: the dialer's read counts "1" and "3", the listener's "0" and "3".
        dial_counts, listen_counts = v in ("1", "3"), v in ("0", "3")
        counted = (dial_counts and w.get("dialer_set") is None) + (listen_counts and w.get("listener_set") is None)
    _inc(rt, "multipathtcp", int(counted))
    if w.get("dialer_set") is not None:
        dialer = bool(w["dialer_set"])
    if w.get("listener_set") is not None:
        listener = bool(w["listener_set"])
    return {"dialer": dialer, "listener": listener}


def netdns_debug_lines(rt: OracleRuntime, value: str, host: str, *, cgo_build: bool) -> list[str]:
    """What package net prints on its first lookup under GODEBUG netdns=MODE+LEVEL (net/conf.go).

    One reading for both builds: the usual CGO_ENABLED=0 driver, where the cgo
    resolver is missing, and the cgo driver variant (oracle/cgomodel.py).
    """
    mode, level = "", 0
    for part in value.split("+"):
        if part.isdigit():
            level = int(part)
        elif part:
            mode = part
    lines = []
    if level > 1:
        lines.append(
            f"go package net: confVal.netCgo = {str(mode == 'cgo').lower()}  netGo = {str(mode == 'go').lower()}"
        )
    if level > 0:
        old = rt.release < cutoff("net-resolver-messages")
        if cgo_build:
            forced = {
                "go": "go package net: GODEBUG setting forcing use of "
                + ("Go's resolver" if old else "the Go resolver"),
                "cgo": "go package net: "
                + ("using cgo DNS resolver" if old else "GODEBUG setting forcing use of the cgo resolver"),
            }
            lines.append(forced.get(mode, "go package net: dynamic selection of DNS resolver"))
        elif old:
            lines.append(
                "go package net: GODEBUG setting forcing use of Go's resolver"
                if mode == "go"
                else "go package net: cgo resolver not supported; using Go's DNS resolver"
            )
        elif mode == "cgo":
            lines.append(
                "go package net: ignoring GODEBUG=netdns=cgo as the binary was compiled without support "
                "for the cgo resolver"
            )
        else:
            lines.append("go package net: using the Go DNS resolver")
    if level > 1:
        order = "cgo" if cgo_build and mode == "cgo" else "files,dns"
        lines.append(f"go package net: hostLookupOrder({host}) = {order}")
    return lines


@_lib("lib.net.lookup")
def op_net_lookup(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    st = rt.area("libgodebug.netdns", dict)
    if not st.get("init"):
        st["init"] = True
        lines = netdns_debug_lines(rt, _val(rt, "netdns") or "", str(w.get("host") or "localhost"), cgo_build=False)
        rt.stderr += "".join(line + "\n" for line in lines)
    return {"n": 1, "err": None}


@_lib("lib.net.edns0")
def op_net_edns0(rt: OracleRuntime, _a: list[Any], _w: dict[str, Any]) -> dict[str, Any]:
    if _val(rt, "netedns0") == "0":
        _inc(rt, "netedns0", 2)  # dnsclient_unix.go newRequest: one per query, A and AAAA
    return {"addrs": ["192.0.2.1"], "err": None, "edns0": _val(rt, "netedns0") != "0"}


# ---- the go command ---------------------------------------------------------------------------

GOOS_GOARCH = "linux_amd64"


def _goline(files: dict[str, str], d: str) -> GoVersion:
    """The go line of module ``d``'s go.mod; a go.mod without one means go 1.16 (cmd/go's rule)."""
    m = re.search(r"^go (1\.\d+)", files.get(f"{d}/go.mod", ""), re.M)
    return GoVersion.parse(m.group(1)) if m else GOMOD_DEFAULT_GO_LINE


def _run(
    rt: OracleRuntime, st: dict[str, Any], files: dict[str, str], dirs: list[str], run: dict[str, Any]
) -> dict[str, Any]:
    args = [str(a) for a in run.get("args") or []]
    env = {str(k): str(v) for k, v in (run.get("env") or {}).items()}
    gd = dict(kv.partition("=")[::2] for kv in env.get("GODEBUG", "").split(",") if kv)
    d = str(run.get("dir") or "m")
    ok = {"exit": 0, "stdout": "", "stderr": ""}
    if run.get("prog"):
        src = files.get(f"{d}/main.go", "")
        if '"go/build"' in src:
            return {**ok, "stdout": _installgoroot_prog(rt, gd.get("installgoroot"))}
        # The go/types probe programs (gotypesalias); their DefaultGODEBUG comes from their go line.
        v = gd.get("gotypesalias")
        item = default_spec().items["godebug:gotypesalias"]
        if v is None and item.exists_in(rt.release):
            v = godebug_default(item, rt.release, _goline(files, d))
        removed = spec_removed("godebug:gotypesalias")
        if removed is not None and rt.release >= removed:
            alias = True
        elif rt.release >= spec_since("godebug:gotypesalias#default-enabled-123"):
            alias = v != "0"
        else:
            alias = v == "1"
        name = "*types.Alias" if alias else "*types.Basic"
        if '"runtime/metrics"' not in src:
            return {**ok, "stdout": name + "\n"}
        # A type definition, then two alias declarations, each line with the program's counter:
        # decl.go (go1.23-go1.26) counts an alias declaration checked without Alias nodes, only
        # where the key's counter exists and the spec records no deviation (go1.22 never counts).
        counts = (
            not alias
            and _counter_exists(rt, "gotypesalias")
            and not _deviates(rt, "gotypesalias", "counts-non-default-behaviour")
        )
        return {**ok, "stdout": f"*types.Named 0\n{name} {int(counts)}\n{name} {2 * int(counts)}\n"}
    pkg = f"rthooks.test/{d}"
    if args[:1] == ["list"] and args[-1:] == ["fmt"]:
        out = f"/goroot/pkg/{GOOS_GOARCH}/fmt.a\n" if gd.get("installgoroot") == "all" else ""
        return {**ok, "stdout": out}
    if args[:1] == ["build"]:
        if any(x.endswith(".git") for x in dirs) and ".hg" in dirs:
            if in_spec(rt.release, "godebug:allowmultiplevcs") and gd.get("allowmultiplevcs") != "1":
                err = f'error obtaining VCS status: multiple VCS detected: git in "/work/{d}", and hg in "/work"\n'
            else:
                err = "error obtaining VCS status: exit status 128\n"
            return {"exit": 1, "stdout": "", "stderr": err + "\tUse -buildvcs=false to disable VCS stamping.\n"}
        if any("//go:embed" in text for name, text in files.items() if name.startswith(f"{d}/")):
            if in_spec(rt.release, "godebug:embedfollowsymlinks") and gd.get("embedfollowsymlinks") == "1":
                return ok
            return {**ok, "exit": 1, "stderr": "p.go:5:12: pattern link.txt: cannot embed irregular file link.txt\n"}
        text = ""
        if "-x" in args:
            text = "WORK=/tmp/go-build\n"
            if not st.get(d) or gd.get("gocacheverify") == "1":
                text += f"/goroot/pkg/tool/{GOOS_GOARCH}/compile -o $WORK/b001/_pkg_.a -p {pkg}\n"
        if gd.get("gocachehash") == "1":
            text += f'HASH[build {pkg}]\nHASH[build {pkg}]: "go{rt.release}"\n'
        st[d] = True
        return {**ok, "stderr": text}
    if args[:1] == ["test"]:
        failing = any("undefined()" in text for name, text in files.items() if name.startswith(f"{d}/"))
        if failing and "-json" in args:
            if in_spec(rt.release, "godebug:gotestjsonbuildtext") and gd.get("gotestjsonbuildtext") != "1":
                out = (
                    f'{{"ImportPath":"{pkg} [{pkg}.test]","Action":"build-output","Output":"# {pkg} [{pkg}.test]\\n"}}\n'
                    f'{{"ImportPath":"{pkg} [{pkg}.test]","Action":"build-fail"}}\n'
                    f'{{"Action":"start","Package":"{pkg}"}}\n'
                    f'{{"Action":"fail","Package":"{pkg}","FailedBuild":"{pkg} [{pkg}.test]"}}\n'
                )
                return {"exit": 1, "stdout": out, "stderr": ""}
            out = f'{{"Action":"start","Package":"{pkg}"}}\n{{"Action":"fail","Package":"{pkg}"}}\n'
            err = f"# {pkg} [{pkg}.test]\n./b_test.go:5:28: undefined: undefined\n"
            return {"exit": 1, "stdout": out, "stderr": err}
        err = ""
        if gd.get("gocachetest") == "1":
            err = f"testcache: {pkg}: test ID 0000 => 0000\ntestcache: {pkg}: input list not found\n"
        return {**ok, "stdout": f"ok  \t{pkg}\t0.001s\n", "stderr": err}
    raise Unsupported(f"lib.gocmd: go {' '.join(args)} is not modelled")


@_lib("lib.gocmd")
def op_gocmd(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> list[dict[str, Any]]:
    st = rt.area("libgodebug.gocmd", dict)
    files = {str(k): str(v) for k, v in (w.get("files") or {}).items()}
    dirs = [str(x) for x in w.get("dirs") or []]
    return [_run(rt, st, files, dirs, run) for run in w.get("runs") or []]


# ---- the hand-written TLS 1.2 peer (ops_lib_rawtls.go) -------------------------------------------

NO_EMS_EKM = (
    "crypto/tls: ExportKeyingMaterial is unavailable when neither TLS 1.3 nor Extended Master Secret "
    "are negotiated; override with GODEBUG=tlsunsafeekm=1"
)


@_lib("lib.tls.rawclient")
def op_tls_rawclient(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    given = w.get("sigalgs")
    _new_ca(rt)
    if given is not None and len(given) == 0:
        # No signature_algorithms extension: a TLS 1.2 peer without one is taken to support SHA-1
        # (auth.go selectSignatureScheme, RFC 5246 7.4.1.4.1), which from go1.25 only tlssha1=1 allows.
        if not _tlssha1(rt):
            return {
                "server_err": "tls: missing signature_algorithms from TLS 1.2 peer",
                "client_err": "raw peer: received alert [2 40]",
                "version": None,
                "ekm_err": None,
            }
        given = SHA1_SCHEMES  # PKCS1WithSHA1, ECDSAWithSHA1: the ECDSA key signs with the latter
    sigalgs = [int(s) for s in given or [0x0403]]
    if not _tlssha1(rt) and all(s in SHA1_SCHEMES for s in sigalgs):
        return {
            "server_err": "tls: peer doesn't support any of the certificate's signature algorithms",
            "client_err": "raw peer: received alert [2 40]",
            "version": None,
            "ekm_err": None,
        }
    # The server signs its key exchange with the first of the client's schemes its ECDSA P-256
    # key can use (auth.go selectSignatureScheme, peer order); a SHA-1 one counts (key_agreement.go).
    usable = [s for s in sigalgs if s == 0x0403 or (s == 0x0203 and _tlssha1(rt))]
    if usable and usable[0] == 0x0203:
        _inc(rt, "tlssha1")
    ekm_err = None
    if not w.get("ems", True) and rt.release >= spec_since("godebug:tlsunsafeekm"):
        if _val(rt, "tlsunsafeekm") != "1":
            ekm_err = NO_EMS_EKM
        else:
            _inc(rt, "tlsunsafeekm")  # conn.go: keying material exported without EMS
    return {"server_err": None, "client_err": None, "version": 0x303, "ekm_err": ekm_err}


@_lib("lib.tls.rawserver")
def op_tls_rawserver(rt: OracleRuntime, _a: list[Any], w: dict[str, Any]) -> dict[str, Any]:
    fips = in_spec(rt.release, "godebug:fips140") and _fips_on(_val(rt, "fips140"))
    _new_ca(rt)
    if not w.get("ems", True) and fips and _exists(rt, "fips140ems") and _val(rt, "fips140ems") != "0":
        return {"client_err": "tls: FIPS 140-3 requires the use of Extended Master Secret", "version": None}
    if not w.get("ems", True) and fips:
        _inc(rt, "fips140ems")  # handshake_client.go: a handshake without EMS allowed in FIPS mode
    return {"client_err": None, "version": 0x303}
