package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// opProcessGoTest writes a one-test module (with.body is the body of
// TestCase, with "os" and "testing" imported) into a new directory under
// the working directory and runs `go test` on it with the toolchain under
// test ($RTHOOKS_GO). It reports {exit, output}.
func opProcessGoTest(r *runner, w *withArgs) (interface{}, error) {
	gobin := os.Getenv("RTHOOKS_GO")
	if gobin == "" {
		unsupported("op process.gotest needs RTHOOKS_GO (the toolchain's go command)")
	}
	body := w.needStr("body")
	dir, err := filepath.Abs("rthooks-gotest")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0755); err != nil {
		return nil, err
	}
	files := map[string]string{
		"go.mod": "module rthooks.dev/gotest\n\ngo 1.21\n",
		"case_test.go": "package gotest\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nvar _ = os.Exit\n\n" +
			"func TestCase(t *testing.T) {\n" + body + "\n}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0644); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(gobin, "test", "-count=1", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=", "CGO_ENABLED=0", "GO111MODULE=on")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, err
		}
		code = ee.ExitCode()
	}
	return map[string]interface{}{"exit": code, "output": buf.String()}, nil
}

func init() {
	registerOp("process.gotest", opProcessGoTest)
}
