//go:build go1.24

package main

import "runtime"

// Hand-written dispatch for runtime.AddCleanup and runtime.Cleanup (Go
// 1.24), and the cleanup op.
//
// runtime.AddCleanup's arguments are [ptr, cleanup, arg]: ptr an object
// ("$x", {"global": true}, or null for a nil pointer), cleanup a callback
// (tag and capture only: it runs on a runtime goroutine), arg any value. If
// arg is itself an object pointer the cleanup is instantiated with that
// pointer type, so that the runtime's arg-equals-ptr check sees it.
func init() {
	registerCalls(map[string]callImpl{
		"runtime.AddCleanup": {fn: func(a *argList) []interface{} {
			a.expect(3)
			ptr := a.get(0)
			cb := a.callbackArg(1, true)
			arg := a.any(2)
			switch p := ptr.(type) {
			case nil:
				return results(addCleanupArg((*byte)(nil), cb, arg))
			case **int:
				return results(addCleanupArg(p, cb, arg))
			case *byte:
				return results(addCleanupArg(p, cb, arg))
			}
			badArgs("runtime.AddCleanup: ptr must be an object from alloc, {\"global\": true} or null, got %T", ptr)
			return nil
		}},
		"runtime.Cleanup.Stop": {fn: func(a *argList) []interface{} {
			a.expect(1)
			if a.get(0) == nil {
				var zero runtime.Cleanup // null is the zero Cleanup
				zero.Stop()
				return noResults
			}
			c, ok := a.get(0).(runtime.Cleanup)
			if !ok {
				badArgs("runtime.Cleanup.Stop: the receiver must be a runtime.Cleanup handle")
			}
			c.Stop()
			return noResults
		}},
	})
	registerOp("cleanup", opCleanup)
}

// addCleanupArg picks the cleanup's argument type S from arg's dynamic
// type (an object pointer type, or interface{} for anything else).
func addCleanupArg[T any](ptr *T, cb *callback, arg interface{}) runtime.Cleanup {
	switch x := arg.(type) {
	case **int:
		return addCleanup(ptr, cb, x)
	case *byte:
		return addCleanup(ptr, cb, x)
	}
	return addCleanup(ptr, cb, arg)
}

// addCleanup registers cb as a cleanup. The function closes over the
// callback only (never over ptr), unless the callback asks to capture a
// value, which then sits in the closure itself where the runtime looks.
func addCleanup[T, S any](ptr *T, cb *callback, arg S) runtime.Cleanup {
	if cb.capture != nil {
		captured := cb.capture
		return runtime.AddCleanup(ptr, func(s S) {
			runtime.KeepAlive(captured)
			cb.fire(s)
		}, arg)
	}
	return runtime.AddCleanup(ptr, func(s S) { cb.fire(s) }, arg)
}

// opCleanup attaches a cleanup that records with.tag (default: the
// object's name) and returns the runtime.Cleanup's handle. The cleanup
// function is recordRan itself, a plain function, with the tag as its
// argument: nothing in it can keep the object alive.
func opCleanup(r *runner, w *withArgs) (interface{}, error) {
	obj := r.namedObject(w)
	tag := w.str("tag", w.needStr("name"))
	switch p := obj.(type) {
	case **int:
		return runtime.AddCleanup(p, recordRan, tag), nil
	case *byte:
		return runtime.AddCleanup(p, recordRan, tag), nil
	}
	badArgs("op cleanup: %q is not an object from alloc", w.needStr("name"))
	return nil, nil
}
