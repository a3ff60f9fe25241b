package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// goTests are the test programs process.gotest can run, by name: the code
// lives here, in the driver, never in case files. Each is the body of one
// file of package gotest; "os" and "testing" are imported by every one.
var goTests = map[string]struct {
	imports, body, goexperiment string
}{
	// os.Exit(0) inside a test: go test runs tests with -test.paniconexit0.
	"exit0": {body: "func TestCase(t *testing.T) {\n\tos.Exit(0)\n}\n"},
	// An empty synctest bubble: the runtime refuses bubbles when asynctimerchan is not 0.
	"synctest": {
		imports: "\t\"testing/synctest\"\n",
		body:    "func TestCase(t *testing.T) {\n\tsynctest.Test(t, func(*testing.T) {})\n}\n",
	},
	// The same on Go 1.24, where testing/synctest is an experiment with only Run.
	"synctest-go1.24": {
		imports:      "\t\"testing/synctest\"\n",
		body:         "func TestCase(t *testing.T) {\n\tsynctest.Run(func() {})\n}\n",
		goexperiment: "synctest",
	},
}

// opProcessGoTest writes a one-test module (the test program named by
// with.test, see goTests) into a new directory under the working directory
// and runs `go test` on it with the toolchain under test ($RTHOOKS_GO),
// in the process's environment (GODEBUG included). It reports {exit, output}.
func opProcessGoTest(r *runner, w *withArgs) (interface{}, error) {
	gobin := os.Getenv("RTHOOKS_GO")
	if gobin == "" {
		unsupported("op process.gotest needs RTHOOKS_GO (the toolchain's go command)")
	}
	name := w.needStr("test")
	if name == "synctest" && strings.HasPrefix(runtime.Version(), "go1.24") {
		name = "synctest-go1.24"
	}
	t, ok := goTests[name]
	if !ok {
		badArgs("op process.gotest: unknown test %q", name)
	}
	dir, err := filepath.Abs("rthooks-gotest")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0755); err != nil {
		return nil, err
	}
	files := map[string]string{
		"go.mod":       "module rthooks.dev/gotest\n\ngo 1.21\n",
		"case_test.go": "package gotest\n\nimport (\n\t\"os\"\n\t\"testing\"\n" + t.imports + ")\n\nvar _ = os.Exit\n\n" + t.body,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0644); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(gobin, "test", "-count=1", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=", "CGO_ENABLED=0", "GO111MODULE=on")
	if t.goexperiment != "" {
		cmd.Env = append(cmd.Env, "GOEXPERIMENT="+t.goexperiment)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	code, err := runExit(cmd)
	if err != nil {
		return nil, err
	}
	return map[string]interface{}{"exit": code, "output": buf.String()}, nil
}

func init() {
	registerOp("process.gotest", opProcessGoTest)
}
