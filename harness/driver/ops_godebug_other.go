//go:build !linux

package main

func init() {
	for _, name := range []string{"godebug.capture", "godebug.maps"} {
		registerOp(name, func(r *runner, w *withArgs) (interface{}, error) {
			unsupported("this op is implemented for linux only")
			return nil, nil
		})
	}
}
