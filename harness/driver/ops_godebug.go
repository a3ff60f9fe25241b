package main

// Ops of the GODEBUG area (godebug.*): each performs the code a runtime or
// library GODEBUG setting gates and reports what that code did, so that a
// case can tell the setting's effect from its default.

import (
	"context"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

func init() {
	registerOp("godebug.setenv", opGodebugSetenv)
	registerOp("godebug.rand", opGodebugRand)
	registerOp("godebug.counter", opGodebugCounter)
	registerOp("godebug.panicnil", opGodebugPanicNil)
	registerOp("godebug.timer", opGodebugTimer)
	registerOp("godebug.stack", opGodebugStack)
	registerOp("godebug.preempt", opGodebugPreempt)
	registerOp("godebug.collected", opGodebugCollected)
	registerOp("godebug.timers-retained", opGodebugTimersRetained)
	registerOp("godebug.addrs", opGodebugAddrs)
	registerOp("godebug.freed-word", opGodebugFreedWord)
	registerOp("godebug.badptr", opGodebugBadPtr)
	registerOp("godebug.stack-start", opGodebugStackStart)
	registerOp("godebug.stack-shrink", opGodebugStackShrink)
	registerOp("godebug.finalizer-leak", opGodebugFinalizerLeak)
}

// godebug.setenv: os.Setenv("GODEBUG", value), or os.Unsetenv for null.
func opGodebugSetenv(r *runner, w *withArgs) (interface{}, error) {
	if !w.has("value") {
		return nil, os.Unsetenv("GODEBUG")
	}
	return nil, os.Setenv("GODEBUG", w.str("value", ""))
}

// godebug.rand: n (default 3) Int63 values, from rand.New(rand.NewSource(source))
// when source is given, otherwise from the global generator, after
// rand.Seed(seed) when seed is given.
func opGodebugRand(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 3)
	out := make([]int64, 0, n)
	if w.has("source") {
		g := rand.New(rand.NewSource(int64(w.int("source", 0))))
		for i := 0; i < n; i++ {
			out = append(out, g.Int63())
		}
		return out, nil
	}
	if w.has("seed") {
		rand.Seed(int64(w.int("seed", 0)))
	}
	for i := 0; i < n; i++ {
		out = append(out, rand.Int63())
	}
	return out, nil
}

// godebug.counter: the value of /godebug/non-default-behavior/<key>:events
// (null when this release has no such metric).
func opGodebugCounter(r *runner, w *withArgs) (interface{}, error) {
	s := []metrics.Sample{{Name: "/godebug/non-default-behavior/" + w.needStr("key") + ":events"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return nil, nil
	}
	return s[0].Value.Uint64(), nil
}

// godebug.panicnil: panic(nil), recovered; the dynamic type recover saw
// ("<nil>" when it saw nil).
func opGodebugPanicNil(r *runner, w *withArgs) (v interface{}, err error) {
	func() {
		defer func() {
			p := recover()
			if p == nil {
				v = "<nil>"
			} else {
				v = typeName(p)
			}
		}()
		panic(nil)
	}()
	return v, nil
}

// godebug.timer: a time.NewTimer(1ms) is allowed to fire, then Reset to an
// hour. Reports cap(t.C) and whether a stale value from the first firing
// was still in the channel after Reset (the asynchronous, pre-Go 1.23
// semantics).
func opGodebugTimer(r *runner, w *withArgs) (interface{}, error) {
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	time.Sleep(5 * time.Millisecond)
	if cap(t.C) > 0 {
		// asynchronous: wait (bounded) for the send into the buffer
		for end := time.Now().Add(time.Second); len(t.C) == 0 && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
	}
	c := cap(t.C)
	t.Reset(time.Hour)
	stale := false
	select {
	case <-t.C:
		stale = true
	default:
	}
	return map[string]interface{}{"cap": c, "stale": stale}, nil
}

// godebug.stack: runtime.Stack of a goroutine created at nesting depth
// `depth` (main's child is depth 1), run under pprof labels `labels` if
// given. Reports the text and its "[originating from goroutine" lines.
func opGodebugStack(r *runner, w *withArgs) (interface{}, error) {
	depth := w.int("depth", 1)
	var labels []string
	if w.has("labels") {
		m, ok := w.get("labels").(map[string]interface{})
		if !ok {
			badArgs("op godebug.stack: labels must be an object")
		}
		for k, v := range m {
			s, _ := v.(string)
			labels = append(labels, k, s)
		}
	}
	res := make(chan string, 1)
	var spawn func(level int)
	spawn = func(level int) {
		if level < depth {
			go spawn(level + 1)
			return
		}
		body := func(context.Context) {
			buf := make([]byte, 1<<16)
			res <- string(buf[:runtime.Stack(buf, false)])
		}
		if len(labels) > 0 {
			pprof.Do(context.Background(), pprof.Labels(labels...), body)
		} else {
			body(nil)
		}
	}
	if depth <= 0 {
		spawn(0)
	} else {
		go spawn(1)
	}
	text := <-res
	origins := make([]string, 0)
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "[originating from goroutine") {
			origins = append(origins, l)
		}
	}
	return map[string]interface{}{"text": text, "origins": origins}, nil
}

