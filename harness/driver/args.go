package main

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Arguments arrive as JSON (numbers as json.Number). Conventions shared by
// every call and op:
//
//   - "$name" is the value bound by an earlier step's `bind` (or the object
//     an alloc op keeps under name); "$name.Field", "$name[2]" and
//     "$name[/gc/gogc:percent]" select part of it; "$$x" is the literal "$x".
//   - {"handle": "h3"} is the value behind a handle the driver reported.
//   - {"float": "+Inf"|"-Inf"|"NaN"} is that float.
//   - {"global": true} is a pointer to a package-level variable (for the
//     SetFinalizer, AddCleanup and Pinner clauses about globals).
//   - {"stringer": "tag"} is a fmt.Stringer whose String method records tag
//     in the `ran` list and returns it (trace.Logf's lazy formatting).
//   - null is the parameter type's nil or zero value.

// resolve replaces references in a JSON argument by the values they name.
func (r *runner) resolve(v interface{}) interface{} {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, "$$") {
			return x[1:]
		}
		if strings.HasPrefix(x, "$") {
			return r.lookupRef(x)
		}
	case map[string]interface{}:
		if len(x) != 1 {
			return x
		}
		if id, ok := x["handle"].(string); ok {
			if h, ok := r.enc.handles.lookup(id); ok {
				return h
			}
			badArgs("unknown handle %q", id)
		}
		if s, ok := x["float"].(string); ok {
			return parseSpecialFloat(s)
		}
		if g, ok := x["global"].(bool); ok && g {
			return globalObject()
		}
		if tag, ok := x["stringer"].(string); ok {
			return taggedStringer(tag)
		}
	}
	return v
}

func parseSpecialFloat(s string) float64 {
	switch s {
	case "+Inf", "Inf":
		return math.Inf(1)
	case "-Inf":
		return math.Inf(-1)
	case "NaN":
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		badArgs("bad float %q", s)
	}
	return f
}

// lookupRef resolves "$name" with an optional path.
func (r *runner) lookupRef(ref string) interface{} {
	body := ref[1:]
	end := strings.IndexAny(body, ".[")
	if end < 0 {
		end = len(body)
	}
	name, path := body[:end], body[end:]
	v, ok := r.bindings[name]
	if !ok {
		if v, ok = r.objects.get(name); !ok {
			badArgs("%s is not bound by an earlier step", ref)
		}
	}
	for _, seg := range splitPath(path) {
		next, ok := walkValue(v, seg)
		if !ok {
			badArgs("%s: no %q in %T", ref, seg, v)
		}
		v = next
	}
	return v
}

// walkValue selects one part of a Go value: a list element, a map entry or
// an exported struct field (through pointers and interfaces).
func walkValue(v interface{}, seg string) (interface{}, bool) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Ptr || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, false
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i >= rv.Len() {
			return nil, false
		}
		return rv.Index(i).Interface(), true
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, false
		}
		e := rv.MapIndex(reflect.ValueOf(seg).Convert(rv.Type().Key()))
		if !e.IsValid() {
			return nil, false
		}
		return e.Interface(), true
	case reflect.Struct:
		f, ok := rv.Type().FieldByName(seg)
		if !ok || f.PkgPath != "" {
			return nil, false
		}
		return rv.FieldByIndex(f.Index).Interface(), true
	}
	return nil, false
}

// Conversions of resolved values. Besides JSON numbers they accept Go values
// of any numeric kind, since "$prev" may name an int bound from a result.

func toInt64(v interface{}) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return int64(f), true
		}
		return 0, false
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), true
		}
		return 0, false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() <= math.MaxInt64 {
			return int64(rv.Uint()), true
		}
	}
	return 0, false
}

func toUint64(v interface{}) (uint64, bool) {
	if x, ok := v.(json.Number); ok {
		n, err := strconv.ParseUint(string(x), 10, 64)
		return n, err == nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), true
	}
	if n, ok := toInt64(v); ok && n >= 0 {
		return uint64(n), true
	}
	return 0, false
}

func toFloat64(v interface{}) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	if n, ok := toInt64(v); ok {
		return float64(n), true
	}
	if n, ok := toUint64(v); ok {
		return float64(n), true
	}
	return 0, false
}

// toGo turns a JSON value into the Go value an `any` parameter receives:
// integral numbers become int (so a pprof value or a Pin argument has type
// int, as in ordinary Go code), other numbers float64, lists []interface{}.
func (r *runner) toGo(v interface{}) interface{} {
	v = r.resolve(v)
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil && n >= math.MinInt && n <= math.MaxInt {
			return int(n)
		}
		f, _ := x.Float64()
		return f
	case []interface{}:
		out := make([]interface{}, len(x))
		for i, e := range x {
			out[i] = r.toGo(e)
		}
		return out
	case map[string]interface{}:
		out := make(map[string]interface{}, len(x))
		for k, e := range x {
			out[k] = r.toGo(e)
		}
		return out
	}
	return v
}

// argList holds a call's positional arguments (args[0] is a method's
// receiver). Its getters resolve references and convert, and complain
// through badArgs, which makes the step "unsupported" with the reason.
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

// withArgs holds an op's named arguments.
type withArgs struct {
	r    *runner
	what string
	m    map[string]interface{}
}

func (w *withArgs) has(k string) bool {
	v, ok := w.m[k]
	return ok && v != nil
}

func (w *withArgs) get(k string) interface{} {
	if !w.has(k) {
		badArgs("%s needs with.%s", w.what, k)
	}
	return w.r.resolve(w.m[k])
}

func (w *withArgs) str(k, def string) string {
	if !w.has(k) {
		return def
	}
	s, ok := w.get(k).(string)
	if !ok {
		badArgs("%s: with.%s must be a string", w.what, k)
	}
	return s
}

func (w *withArgs) needStr(k string) string {
	w.get(k)
	return w.str(k, "")
}

func (w *withArgs) int(k string, def int) int {
	if !w.has(k) {
		return def
	}
	n, ok := toInt64(w.get(k))
	if !ok || n < math.MinInt || n > math.MaxInt {
		badArgs("%s: with.%s must be an integer", w.what, k)
	}
	return int(n)
}

func (w *withArgs) float(k string, def float64) float64 {
	if !w.has(k) {
		return def
	}
	f, ok := toFloat64(w.get(k))
	if !ok {
		badArgs("%s: with.%s must be a number", w.what, k)
	}
	return f
}

func (w *withArgs) bool(k string, def bool) bool {
	if !w.has(k) {
		return def
	}
	b, ok := w.get(k).(bool)
	if !ok {
		badArgs("%s: with.%s must be a boolean", w.what, k)
	}
	return b
}

// strs reads a list of strings; absent means nil (ops treat it as "all").
func (w *withArgs) strs(k string) []string {
	if !w.has(k) {
		return nil
	}
	l, ok := w.get(k).([]interface{})
	if !ok {
		badArgs("%s: with.%s must be a list of strings", w.what, k)
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := w.r.resolve(e).(string)
		if !ok {
			badArgs("%s: with.%s must be a list of strings", w.what, k)
		}
		out = append(out, s)
	}
	return out
}
