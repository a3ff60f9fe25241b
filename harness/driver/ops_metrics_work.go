package main

import (
	"math"
	"reflect"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Ops that give runtime/metrics something known to measure: allocations of a
// given shape, idle and busy stretches of known length, goroutines parked,
// runnable or delayed in known numbers, mutex and runtime-lock contention,
// and helpers that read a histogram or a MemStats/metrics pair.

func init() {
	registerOp("metrics.alloc", opMetricsAlloc)
	registerOp("metrics.sleep", opMetricsSleep)
	registerOp("metrics.spin", opMetricsSpin)
	registerOp("metrics.histogram.sum", opMetricsHistogramSum)
	registerOp("metrics.memstats.read", opMetricsMemStatsRead)
	registerOp("metrics.read.reuse", opMetricsReadReuse)
	registerOp("metrics.mutex.contend", opMetricsMutexContend)
	registerOp("metrics.lock.contend", opMetricsLockContend)
	registerOp("metrics.park", opMetricsPark)
	registerOp("metrics.unpark", opMetricsUnpark)
	registerOp("metrics.runnable", opMetricsRunnable)
	registerOp("metrics.sched.delay", opMetricsSchedDelay)
	registerOp("metrics.globals", opMetricsGlobals)
	registerOp("metrics.profile.buckets", opMetricsProfileBuckets)
}

// metricsBytesSink and metricsPtrsSink make allocations escape; they are
// cleared right away when the objects are not kept.
var (
	metricsBytesSink []byte
	metricsPtrsSink  []*int
)

// ptrSize is the size of a pointer on this port (8, or 4 on 386, arm, wasm32).
const ptrSize = int(unsafe.Sizeof(uintptr(0)))

// opMetricsAlloc allocates count objects of bytes each (pointer arrays with
// pointers, else byte slices with every page written; pointer-free objects
// under 16 bytes go to the tiny allocator). With keep (a name the drop op
// forgets) it keeps every keep_every-th object (default all) and lets the
// others become garbage at once; without keep all become garbage. Value:
// {bytes: count*bytes, count, kept: bytes kept, dropped: bytes not kept}.
func opMetricsAlloc(r *runner, w *withArgs) (interface{}, error) {
	size := w.int("bytes", 64)
	count := w.int("count", 1)
	pointers := w.bool("pointers", false)
	every := w.int("keep_every", 1)
	if size < 1 || count < 0 || every < 1 {
		badArgs("op metrics.alloc: bytes and keep_every must be positive and count not negative")
	}
	keep := w.has("keep")
	var keptBytes [][]byte
	var keptPtrs [][]*int
	kept := 0
	for i := 0; i < count; i++ {
		k := keep && i%every == 0
		if k {
			kept++
		}
		if pointers {
			// bytes of pointers, whatever the pointer size: 8-byte words
			// would make half-size objects on 32-bit ports.
			s := make([]*int, (size+ptrSize-1)/ptrSize)
			if k {
				keptPtrs = append(keptPtrs, s)
			} else {
				metricsPtrsSink = s
			}
		} else {
			s := make([]byte, size)
			for j := 0; j < len(s); j += 4096 {
				s[j] = 1
			}
			if k {
				keptBytes = append(keptBytes, s)
			} else {
				metricsBytesSink = s
			}
		}
	}
	metricsBytesSink, metricsPtrsSink = nil, nil
	if keep {
		if pointers {
			r.objects.put(w.needStr("keep"), keptPtrs)
		} else {
			r.objects.put(w.needStr("keep"), keptBytes)
		}
	}
	total := int64(size) * int64(count)
	return map[string]interface{}{
		"bytes": total, "count": count,
		"kept": int64(size) * int64(kept), "dropped": int64(size) * int64(count-kept),
	}, nil
}

// opMetricsSleep sleeps for ms (the program is idle meanwhile) and returns
// the wall-clock seconds that passed. With gc, it runs runtime.GC() right
// before and right after the sleep and returns {slept, wall, before, after}:
// wall is the wall-clock time from the first GC's start to the second's end,
// before and after are the named metrics read after each GC (the CPU classes
// are the snapshots those cycles took, which lie between slept and wall apart).
func opMetricsSleep(r *runner, w *withArgs) (interface{}, error) {
	d := time.Duration(w.float("ms", 0) * float64(time.Millisecond))
	if !w.bool("gc", false) {
		start := time.Now()
		time.Sleep(d)
		return time.Since(start).Seconds(), nil
	}
	names := w.strs("names")
	t0 := time.Now()
	runtime.GC()
	before := readMetrics(names)
	start := time.Now()
	time.Sleep(d)
	slept := time.Since(start).Seconds()
	runtime.GC()
	wall := time.Since(t0).Seconds()
	after := readMetrics(names)
	return map[string]interface{}{"slept": slept, "wall": wall, "before": before, "after": after}, nil
}

// opMetricsSpin burns CPU on goroutines goroutines at once, each for ms of
// wall-clock time from its own start. Value: {each: ms in seconds, wall: the
// wall-clock seconds the whole took}.
func opMetricsSpin(r *runner, w *withArgs) (interface{}, error) {
	d := time.Duration(w.float("ms", 0) * float64(time.Millisecond))
	n := w.int("goroutines", 1)
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			busy(d)
		}()
	}
	wg.Wait()
	return map[string]interface{}{"each": d.Seconds(), "wall": time.Since(start).Seconds()}, nil
}

