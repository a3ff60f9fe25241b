package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Ops of the runtime and runtime/debug area (PROTOCOL.md, "runtime.*"):
// package variables, profiling sites the driver owns, object links, and
// observations that need a helper goroutine or an address comparison.
func init() {
	registerOp("runtime.consts", opRuntimeConsts)
	registerOp("runtime.setenv", opRuntimeSetenv)
	registerOp("runtime.memprofilerate", opMemProfileRate)
	registerOp("runtime.memprofile.alloc", opMemProfileAlloc)
	registerOp("runtime.memprofile.site", opMemProfileSite)
	registerOp("runtime.block", opRuntimeBlock)
	registerOp("runtime.mutex", opRuntimeMutex)
	registerOp("runtime.contention.site", opContentionSite)
	registerOp("runtime.link", opRuntimeLink)
	registerOp("runtime.alloc.zero", opAllocZero)
	registerOp("runtime.finalizer.payload", opFinalizerPayload)
	registerOp("runtime.finalizer.gate", opFinalizerGate)
	registerOp("runtime.finalizer.gate.open", opFinalizerGateOpen)
	registerOp("runtime.stopwatch", opStopwatch)
	registerOp("runtime.deepstack", opDeepStack)
	registerOp("runtime.heapdump.gap", opHeapDumpGap)
	registerOp("runtime.gcstats.reuse", opGCStatsReuse)
	registerOp("runtime.debug.json.zero", opDebugJSONZero)
	registerOp("runtime.metrics.all.alias", opMetricsAllAlias)
	registerOp("runtime.metrics.buckets.alias", opMetricsBucketsAlias)
	registerOp("runtime.metrics.concurrent", opMetricsConcurrent)
	registerOp("runtime.metrics.hist.total", opMetricsHistTotal)
	registerOp("runtime.toolchain.goroot", opToolchainGOROOT)
	registerOp("runtime.gomaxprocs.watch", opGOMAXPROCSWatch)
	registerOp("runtime.memlimit.accounted", opMemLimitAccounted)
}

// opMemLimitAccounted reads, in one metrics.Read, what the memory limit is
// compared with: {accounted: /memory/classes/total:bytes -
// /memory/classes/heap/released:bytes, limit: /gc/gomemlimit:bytes}.
func opMemLimitAccounted(r *runner, w *withArgs) (interface{}, error) {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return map[string]interface{}{"accounted": s[0].Value.Uint64() - s[1].Value.Uint64(), "limit": s[2].Value.Uint64()}, nil
}

// opGOMAXPROCSWatch polls GOMAXPROCS(0) every millisecond for with.within_s
// seconds: {values (the distinct values seen, in order), seconds}. It is
// how a case sees that no automatic update happened in a window longer
// than the runtime's one-second update check.
func opGOMAXPROCSWatch(r *runner, w *withArgs) (interface{}, error) {
	start := time.Now()
	end := start.Add(time.Duration(w.float("within_s", 1.5) * float64(time.Second)))
	var values []int
	for {
		v := runtime.GOMAXPROCS(0)
		if len(values) == 0 || values[len(values)-1] != v {
			values = append(values, v)
		}
		if time.Now().After(end) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return map[string]interface{}{"values": values, "seconds": time.Since(start).Seconds()}, nil
}

// opMetricsHistTotal reads the histogram with.histogram and the uint64
// metric with.total in one metrics.Read: {counts_sum, total}.
func opMetricsHistTotal(r *runner, w *withArgs) (interface{}, error) {
	s := []metrics.Sample{{Name: w.needStr("histogram")}, {Name: w.needStr("total")}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram || s[1].Value.Kind() != metrics.KindUint64 {
		badArgs("op runtime.metrics.hist.total: need a histogram and a uint64 metric")
	}
	var sum uint64
	for _, c := range s[0].Value.Float64Histogram().Counts {
		sum += c
	}
	return map[string]interface{}{"counts_sum": sum, "total": s[1].Value.Uint64()}, nil
}

// opToolchainGOROOT is the root of the toolchain that built the driver, as
// the harness names it in RTHOOKS_GO (<root>/bin/go); null without it.
func opToolchainGOROOT(r *runner, w *withArgs) (interface{}, error) {
	g := os.Getenv("RTHOOKS_GO")
	if g == "" {
		return nil, nil
	}
	return filepath.Dir(filepath.Dir(g)), nil
}

func opRuntimeConsts(r *runner, w *withArgs) (interface{}, error) {
	return map[string]interface{}{"Compiler": runtime.Compiler, "GOOS": runtime.GOOS, "GOARCH": runtime.GOARCH}, nil
}

func opRuntimeSetenv(r *runner, w *withArgs) (interface{}, error) {
	return nil, os.Setenv(w.needStr("name"), w.str("value", ""))
}

// opMemProfileRate reports runtime.MemProfileRate and, with with.set, then
// assigns it.
func opMemProfileRate(r *runner, w *withArgs) (interface{}, error) {
	prev := runtime.MemProfileRate
	if w.has("set") {
		runtime.MemProfileRate = w.int("set", 0)
	}
	return prev, nil
}

// memSink keeps the objects of runtime.memprofile.alloc with keep: true.
var memSink [][]byte

//go:noinline
func rthMemSiteA(n, size int, keep bool) {
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		if keep {
			memSink = append(memSink, b)
		}
	}
}

//go:noinline
func rthMemSiteB(n, size int, keep bool) {
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		if keep {
			memSink = append(memSink, b)
		}
	}
}

