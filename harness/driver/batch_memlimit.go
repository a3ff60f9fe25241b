//go:build go1.19

package main

import "runtime/debug"

// The memory limit (Go 1.19+), saved before a batch's first program and put
// back after each.
func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

func restoreMemoryLimit(v int64) { debug.SetMemoryLimit(v) }
