//go:build go1.25

package main

import "runtime/trace"

// Hand-written dispatch for the flight recorder (Go 1.25). The config is
// null or an object {"MinAge": nanoseconds, "MaxBytes": n}.
func init() {
	registerCalls(map[string]callImpl{
		"runtime/trace.NewFlightRecorder": {fn: func(a *argList) []interface{} {
			a.expect(1)
			var cfg trace.FlightRecorderConfig
			a.structArg(0, &cfg)
			return results(trace.NewFlightRecorder(cfg))
		}},
		"runtime/trace.FlightRecorder.Enabled": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.flightRecorder(0).Enabled())
		}},
		"runtime/trace.FlightRecorder.Start": {errLast: true, fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(a.flightRecorder(0).Start())
		}},
		"runtime/trace.FlightRecorder.Stop": {fn: func(a *argList) []interface{} {
			a.expect(1)
			a.flightRecorder(0).Stop()
			return noResults
		}},
		"runtime/trace.FlightRecorder.WriteTo": {errLast: true, fn: func(a *argList) []interface{} {
			a.expect(2)
			n, err := a.flightRecorder(0).WriteTo(a.writer(1))
			return results(n, err)
		}},
	})
}

func (a *argList) flightRecorder(i int) *trace.FlightRecorder {
	fr, ok := a.get(i).(*trace.FlightRecorder)
	if !ok {
		badArgs("%s: the receiver must be a *trace.FlightRecorder handle", a.what)
	}
	return fr
}