// opMemProfileAlloc allocates n byte slices of with.bytes at one of two
// fixed call sites (with.site "a" or "b"), kept alive with keep: true.
func opMemProfileAlloc(r *runner, w *withArgs) (interface{}, error) {
	n, size, keep := w.int("n", 1), w.int("bytes", 1024), w.bool("keep", false)
	if keep && cap(memSink)-len(memSink) < n {
		// Grow the sink here, so that the site's only allocations are its objects.
		grown := make([][]byte, len(memSink), len(memSink)+n)
		copy(grown, memSink)
		memSink = grown
	}
	switch w.str("site", "a") {
	case "a":
		rthMemSiteA(n, size, keep)
	case "b":
		rthMemSiteB(n, size, keep)
	default:
		badArgs("op runtime.memprofile.alloc: site must be \"a\" or \"b\"")
	}
	if w.bool("free", false) {
		memSink = nil
	}
	return nil, nil
}

// stackHas reports whether a profile record's stack runs through a
// function whose name has the given prefix.
func stackHas(stk []uintptr, prefix string) bool {
	frames := runtime.CallersFrames(stk)
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, prefix) {
			return true
		}
		if !more {
			return false
		}
	}
}

// opMemProfileSite reads runtime.MemProfile(inuse_zero) and sums the
// records whose stack runs through the site's function: {records,
// AllocObjects, AllocBytes, FreeObjects, FreeBytes, total (records in the
// whole profile)}.
func opMemProfileSite(r *runner, w *withArgs) (interface{}, error) {
	fn := "main.rthMemSiteA"
	if w.str("site", "a") == "b" {
		fn = "main.rthMemSiteB"
	}
	inuseZero := w.bool("inuse_zero", false)
	var p []runtime.MemProfileRecord
	n, ok := runtime.MemProfile(nil, inuseZero)
	for !ok {
		p = make([]runtime.MemProfileRecord, n+50)
		n, ok = runtime.MemProfile(p, inuseZero)
	}
	p = p[:n]
	out := map[string]interface{}{"total": n}
	var recs, ao, ab, fo, fb int64
	for i := range p {
		if stackHas(p[i].Stack(), fn) {
			recs++
			ao += p[i].AllocObjects
			ab += p[i].AllocBytes
			fo += p[i].FreeObjects
			fb += p[i].FreeBytes
		}
	}
	out["records"], out["AllocObjects"], out["AllocBytes"], out["FreeObjects"], out["FreeBytes"] = recs, ao, ab, fo, fb
	return out, nil
}

//go:noinline
func rthBlockSite(ch chan int) int { return <-ch }

