//go:build !arm64 || !go1.24 || !gc

package main

func init() {
	registerOp("godebug.dit", func(r *runner, w *withArgs) (interface{}, error) {
		unsupported("DIT (data-independent timing) is an arm64 feature; the op reads it on arm64 from Go 1.24, with gc (Go assembly)")
		return nil, nil
	})
}
