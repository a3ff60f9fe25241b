package main

import (
	"context"
	"os"
	"runtime/trace"
	"strings"
)

// Small helpers for the runtime/trace cases:
//
//	trace.log.fill {category, message, bytes}  one trace.Log (background
//	    context) whose message is `message` padded with dots to `bytes`
//	trace.region.end-elsewhere {region}         Region.End on a new goroutine
//	    (StartRegion's doc asks for the same goroutine; nothing checks it)
//	trace.busy {ms}                             the busy op (the oracle
//	    counts this work towards trace generations)
//	trace.setenv {name, value}                  os.Setenv (GODEBUG settings
//	    the runtime re-reads, such as traceallocfree)
func init() {
	registerOp("trace.log.fill", opTraceLogFill)
	registerOp("trace.region.end-elsewhere", opTraceRegionEndElsewhere)
	registerOp("trace.setenv", opTraceSetenv)
	registerOp("trace.busy", opBusy)
}

func opTraceLogFill(r *runner, w *withArgs) (interface{}, error) {
	msg := w.str("message", "")
	if n := w.int("bytes", 0); n > len(msg) {
		msg += strings.Repeat(".", n-len(msg))
	}
	trace.Log(context.Background(), w.str("category", "rthooks-fill"), msg)
	return nil, nil
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

func opTraceSetenv(r *runner, w *withArgs) (interface{}, error) {
	return nil, os.Setenv(w.needStr("name"), w.str("value", ""))
}
