//go:build gc

package main

import (
	"errors"
	"runtime"
	"time"
	"unsafe" // go:linkname
)

// readCPUProfile is the runtime's CPU profile buffer reader that
// runtime/pprof uses (runtime_pprof_readProfile, pushed by the runtime to
// runtime/pprof.readProfile): records of [length, time, header or stack...];
// the first record's header is the sampling rate in Hz.
//
//go:linkname readCPUProfile runtime/pprof.readProfile
func readCPUProfile() (data []uint64, tags []unsafe.Pointer, eof bool)

// pprof.cpurate.read {hz, off}: runtime.SetCPUProfileRate(hz), read the
// rate the profiler's first record carries, then SetCPUProfileRate(off)
// (default 0) and read on until the buffer reports its end:
// {"hz": the recorded rate, "ended": the reader saw the end of the profile
// within 5s of the second call}.
func init() {
	registerOp("pprof.cpurate.read", opCPURateRead)
}

func opCPURateRead(r *runner, w *withArgs) (interface{}, error) {
	hz, off := w.int("hz", 100), w.int("off", 0)
	if hz <= 0 {
		badArgs("op pprof.cpurate.read: with.hz must be positive")
	}
	runtime.SetCPUProfileRate(hz)
	data, _, _ := readCPUProfile()
	if len(data) < 3 {
		return nil, errors.New("op pprof.cpurate.read: no header record")
	}
	rate := data[2]
	runtime.SetCPUProfileRate(off)
	ended := make(chan bool, 1)
	go func() {
		for {
			_, _, eof := readCPUProfile()
			if eof {
				ended <- true
				return
			}
		}
	}()
	out := map[string]interface{}{"hz": rate, "ended": false}
	select {
	case <-ended:
		out["ended"] = true
	case <-time.After(5 * time.Second):
	}
	return out, nil
}