var preemptStop int32

// godebug.preempt: with GOMAXPROCS(1), a goroutine spins in a loop without
// calls (bounded by `iterations`, default 3e8) while this one yields to it.
// Reports whether this goroutine got the CPU back before the loop ended
// (only asynchronous preemption can make that happen).
func opGodebugPreempt(r *runner, w *withArgs) (interface{}, error) {
	iters := int64(w.int("iterations", 300000000))
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	atomic.StoreInt32(&preemptStop, 0)
	var finished int32
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		close(started)
		spin(iters)
		atomic.StoreInt32(&finished, 1)
		close(done)
	}()
	<-started
	runtime.Gosched()
	preempted := atomic.LoadInt32(&finished) == 0
	atomic.StoreInt32(&preemptStop, 1)
	<-done
	return preempted, nil
}

// spin loops without function calls (no synchronous preemption points)
// until preemptStop is set or n iterations have run.
func spin(n int64) {
	x := uint64(1)
	for i := int64(0); i < n && atomic.LoadInt32(&preemptStop) == 0; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	busySink = x
}

// godebug.collected: whether a dropped 64-byte object with a finalizer is
// finalized within within_ms (default 300) of repeated GCs.
func opGodebugCollected(r *runner, w *withArgs) (interface{}, error) {
	done := make(chan struct{})
	o := new([8]*int)
	runtime.SetFinalizer(o, func(*[8]*int) { close(done) })
	o = nil
	end := time.Now().Add(time.Duration(w.int("within_ms", 300)) * time.Millisecond)
	// No timers here: sbrk=1 (whose effect this op shows) makes Go 1.24's
	// timers unreliable, so the finalizer goroutine gets the CPU by yielding.
	for time.Now().Before(end) {
		runtime.GC()
		for i := 0; i < 100; i++ {
			select {
			case <-done:
				return true, nil
			default:
				runtime.Gosched()
			}
		}
	}
	return false, nil
}

// godebug.timers-retained: creates n (default 10000) unexpired
// time.NewTimer(time.Hour) timers nobody references; reports how many KiB
// of heap they still hold after two GCs (HeapAlloc growth).
func opGodebugTimersRetained(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 10000)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := int64(ms.HeapAlloc)
	for i := 0; i < n; i++ {
		time.NewTimer(time.Hour)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	kib := (int64(ms.HeapAlloc) - before) >> 10
	if kib < 0 {
		kib = 0
	}
	return kib, nil
}

var addrSink [][]byte

// godebug.addrs: allocates n (default 8) pointer-free objects of `bytes`
// (default 16) bytes; reports how many distinct 8 KiB pages they start on,
// and how many addresses of a second round (after the first was dropped
// and collected) repeat an address of the first.
func opGodebugAddrs(r *runner, w *withArgs) (interface{}, error) {
	n, size := w.int("n", 8), w.int("bytes", 16)
	round := func() map[uintptr]bool {
		addrSink = make([][]byte, n)
		seen := map[uintptr]bool{}
		for i := range addrSink {
			addrSink[i] = make([]byte, size)
			seen[uintptr(unsafe.Pointer(&addrSink[i][0]))] = true
		}
		return seen
	}
	first := round()
	pages := map[uintptr]bool{}
	for a := range first {
		pages[a>>13] = true
	}
	addrSink = nil
	runtime.GC()
	runtime.GC()
	reused := 0
	for a := range round() {
		if first[a] {
			reused++
		}
	}
	addrSink = nil
	return map[string]interface{}{"n": n, "pages": len(pages), "reused": reused}, nil
}

