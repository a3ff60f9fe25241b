//go:build gc && go1.24

package main

// godebug.dit on arm64: the data-independent-timing state (PSTATE.DIT) the
// program runs with, read with MRS (ops_godebug_dit_arm64.s). Go 1.24 added
// crypto/subtle.WithDataIndependentTiming and GODEBUG dataindependenttiming.
// gc only: gccgo does not assemble Go assembly (ops_godebug_dit_other.go).

import (
	"crypto/subtle"
	"runtime"
)

func init() {
	registerOp("godebug.dit", opGodebugDIT)
}

// ditFeature is the DIT field of ID_AA64PFR0_EL1 (bits 51:48), which Linux
// (and qemu-user) let user space read: 0 means no FEAT_DIT, and MRS DIT would
// then raise SIGILL.
func ditFeature() uint64

// ditEnabled reports PSTATE.DIT of the calling thread.
func ditEnabled() bool

// godebug.dit: PSTATE.DIT on the step's goroutine (main), on a new goroutine
// locked to its thread (thread), inside crypto/subtle.WithDataIndependentTiming
// (inside; on only if the runtime thinks the CPU has DIT: internal/cpu reads
// HWCAP_DIT) and after it returned (after).
func opGodebugDIT(r *runner, w *withArgs) (interface{}, error) {
	if ditFeature() == 0 {
		unsupported("this CPU has no FEAT_DIT (ID_AA64PFR0_EL1.DIT is 0)")
	}
	out := map[string]interface{}{"main": ditEnabled()}
	done := make(chan bool)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		done <- ditEnabled()
	}()
	out["thread"] = <-done
	subtle.WithDataIndependentTiming(func() { out["inside"] = ditEnabled() })
	out["after"] = ditEnabled()
	return out, nil
}