// opRuntimeBlock makes the calling goroutine block n times on a channel
// receive (at a fixed site) that a helper goroutine completes after
// with.hold_us microseconds.
func opRuntimeBlock(r *runner, w *withArgs) (interface{}, error) {
	n, hold := w.int("n", 1), time.Duration(w.int("hold_us", 200))*time.Microsecond
	ch := make(chan int)
	go func() {
		for i := 0; i < n; i++ {
			// Send only once the receiver is parked in rthBlockSite, so that every one
			// of the n receives really blocks: on a loaded machine the receiver can be
			// descheduled for longer than hold and would then find the value ready.
			waitParkedIn("rthBlockSite", "[chan receive")
			time.Sleep(hold)
			ch <- i
		}
	}()
	for i := 0; i < n; i++ {
		rthBlockSite(ch)
	}
	return nil, nil
}

// waitParkedIn returns once some goroutine whose stack holds fn is parked
// in the given wait state (its header reads "goroutine N [state...").
func waitParkedIn(fn, state string) {
	buf := make([]byte, 1<<20)
	for {
		text := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(text, "\n\n") {
			if strings.Contains(g, state) && strings.Contains(g, fn) {
				return
			}
		}
		runtime.Gosched()
	}
}

//go:noinline
func rthMutexHolder(mu *sync.Mutex, locked chan<- bool, hold time.Duration) {
	mu.Lock()
	locked <- true
	time.Sleep(hold)
	mu.Unlock()
}

//go:noinline
func rthMutexWaiter(mu *sync.Mutex) {
	mu.Lock()
	mu.Unlock()
}

// opRuntimeMutex creates n contended sync.Mutex acquisitions: a helper
// goroutine holds the lock for with.hold_us microseconds while the calling
// goroutine waits for it.
func opRuntimeMutex(r *runner, w *withArgs) (interface{}, error) {
	n, hold := w.int("n", 1), time.Duration(w.int("hold_us", 1000))*time.Microsecond
	var mu sync.Mutex
	locked := make(chan bool)
	for i := 0; i < n; i++ {
		go rthMutexHolder(&mu, locked, hold)
		<-locked
		rthMutexWaiter(&mu)
	}
	return nil, nil
}

// opContentionSite sums the block (with.profile "block") or mutex profile
// records whose stack runs through the driver's contention sites:
// {records, Count, Cycles}.
func opContentionSite(r *runner, w *withArgs) (interface{}, error) {
	read := runtime.BlockProfile
	if w.str("profile", "block") == "mutex" {
		read = runtime.MutexProfile
	}
	var p []runtime.BlockProfileRecord
	n, ok := read(nil)
	for !ok {
		p = make([]runtime.BlockProfileRecord, n+50)
		n, ok = read(p)
	}
	var recs, count, cycles int64
	for _, rec := range p[:n] {
		if stackHas(rec.Stack(), "main.rthBlockSite") || stackHas(rec.Stack(), "main.rthMutex") {
			recs++
			count += rec.Count
			cycles += rec.Cycles
		}
	}
	return map[string]interface{}{"records": recs, "Count": count, "Cycles": cycles}, nil
}

// opRuntimeLink stores a pointer to object with.to in the first word of
// object with.from (allocated with pointers: true), so that from keeps to
// reachable.
func opRuntimeLink(r *runner, w *withArgs) (interface{}, error) {
	from, ok := r.objects.get(w.needStr("from"))
	if !ok {
		badArgs("op runtime.link: no object named %q", w.needStr("from"))
	}
	to, ok := r.objects.get(w.needStr("to"))
	if !ok {
		badArgs("op runtime.link: no object named %q", w.needStr("to"))
	}
	p, ok := from.(**int)
	if !ok {
		badArgs("op runtime.link: %q must be allocated with pointers: true", w.needStr("from"))
	}
	var target unsafe.Pointer
	switch t := to.(type) {
	case **int:
		target = unsafe.Pointer(t)
	case *byte:
		target = unsafe.Pointer(t)
	default:
		badArgs("op runtime.link: %q is not an object from alloc", w.needStr("to"))
	}
	*(*unsafe.Pointer)(unsafe.Pointer(p)) = target
	return nil, nil
}

// opAllocZero keeps a pointer to a new zero-sized object under with.name.
func opAllocZero(r *runner, w *withArgs) (interface{}, error) {
	r.objects.put(w.needStr("name"), new(struct{}))
	return nil, nil
}

type payloadObject struct {
	value int
	pad   [6]int
}

