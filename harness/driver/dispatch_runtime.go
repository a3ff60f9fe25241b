package main

import (
	"runtime"
)

// Hand-written dispatch for package runtime (Go 1.18 API; newer items are
// in dispatch_runtime_go1*.go). Conventions beyond args.go:
//
//   - A buffer the caller passes in (Callers' pc, Stack's buf, the
//     profile record slices) is given as its length (null: a nil slice); the
//     filled buffer is reported after the results: Callers gives [n,
//     pc[:n]], Stack [n, text], GoroutineProfile and friends [n, ok, p]
//     with p whole, so that short-slice-unchanged can be seen.
//   - ReadMemStats' *MemStats is an out parameter only: the value is the
//     MemStats.
//   - Caller and Callers are called directly from their dispatch function,
//     which performCall calls: Caller(k) and the (k+1)th PC of Callers
//     describe the same frame, for any k >= 1.
func init() {
	registerCalls(map[string]callImpl{
		"runtime.BlockProfile": {fn: func(a *argList) []interface{} {
			a.expect(1)
			p := blockRecords(a.length(0))
			n, ok := runtime.BlockProfile(p)
			return results(n, ok, p)
		}},
		"runtime.MutexProfile": {fn: func(a *argList) []interface{} {
			a.expect(1)
			p := blockRecords(a.length(0))
			n, ok := runtime.MutexProfile(p)
			return results(n, ok, p)
		}},
		"runtime.GoroutineProfile": {fn: func(a *argList) []interface{} {
			a.expect(1)
			p := stackRecords(a.length(0))
			n, ok := runtime.GoroutineProfile(p)
			return results(n, ok, p)
		}},
		"runtime.ThreadCreateProfile": {fn: func(a *argList) []interface{} {
			a.expect(1)
			p := stackRecords(a.length(0))
			n, ok := runtime.ThreadCreateProfile(p)
			return results(n, ok, p)
		}},
		"runtime.MemProfile": {fn: func(a *argList) []interface{} {
			a.expect(2)
			var p []runtime.MemProfileRecord
			if n := a.length(0); n >= 0 {
				p = make([]runtime.MemProfileRecord, n)
			}
			n, ok := runtime.MemProfile(p, a.bool(1))
			return results(n, ok, p)
		}},
		"runtime.CPUProfile": {fn: func(a *argList) []interface{} {
			a.expect(0)
			return results(runtime.CPUProfile())
		}},
		"runtime.Caller": {fn: func(a *argList) []interface{} {
			a.expect(1)
			pc, file, line, ok := runtime.Caller(a.int(0))
			return results(pc, file, line, ok)
		}},
		"runtime.Callers": {fn: func(a *argList) []interface{} {
			a.expect(2)
			skip := a.int(0)
			var pc []uintptr
			if n := a.length(1); n >= 0 {
				pc = make([]uintptr, n)
			}
			n := runtime.Callers(skip, pc)
			return results(n, pc[:n])
		}},
		"runtime.CallersFrames": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(runtime.CallersFrames(a.uintptrs(0)))
		}},
		"runtime.Frames.Next": {fn: func(a *argList) []interface{} {
			a.expect(1)
			frames, ok := a.get(0).(*runtime.Frames)
			if !ok {
				badArgs("runtime.Frames.Next: the receiver must be a *runtime.Frames handle")
			}
			frame, more := frames.Next()
			return results(frame, more)
		}},
		"runtime.FuncForPC": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(runtime.FuncForPC(a.uintptr(0)))
		}},
		"runtime.Func.Entry": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.funcRecv(0).Entry())
		}},
		"runtime.Func.FileLine": {fn: func(a *argList) []interface{} {
			a.expect(2)
			file, line := a.funcRecv(0).FileLine(a.uintptr(1))
			return results(file, line)
		}},
		"runtime.Func.Name": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.funcRecv(0).Name())
		}},
		"runtime.KeepAlive": {fn: func(a *argList) []interface{} {
			a.expect(1)
			runtime.KeepAlive(a.any(0))
			return noResults
		}},
		"runtime.MemProfileRecord.InUseBytes": {fn: func(a *argList) []interface{} {
			a.expect(1)
			var rec runtime.MemProfileRecord
			a.structArg(0, &rec)
			return results(rec.InUseBytes())
		}},
		"runtime.MemProfileRecord.InUseObjects": {fn: func(a *argList) []interface{} {
			a.expect(1)
			var rec runtime.MemProfileRecord
			a.structArg(0, &rec)
			return results(rec.InUseObjects())
		}},
		"runtime.MemProfileRecord.Stack": {fn: func(a *argList) []interface{} {
			a.expect(1)
			var rec runtime.MemProfileRecord
			a.structArg(0, &rec)
			return results(rec.Stack())
		}},
		"runtime.StackRecord.Stack": {fn: func(a *argList) []interface{} {
			a.expect(1)
			var rec runtime.StackRecord
			a.structArg(0, &rec)
			return results(rec.Stack())
		}},
		"runtime.ReadMemStats": {fn: func(a *argList) []interface{} {
			a.between(0, 1) // an optional null *MemStats
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return results(ms)
		}},
		"runtime.ReadTrace": {fn: func(a *argList) []interface{} {
			a.expect(0)
			return results(runtime.ReadTrace())
		}},
		"runtime.SetFinalizer": {fn: func(a *argList) []interface{} {
			a.expect(2)
			obj := a.any(0)
			if a.isNull(1) {
				runtime.SetFinalizer(obj, nil)
				return noResults
			}
			runtime.SetFinalizer(obj, finalizerFunc(a.callbackArg(1, true)))
			return noResults
		}},
		"runtime.Stack": {fn: func(a *argList) []interface{} {
			a.expect(2)
			var buf []byte
			if n := a.length(0); n >= 0 {
				buf = make([]byte, n)
			}
			n := runtime.Stack(buf, a.bool(1))
			return results(n, buf[:n])
		}},
		"runtime.TypeAssertionError.Error": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.typeAssertionError(0).Error())
		}},
		"runtime.TypeAssertionError.RuntimeError": {fn: func(a *argList) []interface{} {
			a.expect(1)
			a.typeAssertionError(0).RuntimeError()
			return noResults
		}},
	})
}

