package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"runtime/metrics"
	"strconv"
	"syscall"
	"time"
)

// encoder turns Go values into JSON-ready trees (PROTOCOL.md, "Values"):
//
//   - integers of every size are exact JSON numbers (json.Number), uint64
//     included; floats that JSON cannot spell are {"float": "+Inf"|"-Inf"|"NaN"};
//   - []byte is a string; time.Time an RFC 3339 string with nanoseconds;
//     time.Duration integer nanoseconds; an error its Error() text; a signal
//     its SIG name;
//   - a metrics.Value is its uint64, float64 or histogram, or {"kind": "bad"};
//     a *metrics.Float64Histogram is {"counts": [...], "buckets": [...]};
//   - structs with exported fields (MemStats, GCStats, BuildInfo, Frame, ...)
//     are objects keyed by field name, embedded structs flattened as
//     encoding/json does;
//   - everything that is not data (channels, funcs, contexts, and pointers
//     to or values of structs without exported fields, such as *pprof.Profile
//     or runtime.Cleanup) is a handle {"handle": "hN", "type": "%T"}.
type encoder struct {
	handles *handleTable
}

func newEncoder() *encoder {
	return &encoder{handles: newHandleTable()}
}

// encodeSafely encodes a step's value; a value the encoder cannot handle
// (a method of it panicking, say) makes the step "unsupported" instead of
// crashing the driver outside any step's recover.
func (e *encoder) encodeSafely(v interface{}) (enc interface{}, err error) {
	defer func() {
		if p := recover(); p != nil {
			enc, err = nil, fmt.Errorf("go-driver cannot encode a %T: %v", v, p)
		}
	}()
	return e.encode(v), nil
}

func (e *encoder) encode(v interface{}) interface{} {
	switch x := v.(type) {
	case nil:
		return nil
	case json.Number, bool, string:
		return x
	case []byte:
		if x == nil {
			return nil
		}
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case syscall.Signal:
		return signalName(x)
	case metrics.Value:
		return e.metricValue(x)
	case *metrics.Float64Histogram:
		if x == nil {
			return nil
		}
		return e.histogram(x)
	case handleRef:
		return e.handles.ref(x.v)
	case context.Context:
		return e.handles.ref(x)
	case error:
		if isNilPointer(x) {
			return nil
		}
		return x.Error()
	}
	return e.reflectValue(reflect.ValueOf(v))
}

// handleRef forces a value to be reported as a handle even though it looks
// like data (used for values whose identity matters more than their fields).
type handleRef struct{ v interface{} }

func (e *encoder) reflectValue(rv reflect.Value) interface{} {
	switch rv.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return json.Number(strconv.FormatUint(rv.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		return encodeFloat(rv.Float())
	case reflect.String:
		return rv.String()
	case reflect.Slice:
		if rv.IsNil() {
			return nil
		}
		return e.list(rv)
	case reflect.Array:
		return e.list(rv)
	case reflect.Map:
		if rv.IsNil() {
			return nil
		}
		out := make(map[string]interface{}, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = e.encode(iter.Value().Interface())
		}
		return out
	case reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return e.encode(rv.Elem().Interface())
	case reflect.Ptr:
		if rv.IsNil() {
			return nil
		}
		if rv.Elem().Kind() == reflect.Struct && !hasExportedFields(rv.Elem().Type()) {
			return e.handles.ref(rv.Interface())
		}
		return e.encode(rv.Elem().Interface())
	case reflect.Struct:
		if !hasExportedFields(rv.Type()) {
			return e.handles.ref(rv.Interface())
		}
		out := map[string]interface{}{}
		e.structFields(rv, out)
		return out
	}
	// Chan, Func, UnsafePointer, Complex: not data.
	if rv.CanInterface() {
		return e.handles.ref(rv.Interface())
	}
	return nil
}

func (e *encoder) list(rv reflect.Value) []interface{} {
	out := make([]interface{}, rv.Len())
	for i := range out {
		out[i] = e.encode(rv.Index(i).Interface())
	}
	return out
}

// structFields adds the exported fields of a struct to out, flattening
// embedded structs the way encoding/json does (BlockProfileRecord's embedded
// StackRecord contributes Stack0).
func (e *encoder) structFields(rv reflect.Value, out map[string]interface{}) {
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			e.structFields(rv.Field(i), out)
			continue
		}
		if f.PkgPath != "" || !rv.Field(i).CanInterface() {
			continue // unexported
		}
		out[f.Name] = e.encode(rv.Field(i).Interface())
	}
}

func hasExportedFields(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath == "" {
			return true
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct && hasExportedFields(f.Type) {
			return true
		}
	}
	return false
}

// encodeFloat spells the floats JSON has no literal for as objects.
func encodeFloat(f float64) interface{} {
	switch {
	case math.IsNaN(f):
		return map[string]interface{}{"float": "NaN"}
	case math.IsInf(f, 1):
		return map[string]interface{}{"float": "+Inf"}
	case math.IsInf(f, -1):
		return map[string]interface{}{"float": "-Inf"}
	}
	return f
}

func (e *encoder) metricValue(v metrics.Value) interface{} {
	switch v.Kind() {
	case metrics.KindUint64:
		return json.Number(strconv.FormatUint(v.Uint64(), 10))
	case metrics.KindFloat64:
		return encodeFloat(v.Float64())
	case metrics.KindFloat64Histogram:
		return e.histogram(v.Float64Histogram())
	}
	return map[string]interface{}{"kind": "bad"}
}

func (e *encoder) histogram(h *metrics.Float64Histogram) interface{} {
	counts := make([]interface{}, len(h.Counts))
	for i, c := range h.Counts {
		counts[i] = json.Number(strconv.FormatUint(c, 10))
	}
	buckets := make([]interface{}, len(h.Buckets))
	for i, b := range h.Buckets {
		buckets[i] = encodeFloat(b)
	}
	return map[string]interface{}{"counts": counts, "buckets": buckets}
}

// isNilPointer reports whether v is an interface holding a nil pointer,
// whose methods (Error) may not be callable.
func isNilPointer(v interface{}) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Ptr && rv.IsNil()
}