var freedSink [8]*[128]uint64

// godebug.freed-word: eight 1 KiB pointer-free objects are filled with a
// pattern and one of them is dropped and collected (the others keep its
// span in use, so the memory stays in the heap); reports the first word of
// the dropped object's memory read afterwards (hex), which clobberfree
// overwrites.
func opGodebugFreedWord(r *runner, w *withArgs) (interface{}, error) {
	for i := range freedSink {
		freedSink[i] = new([128]uint64)
		for j := range freedSink[i] {
			freedSink[i][j] = 0x1122334455667788
		}
	}
	addr := uintptr(unsafe.Pointer(freedSink[3]))
	freedSink[3] = nil
	runtime.GC()
	runtime.GC()
	word := *(*uint64)(unsafe.Pointer(addr))
	for i := range freedSink {
		freedSink[i] = nil
	}
	return hexWord(word), nil
}

func hexWord(x uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = digits[x&15]
		x >>= 4
	}
	return "0x" + string(b)
}

var badPtrSink *int

// godebug.badptr: stores the runtime's "clobbered dead" pointer value
// 0xdeaddeaddeaddead in a global pointer the collector scans, and runs a
// GC; returns null if the program survived.
func opGodebugBadPtr(r *runner, w *withArgs) (interface{}, error) {
	bad := uintptr(0xdeaddead)
	bad |= bad << 32
	badPtrSink = (*int)(unsafe.Pointer(bad))
	runtime.GC()
	badPtrSink = nil
	return nil, nil
}

// grow recurses `frames` times through frames of about 1 KiB of stack.
func grow(frames int, at func()) {
	var pad [128]uint64
	pad[frames%128] = uint64(frames)
	if frames > 0 {
		grow(frames-1, at)
	} else {
		at()
	}
	busySink += pad[frames%128]
}

// godebug.stack-start: n (default 16) goroutines block kb (default 32) KiB
// deep in their stacks across two GCs; reports
// /gc/stack/starting-size:bytes.
func opGodebugStackStart(r *runner, w *withArgs) (interface{}, error) {
	n, kb := w.int("n", 16), w.int("kb", 32)
	stop := make(chan struct{})
	var ready, exited sync.WaitGroup
	ready.Add(n)
	exited.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer exited.Done()
			grow(kb, func() { ready.Done(); <-stop })
		}()
	}
	ready.Wait()
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(s)
	close(stop)
	exited.Wait()
	if s[0].Value.Kind() != metrics.KindUint64 {
		return nil, nil
	}
	return s[0].Value.Uint64(), nil
}

// godebug.stack-shrink: a goroutine grows its stack kb (default 512) KiB
// deep, returns to a shallow frame and blocks; reports StackInuse before
// and after three GCs, in KiB.
func opGodebugStackShrink(r *runner, w *withArgs) (interface{}, error) {
	kb := w.int("kb", 512)
	stop := make(chan struct{})
	ready := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		grow(kb, func() {})
		close(ready)
		<-stop
		close(exited)
	}()
	<-ready
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.StackInuse >> 10
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	after := ms.StackInuse >> 10
	close(stop)
	<-exited
	return map[string]interface{}{"before_kib": before, "after_kib": after, "grown_kib": kb}, nil
}

type leaky struct {
	self *leaky
	pad  [4]uint64
}

// godebug.finalizer-leak: sets a finalizer whose closure references the
// object itself (so the object can never be collected), drops the object,
// and runs two GCs; returns null if the program survived.
func opGodebugFinalizerLeak(r *runner, w *withArgs) (interface{}, error) {
	o := &leaky{}
	self := o
	runtime.SetFinalizer(o, func(*leaky) { busySink += self.pad[0] })
	o = nil
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	return nil, nil
}