func blockRecords(n int) []runtime.BlockProfileRecord {
	if n < 0 {
		return nil
	}
	return make([]runtime.BlockProfileRecord, n)
}

func stackRecords(n int) []runtime.StackRecord {
	if n < 0 {
		return nil
	}
	return make([]runtime.StackRecord, n)
}

// finalizerFunc makes a finalizer from a callback. It takes interface{}
// (every object type is assignable to it) and closes over the callback
// only, unless the callback asks to capture something.
func finalizerFunc(cb *callback) func(interface{}) {
	if cb.capture != nil {
		captured := cb.capture
		return func(interface{}) {
			runtime.KeepAlive(captured)
			cb.fire()
		}
	}
	return func(interface{}) { cb.fire() }
}

// funcRecv reads a *runtime.Func receiver: a handle from FuncForPC or a
// Frame's Func, or null for a nil *Func.
func (a *argList) funcRecv(i int) *runtime.Func {
	switch f := a.get(i).(type) {
	case nil:
		return nil
	case *runtime.Func:
		return f
	}
	badArgs("%s: the receiver must be a *runtime.Func handle or null", a.what)
	return nil
}

// typeAssertionError reads a *runtime.TypeAssertionError receiver: a panic
// value bound from a step, or the name of a failed assertion the driver
// performs ("type-assertion", "type-assertion-nil",
// "type-assertion-method", "type-assertion-same-name").
func (a *argList) typeAssertionError(i int) *runtime.TypeAssertionError {
	v := a.get(i)
	if kind, ok := v.(string); ok {
		v = recoverRuntimeError(kind)
	}
	e, ok := v.(*runtime.TypeAssertionError)
	if !ok {
		badArgs("%s: the receiver must be a *runtime.TypeAssertionError or the name of a failing assertion, got %T", a.what, v)
	}
	return e
}
