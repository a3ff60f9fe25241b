package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
)

// Typed argument readers shared by the dispatch files.

// ctx reads a context.Context argument: null is context.Background(), a
// handle or "$name" the context it names.
func (a *argList) ctx(i int) context.Context {
	switch x := a.get(i).(type) {
	case nil:
		return context.Background()
	case context.Context:
		return x
	}
	badArgs("%s: argument %d must be a context handle or null", a.what, i)
	return nil
}

// length reads the length of a buffer the caller passes (a []uintptr for
// Callers, a []StackRecord for GoroutineProfile, ...): an integer, or null
// for a nil slice (reported as -1).
func (a *argList) length(i int) int {
	if a.isNull(i) {
		return -1
	}
	n := a.int(i)
	if n < 0 {
		badArgs("%s: argument %d is a length and must not be negative", a.what, i)
	}
	return n
}

// uintptrs reads a []uintptr: a Go slice bound earlier ("$c[1]" from
// Callers), a JSON list of integers, or null.
func (a *argList) uintptrs(i int) []uintptr {
	switch x := a.get(i).(type) {
	case nil:
		return nil
	case []uintptr:
		return x
	case []interface{}:
		out := make([]uintptr, len(x))
		for j, e := range x {
			n, ok := toUint64(a.r.resolve(e))
			if !ok || uint64(uintptr(n)) != n {
				badArgs("%s: argument %d must be a list of program counters", a.what, i)
			}
			out[j] = uintptr(n)
		}
		return out
	}
	badArgs("%s: argument %d must be a list of program counters", a.what, i)
	return nil
}

// structArg fills *dst (a struct) from argument i: a Go value of that type
// or a pointer to one (a record bound from an earlier result), a JSON object
// keyed by field names (a record written in the case), or null (the zero
// value).
func (a *argList) structArg(i int, dst interface{}) {
	dv := reflect.ValueOf(dst).Elem()
	v := a.get(i)
	if v == nil {
		return
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.Type() == dv.Type():
		dv.Set(rv)
		return
	case rv.Kind() == reflect.Ptr && rv.Type().Elem() == dv.Type():
		if !rv.IsNil() {
			dv.Set(rv.Elem())
		}
		return
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		badArgs("%s: argument %d must be a %s or an object of its fields, got %T", a.what, i, dv.Type(), v)
	}
	raw, err := json.Marshal(m)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err = dec.Decode(dst)
	}
	if err != nil {
		badArgs("%s: argument %d: %v", a.what, i, err)
	}
}

// callbackArg reads a func-typed argument (see callback).
func (a *argList) callbackArg(i int, async bool) *callback {
	if i >= len(a.vals) {
		badArgs("%s: argument %d is missing", a.what, i)
	}
	return a.r.callback(a.vals[i], async)
}
