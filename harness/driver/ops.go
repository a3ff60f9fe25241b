package main

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// opFunc performs an op. A non-nil error makes the step's status "error"
// (with the returned value, if any, as its value).
type opFunc func(r *runner, w *withArgs) (interface{}, error)

// opTable is PROTOCOL.md's op vocabulary. Ops whose implementation depends
// on the release or the OS register themselves from their own files.
var opTable = map[string]opFunc{
	"gc":               opGC,
	"alloc":            opAlloc,
	"drop":             opDrop,
	"finalizer":        opFinalizer,
	"keepalive":        opKeepAlive,
	"ran":              opRan,
	"goroutines.start": opGoroutinesStart,
	"goroutines.stop":  opGoroutinesStop,
	"goexit":           opGoexit,
	"metrics.read":     opMetricsRead,
	"metrics.all":      opMetricsAll,
	"memstats":         opMemStats,
	"panic":            opPanic,
	"fatal":            opFatal,
	"exit":             opExit,
	"write":            opWrite,
	"cpu.profile":      opCPUProfile,
	"trace.capture":    opTraceCapture,
	"profile.write":    opProfileWrite,
	"busy":             opBusy,
	"env.get":          opEnvGet,
	"version":          opVersion,
	// cleanup, signal.notify, signal.raise, signal.recv: see ops_*.go.
}

func registerOp(name string, fn opFunc) {
	if _, dup := opTable[name]; dup {
		panic("go-driver: op " + name + " registered twice")
	}
	opTable[name] = fn
}

// runExit runs cmd and returns its exit status; the error is non-nil only
// when the command could not be run (or waited for) at all.
func runExit(cmd *exec.Cmd) (int, error) {
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

func opGC(r *runner, w *withArgs) (interface{}, error) {
	runtime.GC()
	return nil, nil
}

func opExit(r *runner, w *withArgs) (interface{}, error) {
	code := w.int("code", 0)
	return tailCall{func() { os.Exit(code) }}, nil
}

func opWrite(r *runner, w *withArgs) (interface{}, error) {
	text := w.needStr("text")
	var f *os.File
	switch fd := w.int("fd", 1); fd {
	case 1:
		f = os.Stdout
	case 2:
		f = os.Stderr
	default:
		badArgs("op write: fd must be 1 or 2, got %d", fd)
	}
	return f.WriteString(text)
}

func opBusy(r *runner, w *withArgs) (interface{}, error) {
	busy(time.Duration(w.float("ms", 0) * float64(time.Millisecond)))
	return nil, nil
}

// busySink keeps the busy loop's work observable so it is not optimised
// away.
var busySink uint64

// busy burns CPU on the calling goroutine for d (wall time), in small
// chunks of arithmetic between clock reads.
func busy(d time.Duration) {
	end := time.Now().Add(d)
	x := busySink | 1
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
	busySink = x
}

func opEnvGet(r *runner, w *withArgs) (interface{}, error) {
	if v, ok := os.LookupEnv(w.needStr("name")); ok {
		return v, nil
	}
	return nil, nil
}

func opVersion(r *runner, w *withArgs) (interface{}, error) {
	return runtime.Version(), nil
}

// errNoSuchProfile is profile.write's error for an unknown profile name.
var errNoSuchProfile = errors.New("pprof.Lookup returned nil: no such profile")
