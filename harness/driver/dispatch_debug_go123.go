//go:build go1.23

package main

import "runtime/debug"

// runtime/debug.SetCrashOutput (Go 1.23): [file, opts], file as crashFile
// reads it; opts must be null or {} (CrashOptions has no fields).
func init() {
	registerCalls(map[string]callImpl{
		"runtime/debug.SetCrashOutput": {errLast: true, fn: func(a *argList) []interface{} {
			a.between(1, 2)
			if a.n() == 2 {
				if m, ok := a.get(1).(map[string]interface{}); !(a.isNull(1) || ok && len(m) == 0) {
					badArgs("runtime/debug.SetCrashOutput: opts must be null or {}")
				}
			}
			return results(debug.SetCrashOutput(a.crashFile(0), debug.CrashOptions{}))
		}},
	})
}
