package main

import (
	"os"
	"path/filepath"
	"strings"
)

func init() {
	registerOp("file.size", opFileSize)
}

// opFileSize reports the size in bytes of with.file, a regular file in the
// working directory, at the moment the step runs: a case reads it while a
// profiler or tracer still holds the file (StartCPUProfile#written-at-stop).
// A missing file is the step's error, as os.Stat words it.
func opFileSize(r *runner, w *withArgs) (interface{}, error) {
	path := w.needStr("file")
	if filepath.IsAbs(path) || hasDotDot(path) {
		badArgs("op file.size: %q is not a file name in the working directory", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		badArgs("op file.size: %s is not a regular file", path)
	}
	return fi.Size(), nil
}

// hasDotDot reports whether a slash-separated path has a ".." component.
func hasDotDot(path string) bool {
	for _, part := range strings.Split(path, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}
