package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"
)

// Ops that make the GC's debug modes (GODEBUG gcstoptheworld, gccheckmark)
// and the fatal-panic freeze (dontfreezetheworld) observable without
// timing: what one automatic cycle leaves behind, read the moment it ends,
// and how a goroutine running on another thread is listed when the process
// dies of a panic.
func init() {
	registerOp("gc.cycle.probe", opGCCycleProbe)
	registerOp("goroutines.spin.panic", opGoroutinesSpinPanic)
	if os.Getenv(spinChildEnv) == "1" {
		spinAndPanic()
	}
}

// cycleNode is a small pointerful object (16 bytes): it never goes to the
// tiny allocator, so each one is one heap object in the metrics.
type cycleNode struct {
	next *cycleNode
	v    uintptr
}

var cycleGarbage *cycleNode

var cycleProbeMetrics = []string{
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/frees:objects",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/memory/classes/metadata/other:bytes",
}

// opGCCycleProbe drops with.garbage linked 16-byte objects and watches the
// next automatic cycle on a single P (GOMAXPROCS 1 for the step, so the
// background sweeper only runs when this goroutine yields). The collector
// is off (SetGCPercent(-1), which also waits for a cycle in progress) while
// the garbage is built and the metrics are read; then GOGC goes back to its
// setting (or to with.gogc), and small objects are allocated until the
// cycle that the next allocation starts has completed; the metrics are read
// again at once. Nothing is allocated between dropping the garbage and the
// first read, so no cycle can start in between. The value holds the
// differences: cycles, freed (heap objects the sweeper had freed when the
// cycle ended: all the garbage if sweeping ran inside the cycle, a few
// spans' worth if it is left to run concurrently), assist_s (mark assist
// CPU seconds: allocating during a concurrent mark pays for marking; none
// when user goroutines cannot run during the mark), dedicated_s, and
// metadata_other (runtime metadata the cycle added, such as the 1 MiB
// checkmark bitmap per heap arena). GOGC and GOMAXPROCS are restored.
func opGCCycleProbe(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("garbage", 1000000)
	if n < 0 {
		badArgs("op gc.cycle.probe: garbage must not be negative")
	}
	before := make([]metrics.Sample, len(cycleProbeMetrics))
	after := make([]metrics.Sample, len(cycleProbeMetrics))
	for i, name := range cycleProbeMetrics {
		before[i].Name, after[i].Name = name, name
	}
	cycles := []metrics.Sample{{Name: cycleProbeMetrics[0]}}
	ring := new([4096]*cycleNode)
	prevProcs := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prevProcs)
	gogc := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(gogc)
	if w.has("gogc") {
		gogc = w.int("gogc", 100)
	}
	if gogc < 0 {
		badArgs("op gc.cycle.probe: GOGC is off and with.gogc is not given")
	}
	for i := 0; i < n; i++ {
		cycleGarbage = &cycleNode{next: cycleGarbage}
	}
	cycleGarbage = nil
	metrics.Read(before)
	debug.SetGCPercent(gogc)
	done := false
	for i := 0; i < 1<<28; i++ {
		ring[i%len(ring)] = &cycleNode{next: ring[(i+1)%len(ring)]}
		metrics.Read(cycles)
		if cycles[0].Value.Uint64() != before[0].Value.Uint64() {
			done = true
			break
		}
	}
	metrics.Read(after)
	runtime.KeepAlive(ring)
	if !done {
		unsupported("op gc.cycle.probe: no automatic GC cycle after 2^28 allocations")
	}
	for _, s := range after {
		if s.Value.Kind() == metrics.KindBad {
			unsupported("op gc.cycle.probe: this release has no metric %s", s.Name)
		}
	}
	u := func(i int) int64 { return int64(after[i].Value.Uint64() - before[i].Value.Uint64()) }
	f := func(i int) float64 { return after[i].Value.Float64() - before[i].Value.Float64() }
	return map[string]interface{}{
		"garbage": n, "cycles": u(0), "freed": u(1),
		"assist_s": f(2), "dedicated_s": f(3), "metadata_other": u(4),
	}, nil
}

var spinCounter uint64

// spinLoop runs until the process ends. It makes no calls, so only an
// asynchronous preemption (or a fatal panic freezing the world) stops it.
//
//go:noinline
func spinLoop(started *int32) {
	atomic.StoreInt32(started, 1)
	for {
		spinCounter++
	}
}

const spinChildEnv = "RTHOOKS_SPIN_CHILD"

// spinAndPanic is the whole life of a goroutines.spin.panic child: with the
// collector off (a cycle would preempt the spinner to scan its stack), it
// starts main.spinLoop on another P and, the moment it runs, panics. The
// spinner has run for microseconds, so the scheduler has no reason of its
// own to preempt it (sysmon does so after 10 ms) while the runtime prints
// the panic.
func spinAndPanic() {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	debug.SetGCPercent(-1)
	var started int32
	go spinLoop(&started)
	for atomic.LoadInt32(&started) == 0 {
		runtime.Gosched()
	}
	panic("freeze")
}

// opGoroutinesSpinPanic runs a child copy of the driver with.runs times (3;
// the environment is inherited, GOTRACEBACK and GODEBUG included); each
// child runs spinAndPanic from its init. The value is {runs, exits (each
// child's exit status), text (the children's standard error, each after a
// "--- run K ---" line)}. Whether a running goroutine is stopped before the
// traceback depends on its thread getting a CPU within milliseconds, so
// cases look for what at least one run shows.
func opGoroutinesSpinPanic(r *runner, w *withArgs) (interface{}, error) {
	runs := w.int("runs", 3)
	if runs < 1 {
		badArgs("op goroutines.spin.panic: runs must be positive")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	exits := make([]interface{}, 0, runs)
	var text strings.Builder
	for i := 1; i <= runs; i++ {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), spinChildEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		code, err := runExit(cmd)
		if err != nil {
			return nil, err
		}
		exits = append(exits, code)
		fmt.Fprintf(&text, "--- run %d ---\n%s", i, stderr.String())
	}
	return map[string]interface{}{"runs": runs, "exits": exits, "text": text.String()}, nil
}