// histogramArg reads with.histogram: a metrics.Value ("$m[/name]") or a
// histogram.
func histogramArg(w *withArgs) *metrics.Float64Histogram {
	switch v := w.get("histogram").(type) {
	case metrics.Value:
		if v.Kind() == metrics.KindFloat64Histogram {
			return v.Float64Histogram()
		}
	case *metrics.Float64Histogram:
		return v
	}
	badArgs("op metrics.histogram.sum: with.histogram must be a histogram metric value (\"$m[/name]\")")
	return nil
}

// opMetricsHistogramSum summarises a histogram read earlier: count (the
// number of samples), lo and hi (bounds of the samples' sum from the bucket
// boundaries, an infinite boundary counting as the finite one beside it, a
// negative one as 0) and tail (tail[i] = samples in buckets i and above). With
// at, only the bucket holding that value counts; with min, only buckets whose
// lower boundary is at least min.
func opMetricsHistogramSum(r *runner, w *withArgs) (interface{}, error) {
	h := histogramArg(w)
	at, hasAt := w.float("at", 0), w.has("at")
	min, hasMin := w.float("min", 0), w.has("min")
	var count uint64
	var lo, hi float64
	tail := make([]uint64, len(h.Counts))
	for i := len(h.Counts) - 1; i >= 0; i-- {
		c := h.Counts[i]
		l, u := h.Buckets[i], h.Buckets[i+1]
		if i+1 < len(h.Counts) {
			tail[i] = tail[i+1]
		}
		tail[i] += c
		if hasAt && !(l <= at && at < u) {
			continue
		}
		if hasMin && l < min {
			continue
		}
		if math.IsInf(u, 1) {
			u = l
		}
		if math.IsInf(l, -1) || l < 0 {
			l = 0
		}
		if u < 0 {
			u = 0
		}
		count += c
		lo += float64(c) * l
		hi += float64(c) * u
	}
	return map[string]interface{}{"count": count, "lo": lo, "hi": hi, "tail": tail}, nil
}

// opMetricsMemStatsRead reads runtime.MemStats and, right after it with an
// already-filled []Sample, the named (non-histogram) metrics. It retries (up
// to tries times) until a second ReadMemStats right after the metrics agrees
// with the first on the heap and system figures and on every requested
// field, so that no background activity (the scavenger, a new M or stack
// span, a flushed allocation) fell between them. Value: {memstats: {fields},
// metrics: {name: value}, tries: n, stable: bool}.
func opMetricsMemStatsRead(r *runner, w *withArgs) (interface{}, error) {
	names := w.strs("names")
	fields := w.strs("fields")
	tries := w.int("tries", 20)
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	if len(samples) > 0 {
		metrics.Read(samples) // fill once, so the reads below reuse the storage
	}
	var a, b runtime.MemStats
	n, stable := 0, false
	for n < tries && !stable {
		n++
		runtime.ReadMemStats(&a)
		if len(samples) > 0 {
			metrics.Read(samples)
		}
		runtime.ReadMemStats(&b)
		stable = a.HeapIdle == b.HeapIdle && a.HeapReleased == b.HeapReleased &&
			a.HeapInuse == b.HeapInuse && a.HeapAlloc == b.HeapAlloc && a.HeapSys == b.HeapSys &&
			a.OtherSys == b.OtherSys && a.BuckHashSys == b.BuckHashSys && a.Sys == b.Sys &&
			a.StackInuse == b.StackInuse && a.GCSys == b.GCSys && a.MSpanInuse == b.MSpanInuse
		for _, f := range fields {
			va, _ := walkValue(&a, f)
			vb, _ := walkValue(&b, f)
			stable = stable && reflect.DeepEqual(va, vb)
		}
	}
	ms := map[string]interface{}{}
	for _, f := range fields {
		v, ok := walkValue(a, f)
		if !ok {
			badArgs("op metrics.memstats.read: runtime.MemStats has no field %q", f)
		}
		ms[f] = v
	}
	vals := map[string]interface{}{}
	for _, s := range samples {
		vals[s.Name] = s.Value
	}
	return map[string]interface{}{"memstats": ms, "metrics": vals, "tries": n, "stable": stable}, nil
}

