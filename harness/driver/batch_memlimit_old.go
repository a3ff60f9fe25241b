//go:build !go1.19

package main

// Before Go 1.19 (gccgo 12) there is no memory limit: no program can change
// one, so there is nothing to put back.
func memoryLimit() int64 { return 0 }

func restoreMemoryLimit(v int64) {}