// opFinalizerPayload allocates an object under with.name, writes
// with.value into it (a plain write) and then sets a finalizer that
// records "saw:<value it reads>" in ran.
func opFinalizerPayload(r *runner, w *withArgs) (interface{}, error) {
	p := new(payloadObject)
	p.value = w.int("value", 0)
	runtime.SetFinalizer(p, func(q *payloadObject) { recordRan(fmt.Sprintf("saw:%d", q.value)) })
	r.objects.put(w.needStr("name"), p)
	return nil, nil
}

var stopwatches = map[string]time.Time{}

// opStopwatch reports the seconds since the previous stopwatch step of the
// same with.name (0 for the first).
func opStopwatch(r *runner, w *withArgs) (interface{}, error) {
	name := w.str("name", "")
	now := time.Now()
	prev, ok := stopwatches[name]
	stopwatches[name] = now
	if !ok {
		return 0.0, nil
	}
	return now.Sub(prev).Seconds(), nil
}

type deepStackPlan struct {
	setMax int
	stack  bool
	prev   int
	text   []byte
}

//go:noinline
func rthDeepBig(n int, plan *deepStackPlan) int {
	var pad [1000]byte
	pad[n%1000] = byte(n)
	if n <= 1 {
		rthDeepBottom(plan)
		return int(pad[n%1000])
	}
	return rthDeepBig(n-1, plan) + int(pad[n%1000])
}

//go:noinline
func rthDeepSmall(n int, plan *deepStackPlan) int {
	if n <= 1 {
		rthDeepBottom(plan)
		return 0
	}
	return rthDeepSmall(n-1, plan) + 1
}

func rthDeepBottom(plan *deepStackPlan) {
	if plan.setMax > 0 {
		plan.prev = debug.SetMaxStack(plan.setMax)
	}
	if plan.stack {
		plan.text = debug.Stack()
	}
}

// opDeepStack recurses with.frames deep (frames of about 1 KB with
// with.big, else small ones); at the bottom it optionally calls
// debug.SetMaxStack(with.set_max_stack) and debug.Stack(). Value:
// {prev_max_stack, stack}.
func opDeepStack(r *runner, w *withArgs) (interface{}, error) {
	plan := &deepStackPlan{setMax: w.int("set_max_stack", 0), stack: w.bool("stack", false)}
	if w.bool("big", true) {
		rthDeepBig(w.int("frames", 1), plan)
	} else {
		rthDeepSmall(w.int("frames", 1), plan)
	}
	out := map[string]interface{}{"prev_max_stack": plan.prev, "stack": nil}
	if plan.stack {
		out["stack"] = string(plan.text)
	}
	return out, nil
}

var heapDumpLive [][]byte

// opHeapDumpGap keeps with.live_mb MiB of live objects, starts a goroutine
// that records the longest gap between its clock reads, and writes a heap
// dump to with.file: {dump_ms, gap_ms}.
func opHeapDumpGap(r *runner, w *withArgs) (interface{}, error) {
	for i := 0; i < w.int("live_mb", 16)*16; i++ {
		heapDumpLive = append(heapDumpLive, make([]byte, 64<<10))
	}
	var stop, started int32
	var maxGap int64
	done := make(chan bool)
	go func() {
		last := time.Now()
		atomic.StoreInt32(&started, 1)
		for atomic.LoadInt32(&stop) == 0 {
			now := time.Now()
			if g := int64(now.Sub(last)); g > maxGap {
				maxGap = g
			}
			last = now
		}
		done <- true
	}()
	for atomic.LoadInt32(&started) == 0 {
		runtime.Gosched()
	}
	time.Sleep(5 * time.Millisecond)
	f := createFile(w.str("file", "heap.dump"))
	t0 := time.Now()
	debug.WriteHeapDump(f.Fd())
	dump := time.Since(t0)
	time.Sleep(5 * time.Millisecond)
	atomic.StoreInt32(&stop, 1)
	<-done
	heapDumpLive = nil
	return map[string]interface{}{"dump_ms": float64(dump) / 1e6, "gap_ms": float64(maxGap) / 1e6}, nil
}

