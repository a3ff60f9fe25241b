//go:build !gc

package main

// Without the gc runtime (gccgo's libgo) there is no runtime/pprof.readProfile
// buffer reader to link to (ops_pprof_cpurate.go); the op says so.
func init() {
	registerOp("pprof.cpurate.read", func(r *runner, w *withArgs) (interface{}, error) {
		unsupported("op pprof.cpurate.read reads the gc runtime's CPU profile buffer (runtime/pprof.readProfile); this driver was not built by gc")
		return nil, nil
	})
}
