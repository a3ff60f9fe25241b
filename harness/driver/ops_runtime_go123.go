//go:build go1.23

package main

import (
	"os"
	"runtime/debug"
)

// runtime.crashoutput opens with.file for appending, passes it to
// debug.SetCrashOutput and closes it at once; the value is the call's error.
func init() {
	registerOp("runtime.crashoutput", func(r *runner, w *withArgs) (interface{}, error) {
		f, err := os.OpenFile(w.needStr("file"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0644)
		if err != nil {
			return nil, err
		}
		err = debug.SetCrashOutput(f, debug.CrashOptions{})
		f.Close()
		return nil, err
	})
}
