package main

import (
	"reflect"
	"runtime"
	"runtime/metrics"
)

// readMetrics reads the named metrics (all of metrics.All() for none).
// The result maps each name to its metrics.Value, which the encoder turns
// into the protocol's value and which later steps can pass, as
// "$m[/gc/gogc:percent]", to the metrics.Value methods.
func readMetrics(names []string) map[string]metrics.Value {
	if names == nil {
		for _, d := range metrics.All() {
			names = append(names, d.Name)
		}
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	if len(samples) > 0 {
		metrics.Read(samples)
	}
	out := make(map[string]metrics.Value, len(samples))
	for _, s := range samples {
		out[s.Name] = s.Value
	}
	return out
}

func opMetricsRead(r *runner, w *withArgs) (interface{}, error) {
	return readMetrics(w.strs("names")), nil
}

// metricKindNames spell metrics.ValueKind as the spec's value_kind does.
var metricKindNames = map[metrics.ValueKind]string{
	metrics.KindBad:              "bad",
	metrics.KindUint64:           "uint64",
	metrics.KindFloat64:          "float64",
	metrics.KindFloat64Histogram: "float64-histogram",
}

func opMetricsAll(r *runner, w *withArgs) (interface{}, error) {
	var out []interface{}
	for _, d := range metrics.All() {
		out = append(out, map[string]interface{}{
			"name":        d.Name,
			"kind":        metricKindNames[d.Kind],
			"cumulative":  d.Cumulative,
			"description": d.Description,
		})
	}
	return out, nil
}

// opMemStats reads runtime.MemStats and returns the requested fields (all
// exported fields by default) by name.
func opMemStats(r *runner, w *withArgs) (interface{}, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rv := reflect.ValueOf(ms)
	fields := w.strs("fields")
	if fields == nil {
		for i := 0; i < rv.NumField(); i++ {
			if f := rv.Type().Field(i); f.PkgPath == "" {
				fields = append(fields, f.Name)
			}
		}
	}
	out := make(map[string]interface{}, len(fields))
	for _, name := range fields {
		f, ok := rv.Type().FieldByName(name)
		if !ok || f.PkgPath != "" {
			badArgs("op memstats: runtime.MemStats has no field %q", name)
		}
		out[name] = rv.FieldByIndex(f.Index).Interface()
	}
	return out, nil
}