// opMetricsMutexContend makes goroutines goroutines each wait at least hold_ms
// to Lock a sync.Mutex that the op holds, then lets them through one by one.
func opMetricsMutexContend(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("goroutines", 128)
	hold := time.Duration(w.float("hold_ms", 5) * float64(time.Millisecond))
	var mu sync.Mutex
	var started, done sync.WaitGroup
	mu.Lock()
	started.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			started.Done()
			mu.Lock()
			mu.Unlock() //nolint:staticcheck // the wait is the point
		}()
	}
	started.Wait()
	time.Sleep(hold)
	mu.Unlock()
	done.Wait()
	return nil, nil
}

// opMetricsLockContend makes goroutines goroutines each call runtime.GC gcs
// times at once, so that they contend for the runtime's internal locks (the
// GC's and the scheduler's); no sync.Mutex is involved.
func opMetricsLockContend(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("goroutines", 16)
	gcs := w.int("gcs", 20)
	var done sync.WaitGroup
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			for j := 0; j < gcs; j++ {
				runtime.GC()
			}
		}()
	}
	done.Wait()
	return nil, nil
}

// metricsParked holds the goroutines of metrics.park until metrics.unpark.
var metricsParked struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

//go:noinline
func growStack(depth int) int {
	var pad [1024]byte
	pad[depth%1024] = byte(depth)
	if depth <= 0 {
		return int(pad[0])
	}
	return growStack(depth-1) + int(pad[depth%1024])
}

// opMetricsPark starts n goroutines that (after growing their stacks by
// about stack_kib KiB each) block on an unbuffered channel receive until
// metrics.unpark, and returns once all of them are blocked. Value: {n,
// stack_bytes: n*stack_kib*1024}.
func opMetricsPark(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 10)
	depth := w.int("stack_kib", 0)
	p := &metricsParked
	if p.stop == nil {
		p.stop = make(chan struct{})
	}
	var started sync.WaitGroup
	started.Add(n)
	p.wg.Add(n)
	for i := 0; i < n; i++ {
		go func(stop chan struct{}) {
			defer p.wg.Done()
			growStack(depth)
			started.Done()
			<-stop
		}(p.stop)
	}
	started.Wait()
	// Done runs just before each receive; wait (boundedly) until they all
	// block, as reported by the goroutine count being stable is not enough:
	// yield a few times so that each reaches its receive.
	for i := 0; i < 10*n+10; i++ {
		runtime.Gosched()
	}
	return map[string]interface{}{"n": n, "stack_bytes": n * depth * 1024}, nil
}

func opMetricsUnpark(r *runner, w *withArgs) (interface{}, error) {
	p := &metricsParked
	if p.stop != nil {
		close(p.stop)
		p.wg.Wait()
		p.stop = nil
	}
	return nil, nil
}

// opMetricsRunnable starts n goroutines and reads the named metrics at once,
// before the calling goroutine gives up its processor: with GOMAXPROCS=1 the
// new goroutines are all still in the run queue. It then lets them run and
// waits for them. Value: the metrics read.
func opMetricsRunnable(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 10)
	names := w.strs("names")
	samples := make([]metrics.Sample, len(names))
	for i, s := range names {
		samples[i].Name = s
	}
	// Each goroutine yields until the read is over, so it is runnable (not finished) when the read
	// happens even if the caller was preempted after the go statements and they ran a while
	// (slow emulation took longer than sysmon's 10 ms time slice). With GOMAXPROCS=1 the caller,
	// reading, is the one running goroutine.
	var stop int32
	var done sync.WaitGroup
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			for atomic.LoadInt32(&stop) == 0 {
				runtime.Gosched()
			}
		}()
	}
	if len(samples) > 0 {
		metrics.Read(samples)
	}
	atomic.StoreInt32(&stop, 1)
	done.Wait()
	out := make(map[string]metrics.Value, len(samples))
	for _, s := range samples {
		out[s.Name] = s.Value
	}
	return out, nil
}

