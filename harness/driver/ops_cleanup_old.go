//go:build !go1.24

package main

// Before Go 1.24 there is no runtime.AddCleanup; the cleanup op says so.
func init() {
	registerOp("cleanup", func(r *runner, w *withArgs) (interface{}, error) {
		unsupported("op cleanup needs runtime.AddCleanup (Go 1.24); this driver was built with an older Go")
		return nil, nil
	})
}
