package main

import (
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"
)

// Default amounts of work for cpu.profile and trace.capture: enough for a
// CPU profile at 100 Hz to hold several samples.
const (
	defaultProfileWorkMS = 100
	defaultTraceWorkMS   = 50
)

// opCPUProfile profiles busy work into with.file (relative to the working
// directory). A StartCPUProfile error (a profile already running) is the
// step's error.
func opCPUProfile(r *runner, w *withArgs) (interface{}, error) {
	work := w.float("work_ms", defaultProfileWorkMS)
	f, err := os.Create(w.needStr("file"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, err
	}
	busy(time.Duration(work * float64(time.Millisecond)))
	pprof.StopCPUProfile()
	return nil, f.Close()
}

// opTraceCapture records an execution trace of busy work into with.file.
func opTraceCapture(r *runner, w *withArgs) (interface{}, error) {
	work := w.float("work_ms", defaultTraceWorkMS)
	f, err := os.Create(w.needStr("file"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := trace.Start(f); err != nil {
		return nil, err
	}
	busy(time.Duration(work * float64(time.Millisecond)))
	trace.Stop()
	return nil, f.Close()
}

// opProfileWrite writes pprof.Lookup(with.profile) with with.debug
// (default 0) into with.file.
func opProfileWrite(r *runner, w *withArgs) (interface{}, error) {
	p := pprof.Lookup(w.needStr("profile"))
	debugLevel := w.int("debug", 0)
	file := w.needStr("file")
	if p == nil {
		return nil, errNoSuchProfile
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := p.WriteTo(f, debugLevel); err != nil {
		return nil, err
	}
	return nil, f.Close()
}
