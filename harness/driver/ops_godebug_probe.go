package main

import (
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

func init() {
	registerOp("godebug.probe", opGodebugProbe)
}

// godebug.probe: builds (with RTHOOKS_GO) and runs a program that imports
// only fmt and runtime/metrics (plus math/rand when rand is true), does
// panic(nil) under recover and prints the panicnil counter; reports the
// counter (the process environment, GODEBUG included, is inherited).
func opGodebugProbe(r *runner, w *withArgs) (interface{}, error) {
	gobin := os.Getenv("RTHOOKS_GO")
	if gobin == "" {
		unsupported("godebug.probe needs RTHOOKS_GO (the toolchain's go command)")
	}
	imports, use := "\t\"fmt\"\n\t\"runtime/metrics\"\n", ""
	if w.bool("rand", false) {
		imports += "\t\"math/rand\"\n"
		use = "\tvar _ = rand.Int\n"
	}
	src := "package main\n\nimport (\n" + imports + ")\n\nfunc main() {\n" + use +
		"\tfunc() {\n\t\tdefer func() { recover() }()\n\t\tpanic(nil)\n\t}()\n" +
		"\ts := []metrics.Sample{{Name: \"/godebug/non-default-behavior/panicnil:events\"}}\n" +
		"\tmetrics.Read(s)\n\tfmt.Print(s[0].Value.Uint64())\n}\n"
	dir, err := ioutil.TempDir("", "rthooks-godebug-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := ioutil.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0644); err != nil {
		return nil, err
	}
	if err := ioutil.WriteFile(filepath.Join(dir, "go.mod"), []byte("module rthooks.dev/probe\n\ngo 1.21\n"), 0644); err != nil {
		return nil, err
	}
	exe := filepath.Join(dir, "probe")
	build := exec.Command(gobin, "build", "-o", exe, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		unsupported("godebug.probe: the build failed: %s", strings.TrimSpace(string(out)))
	}
	out, err := exec.Command(exe).Output()
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return nil, err
	}
	return n, nil
}
