package main

import "runtime/metrics"

// Hand-written dispatch for runtime/metrics.
//
// metrics.Read's argument is the list of sample names (null: a nil slice,
// [] an empty one, both of which panic before Go 1.27); its value is the
// protocol's object from name to value. The metrics.Value receivers are a
// Value bound from such a read ("$m[/gc/gogc:percent]"), a metric name
// (read afresh; an unknown name gives a KindBad value), or null (the zero
// Value).
func init() {
	registerCalls(map[string]callImpl{
		"runtime/metrics.All": {fn: func(a *argList) []interface{} {
			a.expect(0)
			return results(metrics.All())
		}},
		"runtime/metrics.Read": {fn: func(a *argList) []interface{} {
			a.expect(1)
			var samples []metrics.Sample
			if !a.isNull(0) {
				names, ok := a.get(0).([]interface{})
				if !ok {
					badArgs("runtime/metrics.Read: the argument must be a list of metric names or null")
				}
				samples = make([]metrics.Sample, len(names))
				for i, n := range names {
					s, ok := a.r.resolve(n).(string)
					if !ok {
						badArgs("runtime/metrics.Read: metric names must be strings")
					}
					samples[i].Name = s
				}
			}
			metrics.Read(samples)
			out := make(map[string]metrics.Value, len(samples))
			for _, s := range samples {
				out[s.Name] = s.Value
			}
			return results(out)
		}},
		"runtime/metrics.Value.Float64": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.metricValue(0).Float64())
		}},
		"runtime/metrics.Value.Float64Histogram": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.metricValue(0).Float64Histogram())
		}},
		"runtime/metrics.Value.Kind": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.metricValue(0).Kind())
		}},
		"runtime/metrics.Value.Uint64": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.metricValue(0).Uint64())
		}},
	})
}

func (a *argList) metricValue(i int) metrics.Value {
	switch v := a.get(i).(type) {
	case nil:
		return metrics.Value{}
	case metrics.Value:
		return v
	case string:
		return readMetrics([]string{v})[v]
	}
	badArgs("%s: the receiver must be a metrics.Value, a metric name or null", a.what)
	return metrics.Value{}
}
