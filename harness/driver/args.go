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
