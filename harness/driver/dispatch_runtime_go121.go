//go:build go1.21

package main

import "runtime"

// Hand-written dispatch for runtime API added in Go 1.21.
func init() {
	registerCalls(map[string]callImpl{
		"runtime.PanicNilError.Error": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.panicNilError(0).Error())
		}},
		"runtime.PanicNilError.RuntimeError": {fn: func(a *argList) []interface{} {
			a.expect(1)
			a.panicNilError(0).RuntimeError()
			return noResults
		}},
		"runtime.Pinner.Pin": {fn: func(a *argList) []interface{} {
			a.expect(2)
			p := a.pinner(0)
			p.Pin(a.any(1))
			return noResults
		}},
		"runtime.Pinner.Unpin": {fn: func(a *argList) []interface{} {
			a.expect(1)
			a.pinner(0).Unpin()
			return noResults
		}},
	})
}

// panicNilError reads a *runtime.PanicNilError receiver: the value bound
// from a recovered panic(nil), or null for a zero PanicNilError (its
// methods do not look at it).
func (a *argList) panicNilError(i int) *runtime.PanicNilError {
	switch e := a.get(i).(type) {
	case nil:
		return new(runtime.PanicNilError)
	case *runtime.PanicNilError:
		return e
	}
	badArgs("%s: the receiver must be a *runtime.PanicNilError or null", a.what)
	return nil
}

// pinner reads a *runtime.Pinner receiver. A bare name ("p1") is a Pinner
// the driver keeps under that name, like an alloc'd object: created on
// first use, and made unreachable by the drop op (for the leak clause).
// null is a fresh zero Pinner used once.
func (a *argList) pinner(i int) *runtime.Pinner {
	switch v := a.get(i).(type) {
	case nil:
		return new(runtime.Pinner)
	case *runtime.Pinner:
		return v
	case string:
		obj, ok := a.r.objects.get(v)
		if !ok {
			p := new(runtime.Pinner)
			a.r.objects.put(v, p)
			return p
		}
		if p, ok := obj.(*runtime.Pinner); ok {
			return p
		}
		badArgs("%s: object %q is not a Pinner", a.what, v)
	}
	badArgs("%s: the receiver must be a Pinner name, a *runtime.Pinner or null", a.what)
	return nil
}

// typeName names the dynamic type godebug.panicnil recovered: only
// *runtime.PanicNilError (Go 1.21) is told apart (typename_old.go before it).
func typeName(v interface{}) string {
	switch v.(type) {
	case *runtime.PanicNilError:
		return "*runtime.PanicNilError"
	}
	return "other"
}
