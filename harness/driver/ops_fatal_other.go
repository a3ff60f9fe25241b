//go:build !linux

package main

// threadExhaustion needs pipes and /proc; only the Linux build has it.
func threadExhaustion() func() {
	unsupported("fatal thread-exhaustion is implemented for linux only")
	return nil
}
