//go:build go1.24

package main

import "runtime"

// runtime.cleanup.gate attaches to object with.name a cleanup that waits
// until runtime.gate.open before recording with.tag, holding up the
// cleanups queued behind it; its value is the runtime.Cleanup's handle.
func init() {
	registerOp("runtime.cleanup.gate", opCleanupGate)
	registerOp("runtime.gate.open", opGateOpen)
}

var cleanupGate = make(chan struct{})

func waitGate(tag string) {
	recordRan(tag + ":started")
	<-cleanupGate
	recordRan(tag)
}

func opCleanupGate(r *runner, w *withArgs) (interface{}, error) {
	obj := r.namedObject(w)
	tag := w.str("tag", w.needStr("name"))
	switch p := obj.(type) {
	case **int:
		return runtime.AddCleanup(p, waitGate, tag), nil
	case *byte:
		return runtime.AddCleanup(p, waitGate, tag), nil
	}
	badArgs("op runtime.cleanup.gate: %q is not an object from alloc", w.needStr("name"))
	return nil, nil
}

func opGateOpen(r *runner, w *withArgs) (interface{}, error) {
	close(cleanupGate)
	return nil, nil
}
