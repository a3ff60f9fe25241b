//go:build gc

package main

import "runtime"

// runtime.SetCgoTraceback is part of the gc toolchain's runtime only
// (gccgo's libgo does not have it).
func init() {
	registerCalls(map[string]callImpl{
		"runtime.SetCgoTraceback": {fn: func(a *argList) []interface{} {
			// Only nil function pointers can come from JSON; with them the
			// version check and the call-once rule are still observable.
			a.expect(4)
			for i := 1; i < 4; i++ {
				if !a.isNull(i) {
					unsupported("runtime.SetCgoTraceback: C function pointers cannot be passed from a JSON step; only null")
				}
			}
			runtime.SetCgoTraceback(a.int(0), nil, nil, nil)
			return noResults
		}},
	})
}
