package main

import (
	"errors"
	"io"
	"os"
)

// openFiles keeps every file opened for a call alive and open for the
// rest of the run: a profiler or tracer may still be writing to it, and an
// unreachable *os.File would be closed by its finalizer.
var openFiles []*os.File

// createFile creates (or truncates) a file relative to the working
// directory, which the harness makes fresh for each case.
func createFile(path string) *os.File {
	f, err := os.Create(path)
	if err != nil {
		badArgs("cannot create %s: %v", path, err)
	}
	openFiles = append(openFiles, f)
	return f
}

// writer reads an io.Writer argument:
//
//	"path" or {"file": "path"}  the file, created or truncated
//	{"fail": "text"}            every Write fails with errors.New(text)
//	{"discard": true}           accepts and drops everything
//	null                        a nil io.Writer
func (a *argList) writer(i int) io.Writer {
	switch x := a.get(i).(type) {
	case nil:
		return nil
	case string:
		return createFile(x)
	case map[string]interface{}:
		if p, ok := x["file"].(string); ok {
			return createFile(p)
		}
		if msg, ok := x["fail"].(string); ok {
			return failingWriter{errors.New(msg)}
		}
		if d, ok := x["discard"].(bool); ok && d {
			return io.Discard
		}
	case io.Writer:
		return x
	}
	badArgs("%s: argument %d must be a file name, {\"fail\": text}, {\"discard\": true} or null", a.what, i)
	return nil
}

// failingWriter fails every write, for the clauses about write errors.
type failingWriter struct{ err error }

func (w failingWriter) Write(p []byte) (int, error) { return 0, w.err }