// opMetricsSchedDelay starts n goroutines and then keeps its processor busy
// for spin_ms before letting them run: with GOMAXPROCS=1 each of them waits
// at least that long between becoming runnable and running.
func opMetricsSchedDelay(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 100)
	d := time.Duration(w.float("spin_ms", 5) * float64(time.Millisecond))
	var done sync.WaitGroup
	done.Add(n)
	for i := 0; i < n; i++ {
		go done.Done()
	}
	busy(d)
	done.Wait()
	return n, nil
}

// Two package-level variables of known size: one the GC must scan (pointers),
// one it need not (no pointers, in .bss, never touched).
var (
	metricsScanGlobal   [32 << 10]*int
	metricsNoScanGlobal [8 << 20]byte
)

// opMetricsGlobals reports the sizes of those two variables:
// {scan: 262144, noscan: 8388608}.
func opMetricsGlobals(r *runner, w *withArgs) (interface{}, error) {
	// Real (run-time indexed) uses, so that the linker keeps both variables.
	i := w.int("index", 0)
	metricsScanGlobal[i%len(metricsScanGlobal)] = nil
	b := metricsNoScanGlobal[i%len(metricsNoScanGlobal)]
	return map[string]interface{}{
		"scan":   len(metricsScanGlobal) * 8,
		"noscan": len(metricsNoScanGlobal) + int(b),
	}, nil
}

//go:noinline
func profiledAlloc(depth int) []byte {
	if depth <= 0 {
		return make([]byte, 64)
	}
	return profiledAlloc(depth - 1)
}

// opMetricsProfileBuckets sets runtime.MemProfileRate to 1 and makes n
// allocations from 20 call stacks of different depths (new heap-profile
// buckets, and a profiling special for each sampled object), then restores
// the rate. The objects become garbage at once.
func opMetricsProfileBuckets(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 1000)
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	for i := 0; i < n; i++ {
		metricsBytesSink = profiledAlloc(i%20 + 1)
	}
	metricsBytesSink = nil
	runtime.MemProfileRate = old
	return nil, nil
}

// metricsChurnLive is the live heap metrics.churn keeps.
var metricsChurnLive [][]*int

// opMetricsChurn keeps (from its first call on) live_kib KiB of small
// pointer objects live and then allocates 512-byte garbage for ms of
// wall-clock time; under a memory limit below the live heap the GC then
// runs back to back. Value: the named metrics, read at the end.
func opMetricsChurn(r *runner, w *withArgs) (interface{}, error) {
	live := w.int("live_kib", 8192)
	d := time.Duration(w.float("ms", 100) * float64(time.Millisecond))
	for len(metricsChurnLive)*4 < live {
		metricsChurnLive = append(metricsChurnLive, make([]*int, 512))
	}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			metricsPtrsSink = make([]*int, 64)
		}
	}
	metricsPtrsSink = nil
	return readMetrics(w.strs("names")), nil
}

func init() { registerOp("metrics.churn", opMetricsChurn) }

// opMetricsReadReuse reads names into one []metrics.Sample, runs runtime.GC,
// and reads into the same slice again (the reuse metrics.Read allows). It
// reports both reads, the first read's histograms as they were (copied before
// the second read), and per histogram whether the second read wrote into the
// *Float64Histogram the first one returned (in_place).
func opMetricsReadReuse(r *runner, w *withArgs) (interface{}, error) {
	names := w.strs("names")
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	if len(samples) > 0 {
		metrics.Read(samples)
	}
	first := make(map[string]interface{}, len(samples))
	hists := make(map[string]*metrics.Float64Histogram)
	for _, s := range samples {
		if s.Value.Kind() != metrics.KindFloat64Histogram {
			first[s.Name] = s.Value
			continue
		}
		h := s.Value.Float64Histogram()
		hists[s.Name] = h
		first[s.Name] = &metrics.Float64Histogram{
			Counts:  append([]uint64(nil), h.Counts...),
			Buckets: append([]float64(nil), h.Buckets...),
		}
	}
	runtime.GC()
	if len(samples) > 0 {
		metrics.Read(samples)
	}
	second := make(map[string]interface{}, len(samples))
	inPlace := make(map[string]interface{}, len(hists))
	for _, s := range samples {
		second[s.Name] = s.Value
		if h, ok := hists[s.Name]; ok {
			inPlace[s.Name] = s.Value.Float64Histogram() == h
		}
	}
	return map[string]interface{}{"first": first, "second": second, "in_place": inPlace}, nil
}
