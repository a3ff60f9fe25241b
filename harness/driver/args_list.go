package main

import "math"

// argList holds a call's positional arguments (args[0] is a method's
// receiver). Its getters resolve references and convert, and complain
// through badArgs, which reports the step with a "bad arguments: " reason
// (an error of the case, not a skip).
type argList struct {
	r    *runner
	what string
	vals []interface{}
}

func (a *argList) n() int { return len(a.vals) }

func (a *argList) expect(n int) {
	if len(a.vals) != n {
		badArgs("%s takes %d arguments, got %d", a.what, n, len(a.vals))
	}
}

func (a *argList) atLeast(n int) {
	if len(a.vals) < n {
		badArgs("%s takes at least %d arguments, got %d", a.what, n, len(a.vals))
	}
}

func (a *argList) between(min, max int) {
	if len(a.vals) < min || len(a.vals) > max {
		badArgs("%s takes %d to %d arguments, got %d", a.what, min, max, len(a.vals))
	}
}

func (a *argList) get(i int) interface{} {
	if i >= len(a.vals) {
		badArgs("%s: argument %d is missing", a.what, i)
	}
	return a.r.resolve(a.vals[i])
}

func (a *argList) isNull(i int) bool { return i >= len(a.vals) || a.get(i) == nil }

func (a *argList) int64(i int) int64 {
	n, ok := toInt64(a.get(i))
	if !ok {
		badArgs("%s: argument %d must be an integer, got %v", a.what, i, a.vals[i])
	}
	return n
}

func (a *argList) int(i int) int {
	n := a.int64(i)
	if n < math.MinInt || n > math.MaxInt {
		badArgs("%s: argument %d overflows int", a.what, i)
	}
	return int(n)
}

func (a *argList) int32(i int) int32 {
	n := a.int64(i)
	if n < math.MinInt32 || n > math.MaxInt32 {
		badArgs("%s: argument %d overflows int32", a.what, i)
	}
	return int32(n)
}

func (a *argList) uint64(i int) uint64 {
	n, ok := toUint64(a.get(i))
	if !ok {
		badArgs("%s: argument %d must be a non-negative integer, got %v", a.what, i, a.vals[i])
	}
	return n
}

func (a *argList) uintptr(i int) uintptr {
	n := a.uint64(i)
	if uint64(uintptr(n)) != n {
		badArgs("%s: argument %d overflows uintptr", a.what, i)
	}
	return uintptr(n)
}

func (a *argList) float64(i int) float64 {
	f, ok := toFloat64(a.get(i))
	if !ok {
		badArgs("%s: argument %d must be a number, got %v", a.what, i, a.vals[i])
	}
	return f
}

func (a *argList) bool(i int) bool {
	b, ok := a.get(i).(bool)
	if !ok {
		badArgs("%s: argument %d must be a boolean, got %v", a.what, i, a.vals[i])
	}
	return b
}

func (a *argList) string(i int) string {
	s, ok := a.get(i).(string)
	if !ok {
		badArgs("%s: argument %d must be a string, got %v", a.what, i, a.vals[i])
	}
	return s
}

// strings collects the remaining arguments from i on (variadic ...string).
func (a *argList) strings(from int) []string {
	var out []string
	for i := from; i < len(a.vals); i++ {
		out = append(out, a.string(i))
	}
	return out
}

// any converts argument i for an `any` (interface{}) parameter.
func (a *argList) any(i int) interface{} {
	if i >= len(a.vals) {
		badArgs("%s: argument %d is missing", a.what, i)
	}
	return a.r.toGo(a.vals[i])
}
