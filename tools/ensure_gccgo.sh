#!/bin/sh
# tools/ensure_gccgo.sh [COMMAND [ARG...]]: make gccgo-12 (Debian's gccgo and its go command, go-12)
# available, then run COMMAND (`tox -e gccgo` runs `rthooks run --impl gccgo ...` through it).
#
# When go-12 is missing it is installed with apt-get (as root, or through passwordless sudo). Where
# that cannot be done (not a Debian-like system, no privilege, no network) the script prints one line
# saying why and exits 0 without running COMMAND: the env is skipped, not failed. COMMAND's own exit
# status is the script's otherwise. (`rthooks run --impl gccgo` alone, without gccgo, says the same
# in one line and exits 2.)
set -u
PKG=gccgo-12
GO=go-12

skip() {
    echo "gccgo: skipped: $GO not found and $1" >&2
    exit 0
}

if ! command -v "$GO" >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || skip "this is not a Debian-like system (no apt-get): install gccgo 12 by other means"
    if [ "$(id -u)" = 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        skip "installing Debian's $PKG needs root: sudo apt-get install -y $PKG"
    fi
    log=$(mktemp)
    if ! $SUDO apt-get install -y -q "$PKG" >"$log" 2>&1; then
        # A fresh container has no package lists yet.
        if ! { $SUDO apt-get update -q >>"$log" 2>&1 && $SUDO apt-get install -y -q "$PKG" >>"$log" 2>&1; }; then
            last=$(tail -n 1 "$log")
            rm -f "$log"
            skip "apt-get install -y $PKG failed: $last"
        fi
    fi
    rm -f "$log"
    command -v "$GO" >/dev/null 2>&1 || skip "Debian's $PKG installed no $GO command"
    echo "gccgo: installed Debian's $PKG ($GO)" >&2
fi
[ "$#" -eq 0 ] && exit 0
exec "$@"
