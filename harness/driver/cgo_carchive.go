//go:build cgo && go1.21

package main

// cgo.carchive-cpuprofile: StartCPUProfile in a Go library built with
// -buildmode=c-archive and linked into a C host program (built with the
// toolchain under test, RTHOOKS_GO, and its C compiler, `go env CC`).

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

func init() {
	registerOp("cgo.carchive-cpuprofile", opCgoCArchiveCPUProfile)
}

const carchiveLib = `package main

import "C"

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

var sink int

//export RthooksProfile
func RthooksProfile(notify C.int, ms C.int, path *C.char) C.int {
	if notify != 0 {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGPROF)
	}
	f, err := os.Create(C.GoString(path))
	if err != nil {
		return 1
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return 2
	}
	end := time.Now().Add(time.Duration(ms) * time.Millisecond)
	x := 0
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			x += i * i
		}
	}
	sink = x
	pprof.StopCPUProfile()
	return 0
}

func main() {}
`

const carchiveHost = `#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib.h"

static volatile sig_atomic_t host_sigprof;
static void on_sigprof(int sig) { host_sigprof++; }

int main(int argc, char** argv) {
	if (argc < 5) return 100;
	if (atoi(argv[1])) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_sigprof;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGPROF, &sa, 0);
	}
	int rc = RthooksProfile(atoi(argv[2]), atoi(argv[3]), argv[4]);
	printf("%d %d\n", rc, (int)host_sigprof);
	return rc;
}
`

// opCgoCArchiveCPUProfile: with {host_handler (bool, default true: the
// host installs its own SIGPROF handler first), notify (bool: the library
// calls signal.Notify for SIGPROF before profiling), work_ms (400)}, the
// host calls the library, which profiles busy work to a file. Reports
// {"rc", "host_sigprof": SIGPROFs the host's handler got, "samples": the
// profile's sample count}.
func opCgoCArchiveCPUProfile(r *runner, w *withArgs) (interface{}, error) {
	gobin := os.Getenv("RTHOOKS_GO")
	if gobin == "" {
		unsupported("op cgo.carchive-cpuprofile needs RTHOOKS_GO (the toolchain's go command)")
	}
	dir, err := filepath.Abs("rthooks-carchive")
	if err != nil {
		return nil, err
	}
	lib, host := filepath.Join(dir, "lib"), filepath.Join(dir, "host")
	for _, d := range []string{lib, host} {
		if err := os.MkdirAll(d, 0755); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		filepath.Join(lib, "go.mod"):  "module rthooks.dev/carchive\n\ngo 1.21\n",
		filepath.Join(lib, "lib.go"):  carchiveLib,
		filepath.Join(host, "host.c"): carchiveHost,
	}
	for name, text := range files {
		if err := os.WriteFile(name, []byte(text), 0644); err != nil {
			return nil, err
		}
	}
	env := append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=", "CGO_ENABLED=1", "GO111MODULE=on")
	run := func(d string, name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = d, env
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		if err != nil {
			return buf.String(), errors.New(name + " " + strings.Join(args, " ") + ": " + err.Error() + ": " + buf.String())
		}
		return buf.String(), nil
	}
	if _, err := run(lib, gobin, "build", "-buildmode=c-archive", "-o", "lib.a", "."); err != nil {
		return nil, err
	}
	cc, err := run(lib, gobin, "env", "CC")
	if err != nil {
		return nil, err
	}
	ccArgs := strings.Fields(cc)
	if len(ccArgs) == 0 {
		unsupported("no C compiler (go env CC is empty)")
	}
	ccArgs = append(ccArgs, "-I", lib, "-o", filepath.Join(host, "host"), filepath.Join(host, "host.c"), filepath.Join(lib, "lib.a"), "-lpthread")
	if _, err := run(host, ccArgs[0], ccArgs[1:]...); err != nil {
		return nil, err
	}
	b := func(k string, def bool) string {
		if w.bool(k, def) {
			return "1"
		}
		return "0"
	}
	prof := filepath.Join(dir, "cpu.pprof")
	out, err := run(dir, filepath.Join(host, "host"), b("host_handler", true), b("notify", false), strconv.Itoa(w.int("work_ms", 400)), prof)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return nil, errors.New("host printed " + strconv.Quote(out))
	}
	rc, _ := strconv.Atoi(f[0])
	sig, _ := strconv.Atoi(f[1])
	data, err := os.ReadFile(prof)
	if err != nil {
		return nil, err
	}
	sum, err := protoSummary(data)
	if err != nil {
		return nil, err
	}
	return map[string]interface{}{"rc": rc, "host_sigprof": sig, "samples": sum["samples"]}, nil
}
