package main

import "runtime/trace"

// Small helpers for the runtime/trace cases:
//
//	trace.region.end-elsewhere {region}         Region.End on a new goroutine
//	    (StartRegion's doc asks for the same goroutine; nothing checks it)
//	trace.busy {ms}                             the busy op (the oracle
//	    counts this work towards trace generations)
func init() {
	registerOp("trace.region.end-elsewhere", opTraceRegionEndElsewhere)
	registerOp("trace.busy", opBusy)
}

func opTraceRegionEndElsewhere(r *runner, w *withArgs) (interface{}, error) {
	reg, ok := w.get("region").(*trace.Region)
	if !ok {
		badArgs("op trace.region.end-elsewhere: with.region must be a *trace.Region handle")
	}
	done := make(chan interface{})
	go func() {
		defer func() { done <- recover() }()
		reg.End()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
	return nil, nil
}
