package main

import (
	"runtime/trace"
)

// Hand-written dispatch for runtime/trace (Go 1.18 API; the flight
// recorder is in dispatch_trace_go125.go). Tasks, regions and contexts are
// handles; WithRegion's fn is a callback.
func init() {
	registerCalls(map[string]callImpl{
		"runtime/trace.Log": {fn: func(a *argList) []interface{} {
			a.expect(3)
			trace.Log(a.ctx(0), a.string(1), a.string(2))
			return noResults
		}},
		"runtime/trace.Logf": {fn: func(a *argList) []interface{} {
			// Arguments after the format are `any` values; {"stringer":
			// "tag"} shows whether Logf formatted them.
			a.atLeast(3)
			var rest []interface{}
			for i := 3; i < a.n(); i++ {
				rest = append(rest, a.any(i))
			}
			trace.Logf(a.ctx(0), a.string(1), a.string(2), rest...)
			return noResults
		}},
		"runtime/trace.NewTask": {fn: func(a *argList) []interface{} {
			a.expect(2)
			ctx, task := trace.NewTask(a.ctx(0), a.string(1))
			return results(ctx, task)
		}},
		"runtime/trace.Region.End": {fn: func(a *argList) []interface{} {
			a.expect(1)
			r, ok := a.get(0).(*trace.Region)
			if !ok {
				badArgs("runtime/trace.Region.End: the receiver must be a *trace.Region handle")
			}
			r.End()
			return noResults
		}},
		"runtime/trace.Task.End": {fn: func(a *argList) []interface{} {
			a.expect(1)
			t, ok := a.get(0).(*trace.Task)
			if !ok {
				badArgs("runtime/trace.Task.End: the receiver must be a *trace.Task handle")
			}
			t.End()
			return noResults
		}},
		"runtime/trace.Start": {errLast: true, fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(trace.Start(a.writer(0)))
		}},
		"runtime/trace.StartRegion": {fn: func(a *argList) []interface{} {
			a.expect(2)
			return results(trace.StartRegion(a.ctx(0), a.string(1)))
		}},
		"runtime/trace.WithRegion": {fn: func(a *argList) []interface{} {
			a.expect(3)
			ctx, typ, cb := a.ctx(0), a.string(1), a.callbackArg(2, false)
			trace.WithRegion(ctx, typ, func() { cb.fire() })
			return noResults
		}},
	})
}
