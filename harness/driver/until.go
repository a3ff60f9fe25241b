package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Sleeps between tries of an until step: short at first, so that quick
// conditions (a finalizer after one GC) are seen at once, and capped, so
// that a slow one is still polled often.
const (
	untilFirstSleep = time.Millisecond
	untilMaxSleep   = 50 * time.Millisecond
)

// runUntil repeats a step until its (encoded) value satisfies the until
// condition or within_s passes, and returns the last outcome, its encoding
// and the number of tries.
func (r *runner) runUntil(st *step) (outcome, interface{}, int) {
	u := st.Until
	cond, err := untilCondition(u)
	if err != nil {
		return outcome{status: statusUnsupported, reason: "bad arguments: " + err.Error()}, nil, 1
	}
	within, err := u.WithinS.Float64()
	if err != nil || within <= 0 {
		return outcome{status: statusUnsupported, reason: "bad arguments: until.within_s must be a positive number"}, nil, 1
	}
	deadline := time.Now().Add(time.Duration(within * float64(time.Second)))
	sleep := untilFirstSleep
	for tries := 1; ; tries++ {
		out := r.attempt(st)
		enc := r.encodeOutcome(&out)
		if out.status == statusUnsupported || cond == nil {
			return out, enc, tries
		}
		if out.status == statusOK {
			if v, ok := lookupPath(enc, u.Path); ok && cond(v) {
				return out, enc, tries
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return out, enc, tries
		}
		if u.GC {
			runtime.GC()
		}
		if sleep > left {
			sleep = left
		}
		time.Sleep(sleep)
		if sleep *= 2; sleep > untilMaxSleep {
			sleep = untilMaxSleep
		}
	}
}

// untilCondition builds the predicate of an until clause (all given targets
// must hold). A clause with no target reports nil: the step runs once.
func untilCondition(u *untilSpec) (func(v interface{}) bool, error) {
	var conds []func(interface{}) bool
	targets := []struct {
		raw  json.RawMessage
		test func(v, want interface{}) bool
	}{
		{u.Equals, jsonEqual},
		{u.Contain, jsonContains},
		{u.AtLeast, jsonAtLeast},
	}
	for _, t := range targets {
		if t.raw == nil {
			continue
		}
		want, err := decodeJSON(t.raw)
		if err != nil {
			return nil, fmt.Errorf("until target: %v", err)
		}
		test := t.test
		conds = append(conds, func(v interface{}) bool { return test(v, want) })
	}
	if len(conds) == 0 {
		return nil, nil
	}
	return func(v interface{}) bool {
		for _, c := range conds {
			if !c(v) {
				return false
			}
		}
		return true
	}, nil
}

// lookupPath finds the part of an encoded value that an until clause
// looks at: the whole value for "", a top-level key (metric names such as
// "/gc/gogc:percent" contain no dots but may be keys as a whole), else a
// dotted path of object keys and list indices ("Main.Path", "0", "[1].PC").
func lookupPath(v interface{}, path string) (interface{}, bool) {
	if path == "" {
		return v, true
	}
	if m, ok := v.(map[string]interface{}); ok {
		if x, ok := m[path]; ok {
			return x, true
		}
	}
	for _, seg := range splitPath(path) {
		switch c := v.(type) {
		case map[string]interface{}:
			x, ok := c[seg]
			if !ok {
				return nil, false
			}
			v = x
		case []interface{}:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// splitPath splits "a.b[2].c" or "[k]" into its segments.
func splitPath(path string) []string {
	var segs []string
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(segs, path[1:])
			}
			segs = append(segs, path[1:end])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, path[:end])
			path = path[end:]
		}
	}
	return segs
}

// jsonNumber reads a JSON number of an encoded value or a target exactly.
func jsonNumber(v interface{}) (*big.Float, bool) {
	switch x := v.(type) {
	case json.Number:
		f, ok := new(big.Float).SetPrec(256).SetString(string(x))
		return f, ok
	case float64:
		return new(big.Float).SetPrec(256).SetFloat64(x), true
	}
	return nil, false
}

// jsonEqual compares JSON values, numbers by value (so 80 equals 80.0 and
// uint64 values compare exactly).
func jsonEqual(a, b interface{}) bool {
	if x, ok := jsonNumber(a); ok {
		y, ok := jsonNumber(b)
		return ok && x.Cmp(y) == 0
	}
	switch x := a.(type) {
	case []interface{}:
		y, ok := b.([]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]interface{}:
		y, ok := b.(map[string]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// jsonContains: a substring of a string; a key of an object (for a string
// target) or a sub-object (for an object target); for a list, an element
// that equals the target or, for an object target, contains it ("the
// metrics.all entry with this name and kind").
func jsonContains(v, want interface{}) bool {
	switch x := v.(type) {
	case string:
		s, ok := want.(string)
		return ok && strings.Contains(x, s)
	case []interface{}:
		_, wantObj := want.(map[string]interface{})
		for _, e := range x {
			if jsonEqual(e, want) {
				return true
			}
			if _, isObj := e.(map[string]interface{}); isObj && wantObj && jsonContains(e, want) {
				return true
			}
		}
	case map[string]interface{}:
		switch w := want.(type) {
		case string:
			_, ok := x[w]
			return ok
		case map[string]interface{}:
			for k, wv := range w {
				xv, ok := x[k]
				if !ok || !jsonEqual(xv, wv) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// jsonAtLeast compares numbers; for a list, string or object it compares
// the length ("at least 2 tags ran").
func jsonAtLeast(v, want interface{}) bool {
	w, ok := jsonNumber(want)
	if !ok {
		return false
	}
	var n *big.Float
	switch x := v.(type) {
	case []interface{}:
		n = big.NewFloat(float64(len(x)))
	case string:
		n = big.NewFloat(float64(len(x)))
	case map[string]interface{}:
		n = big.NewFloat(float64(len(x)))
	default:
		if n, ok = jsonNumber(v); !ok {
			return false
		}
	}
	return n.Cmp(w) >= 0
}
