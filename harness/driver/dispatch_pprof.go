package main

import (
	"context"
	"runtime/pprof"
	"sort"
)

// Hand-written dispatch for runtime/pprof. Profiles, label sets and
// contexts are handles; writers are as writers.go reads them (a file
// name, {"fail": text}, {"discard": true} or null); functions are
// callbacks (callbacks.go).
func init() {
	registerCalls(map[string]callImpl{
		"runtime/pprof.Do": {fn: func(a *argList) []interface{} {
			a.expect(3)
			ctx, labels, cb := a.ctx(0), a.labelSet(1), a.callbackArg(2, false)
			pprof.Do(ctx, labels, func(c context.Context) { cb.fire(c) })
			return noResults
		}},
		"runtime/pprof.ForLabels": {fn: func(a *argList) []interface{} {
			a.expect(2)
			ctx, cb := a.ctx(0), a.callbackArg(1, false)
			pprof.ForLabels(ctx, func(k, v string) bool { return cb.fire(k, v) })
			return noResults
		}},
		"runtime/pprof.Label": {fn: func(a *argList) []interface{} {
			a.expect(2)
			v, ok := pprof.Label(a.ctx(0), a.string(1))
			return results(v, ok)
		}},
		"runtime/pprof.Labels": {fn: func(a *argList) []interface{} {
			return results(pprof.Labels(a.strings(0)...))
		}},
		"runtime/pprof.Lookup": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(pprof.Lookup(a.string(0)))
		}},
		"runtime/pprof.NewProfile": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(pprof.NewProfile(a.string(0)))
		}},
		"runtime/pprof.Profiles": {fn: func(a *argList) []interface{} {
			a.expect(0)
			return results(pprof.Profiles())
		}},
		"runtime/pprof.Profile.Add": {fn: func(a *argList) []interface{} {
			// The value: an object ("$x"), or any JSON value (a list is
			// unhashable, for the panic clause).
			a.expect(3)
			a.profile(0).Add(a.any(1), a.int(2))
			return noResults
		}},
		"runtime/pprof.Profile.Count": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.profile(0).Count())
		}},
		"runtime/pprof.Profile.Name": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.profile(0).Name())
		}},
		"runtime/pprof.Profile.Remove": {fn: func(a *argList) []interface{} {
			a.expect(2)
			a.profile(0).Remove(a.any(1))
			return noResults
		}},
		"runtime/pprof.Profile.WriteTo": {errLast: true, fn: func(a *argList) []interface{} {
			a.expect(3)
			p, w, debugLevel := a.profile(0), a.writer(1), a.int(2)
			return results(p.WriteTo(w, debugLevel))
		}},
		"runtime/pprof.SetGoroutineLabels": {fn: func(a *argList) []interface{} {
			a.expect(1)
			pprof.SetGoroutineLabels(a.ctx(0))
			return noResults
		}},
		"runtime/pprof.StartCPUProfile": {errLast: true, fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(pprof.StartCPUProfile(a.writer(0)))
		}},
		"runtime/pprof.WithLabels": {fn: func(a *argList) []interface{} {
			a.expect(2)
			return results(pprof.WithLabels(a.ctx(0), a.labelSet(1)))
		}},
		"runtime/pprof.WriteHeapProfile": {errLast: true, fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(pprof.WriteHeapProfile(a.writer(0)))
		}},
	})
}

// profile reads a *pprof.Profile receiver: a handle, or null for a nil
// *Profile.
func (a *argList) profile(i int) *pprof.Profile {
	switch p := a.get(i).(type) {
	case nil:
		return nil
	case *pprof.Profile:
		return p
	}
	badArgs("%s: the receiver must be a *pprof.Profile handle or null", a.what)
	return nil
}

// labelSet reads a pprof.LabelSet: a handle from Labels, a list of
// alternating keys and values (passed to pprof.Labels as is), an object of
// keys to values, or null for the zero value LabelSet{} (not Labels(): its
// list is nil, not empty; LabelSet#zero-value-empty).
func (a *argList) labelSet(i int) pprof.LabelSet {
	switch v := a.get(i).(type) {
	case pprof.LabelSet:
		return v
	case nil:
		return pprof.LabelSet{}
	case []interface{}:
		kv := make([]string, len(v))
		for j, e := range v {
			s, ok := a.r.resolve(e).(string)
			if !ok {
				badArgs("%s: label keys and values must be strings", a.what)
			}
			kv[j] = s
		}
		return pprof.Labels(kv...)
	case map[string]interface{}:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			s, ok := a.r.resolve(v[k]).(string)
			if !ok {
				badArgs("%s: label values must be strings", a.what)
			}
			kv = append(kv, k, s)
		}
		return pprof.Labels(kv...)
	}
	badArgs("%s: argument %d must be a LabelSet handle, a list of keys and values, an object or null", a.what, i)
	return pprof.LabelSet{}
}
