package main

import (
	"os"
	"runtime/debug"
	"time"
)

// Hand-written dispatch for runtime/debug (Go 1.18 API; SetCrashOutput is
// in dispatch_debug_go123.go).
func init() {
	registerCalls(map[string]callImpl{
		"runtime/debug.BuildInfo.String": {fn: func(a *argList) []interface{} {
			// The receiver: a *BuildInfo bound from ReadBuildInfo or
			// ParseBuildInfo ("$bi[0]"), or an object of BuildInfo fields.
			a.expect(1)
			var bi debug.BuildInfo
			a.structArg(0, &bi)
			return results(bi.String())
		}},
		"runtime/debug.ParseBuildInfo": {errLast: true, fn: func(a *argList) []interface{} {
			a.expect(1)
			bi, err := debug.ParseBuildInfo(a.string(0))
			return results(bi, err)
		}},
		"runtime/debug.ReadBuildInfo": {fn: func(a *argList) []interface{} {
			a.expect(0)
			bi, ok := debug.ReadBuildInfo()
			return results(bi, ok)
		}},
		"runtime/debug.ReadGCStats": {fn: func(a *argList) []interface{} {
			// The argument (optional) shapes the *GCStats passed in:
			// {"PauseQuantiles": q} asks for q quantiles (a list of
			// nanosecond values: that many, pre-filled with them, so a case
			// sees whether ReadGCStats overwrites them), {"Pause": n}
			// preallocates n pause entries. The value is the filled GCStats.
			a.between(0, 1)
			var stats debug.GCStats
			if a.n() == 1 {
				a.gcStatsShape(0, &stats)
			}
			debug.ReadGCStats(&stats)
			return results(stats)
		}},
		"runtime/debug.Stack": {fn: func(a *argList) []interface{} {
			a.expect(0)
			return results(debug.Stack())
		}},
		"runtime/debug.WriteHeapDump": {fn: func(a *argList) []interface{} {
			// The argument: a file name (created relative to the working
			// directory) or a descriptor number such as 1 or 2.
			a.expect(1)
			if name, ok := a.get(0).(string); ok {
				f := createFile(name)
				debug.WriteHeapDump(f.Fd())
				return noResults
			}
			debug.WriteHeapDump(a.uintptr(0))
			return noResults
		}},
	})
}

func (a *argList) gcStatsShape(i int, stats *debug.GCStats) {
	v := a.get(i)
	if v == nil {
		return
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		badArgs("%s: the argument must be null or {\"PauseQuantiles\": q or [ns...], \"Pause\": n}", a.what)
	}
	w := &withArgs{r: a.r, what: a.what, m: m}
	for k := range m {
		switch k {
		case "PauseQuantiles":
			if list, ok := m[k].([]interface{}); ok {
				stats.PauseQuantiles = make([]time.Duration, len(list))
				for j, x := range list {
					ns, ok := toInt64(x)
					if !ok {
						badArgs("%s: PauseQuantiles values must be integers (nanoseconds)", a.what)
					}
					stats.PauseQuantiles[j] = time.Duration(ns)
				}
				continue
			}
			stats.PauseQuantiles = make([]time.Duration, w.int(k, 0))
		case "Pause":
			stats.Pause = make([]time.Duration, w.int(k, 0))
		default:
			badArgs("%s: unknown GCStats shape key %q", a.what, k)
		}
	}
}

// crashFile reads SetCrashOutput's file argument: null (nil: turn the extra
// output off), a file name (opened for appending, created if needed), or
// {"file": name, "closed": true} for a file closed before the call.
func (a *argList) crashFile(i int) *os.File {
	var name string
	closed := false
	switch x := a.get(i).(type) {
	case nil:
		return nil
	case string:
		name = x
	case map[string]interface{}:
		w := &withArgs{r: a.r, what: a.what, m: x}
		name = w.needStr("file")
		closed = w.bool("closed", false)
	default:
		badArgs("%s: the file must be a name, {\"file\": name, \"closed\": true} or null", a.what)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0644)
	if err != nil {
		badArgs("%s: cannot open %s: %v", a.what, name, err)
	}
	if closed {
		f.Close()
	} else {
		openFiles = append(openFiles, f)
	}
	return f
}
