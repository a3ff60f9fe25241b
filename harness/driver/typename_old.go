//go:build !go1.21

package main

// typeName before Go 1.21: runtime.PanicNilError does not exist, so no
// recovered value can be one and every non-nil value is "other", as the
// go1.21 version (dispatch_runtime_go121.go) answers for those.
func typeName(v interface{}) string {
	return "other"
}