// opGCStatsReuse passes debug.ReadGCStats a Pause slice of capacity
// with.cap and reports whether the filled slice still uses that array:
// {same_array, len, cap}.
func opGCStatsReuse(r *runner, w *withArgs) (interface{}, error) {
	var stats debug.GCStats
	c := w.int("cap", 0)
	stats.Pause = make([]time.Duration, 0, c)
	var first *time.Duration
	if c > 0 {
		first = &stats.Pause[:1][0]
	}
	debug.ReadGCStats(&stats)
	same := c > 0 && cap(stats.Pause) > 0 && &stats.Pause[:1][0] == first
	return map[string]interface{}{"same_array": same, "len": len(stats.Pause), "cap": cap(stats.Pause)}, nil
}

// opDebugJSONZero is json.Marshal of a zero debug.BuildInfo ("BuildInfo")
// or debug.Module ("Module").
func opDebugJSONZero(r *runner, w *withArgs) (interface{}, error) {
	var v interface{}
	switch t := w.needStr("type"); t {
	case "BuildInfo":
		v = debug.BuildInfo{}
	case "Module":
		v = debug.Module{}
	case "BuildSetting":
		v = debug.BuildSetting{}
	default:
		badArgs("op runtime.debug.json.zero: unknown type %q", t)
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// opMetricsAllAlias calls metrics.All twice: {same_array: whether both
// results share their first element, mutation_visible: whether changing a
// Name in one result shows in a third call (restored afterwards)}.
func opMetricsAllAlias(r *runner, w *withArgs) (interface{}, error) {
	a, b := metrics.All(), metrics.All()
	same := len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
	old := a[0].Name
	a[0].Name = "/rthooks/changed:events"
	visible := metrics.All()[0].Name == a[0].Name
	a[0].Name = old
	return map[string]interface{}{"same_array": same, "mutation_visible": visible}, nil
}

// opMetricsBucketsAlias reads the histogram with.name in two separate
// Read calls and reports whether both Buckets slices share their array.
func opMetricsBucketsAlias(r *runner, w *withArgs) (interface{}, error) {
	name := w.needStr("name")
	s1 := []metrics.Sample{{Name: name}}
	s2 := []metrics.Sample{{Name: name}}
	metrics.Read(s1)
	metrics.Read(s2)
	if s1[0].Value.Kind() != metrics.KindFloat64Histogram {
		badArgs("op runtime.metrics.buckets.alias: %s is not a histogram", name)
	}
	h1, h2 := s1[0].Value.Float64Histogram(), s2[0].Value.Float64Histogram()
	return len(h1.Buckets) > 0 && &h1.Buckets[0] == &h2.Buckets[0], nil
}

// opMetricsConcurrent runs with.goroutines goroutines that each read every
// metric with.reads times into their own samples: {reads, bad} (reads
// completed, values of KindBad seen).
func opMetricsConcurrent(r *runner, w *withArgs) (interface{}, error) {
	g, n := w.int("goroutines", 4), w.int("reads", 20)
	var reads, bad int64
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			all := metrics.All()
			s := make([]metrics.Sample, len(all))
			for j := range all {
				s[j].Name = all[j].Name
			}
			for k := 0; k < n; k++ {
				metrics.Read(s)
				atomic.AddInt64(&reads, 1)
				for j := range s {
					if s[j].Value.Kind() == metrics.KindBad {
						atomic.AddInt64(&bad, 1)
					}
				}
			}
		}()
	}
	wg.Wait()
	return map[string]interface{}{"reads": reads, "bad": bad}, nil
}

var finalizerGate = make(chan struct{})

// opFinalizerGate sets on object with.name a finalizer that records
// "<tag>:started", waits until runtime.finalizer.gate.open, then records
// tag: while it waits, every finalizer queued after it waits too (the
// runtime runs finalizers one at a time on one goroutine).
func opFinalizerGate(r *runner, w *withArgs) (interface{}, error) {
	tag := w.str("tag", w.needStr("name"))
	runtime.SetFinalizer(r.namedObject(w), func(interface{}) {
		recordRan(tag + ":started")
		<-finalizerGate
		recordRan(tag)
	})
	return nil, nil
}

// opFinalizerGateOpen lets the runtime.finalizer.gate finalizer go on.
func opFinalizerGateOpen(r *runner, w *withArgs) (interface{}, error) {
	close(finalizerGate)
	return nil, nil
}
