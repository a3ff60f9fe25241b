//go:build cgo && go1.21

package main

// Ops of the cgo area (cgo.*), built only into the cgo variant of the
// driver (CGO_ENABLED=1, cases that require the "cgo" capability). All C
// definitions live in this preamble: the harness copies only .go files, and
// the file with the //export functions (cgo_export.go) may only declare.

/*
#cgo LDFLAGS: -lpthread
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

extern void rthooksForeignGo(int goexit);
extern void rthooksCThreadGo(void);
extern void rthooksTracebackG1(void);
extern void rthooksTracebackG2(void);

void rthooks_nop(void) {}

// pass-pointer: p points to Go memory holding a pointer to an int.
static int* rthooks_held;
int rthooks_take(void* p) {
	int* inner = *(int**)p;
	rthooks_held = inner;
	return *inner;
}
int rthooks_read_held(void) { return rthooks_held ? *rthooks_held : -1; }
void rthooks_drop_held(void) { rthooks_held = 0; }

// foreign-thread: a thread created by C calls into Go.
static void* rthooks_foreign_main(void* arg) {
	rthooksForeignGo((int)(intptr_t)arg);
	return 0;
}
int rthooks_foreign(int goexit) {
	pthread_t t;
	if (pthread_create(&t, 0, rthooks_foreign_main, (void*)(intptr_t)goexit) != 0) return -1;
	return pthread_join(t, 0);
}

// c-threads: k threads created by C, each calling into Go at the same time.
static void* rthooks_cthread_main(void* arg) {
	rthooksCThreadGo();
	return 0;
}
int rthooks_cthreads(int k) {
	pthread_t ts[256];
	int i, made = 0;
	if (k > 256) k = 256;
	for (i = 0; i < k; i++) {
		if (pthread_create(&ts[i], 0, rthooks_cthread_main, 0) != 0) break;
		made++;
	}
	for (i = 0; i < made; i++) pthread_join(ts[i], 0);
	return made;
}

// SetCgoTraceback: fake context, traceback and symbolizer functions (after
// runtime/testdata/testprogcgo/tracebackctxt_c.c), counting their calls.
struct rthooksContextArg { uintptr_t context; };
struct rthooksTracebackArg { uintptr_t context; uintptr_t sigContext; uintptr_t* buf; uintptr_t max; };
struct rthooksSymbolizerArg {
	uintptr_t pc; const char* file; uintptr_t lineno; const char* func;
	uintptr_t entry; uintptr_t more; uintptr_t data;
};
static int rthooks_ctx_calls, rthooks_tb_calls, rthooks_sym_calls;
void rthooksContext(void* parg) {
	struct rthooksContextArg* arg = (struct rthooksContextArg*)parg;
	__sync_add_and_fetch(&rthooks_ctx_calls, 1);
	if (arg->context == 0) arg->context = 1;
}
void rthooksTraceback(void* parg) {
	struct rthooksTracebackArg* arg = (struct rthooksTracebackArg*)parg;
	__sync_add_and_fetch(&rthooks_tb_calls, 1);
	if (arg->max == 0) return;
	if (arg->context == 0) { arg->buf[0] = 0; return; }
	if (arg->max > 0) arg->buf[0] = 0x7770;
	if (arg->max > 1) arg->buf[1] = 0x7771;
	if (arg->max > 2) arg->buf[2] = 0;
}
void rthooksSymbolizer(void* parg) {
	struct rthooksSymbolizerArg* arg = (struct rthooksSymbolizerArg*)parg;
	__sync_add_and_fetch(&rthooks_sym_calls, 1);
	if (arg->pc == 0) return;
	arg->file = "rthooks_c.c";
	arg->func = "rthooksCFunction";
	arg->lineno = arg->pc & 0xff;
	arg->more = 0;
}
int rthooks_ctx_count(void) { return __sync_add_and_fetch(&rthooks_ctx_calls, 0); }
int rthooks_tb_count(void) { return __sync_add_and_fetch(&rthooks_tb_calls, 0); }
int rthooks_sym_count(void) { return __sync_add_and_fetch(&rthooks_sym_calls, 0); }
void rthooks_c1(void) { rthooksTracebackG1(); }
void rthooks_c2(void) { rthooksTracebackG2(); }
*/
import "C"

import (
	"fmt"
	"net"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"unsafe"
)

func init() {
	registerOp("cgo.call", opCgoCall)
	registerOp("cgo.pass-pointer", opCgoPassPointer)
	registerOp("cgo.foreign-thread", opCgoForeignThread)
	registerOp("cgo.c-threads", opCgoCThreads)
	registerOp("cgo.traceback", opCgoTraceback)
	registerOp("cgo.lookup", opCgoLookup)
}

func cgoCallsMetric() uint64 {
	s := []metrics.Sample{{Name: "/cgo/go-to-c-calls:calls"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// cgo.call: n (default 10) calls of an empty C function; reports the
// growth of runtime.NumCgoCall and of /cgo/go-to-c-calls:calls.
func opCgoCall(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 10)
	m0, c0 := cgoCallsMetric(), runtime.NumCgoCall()
	for i := 0; i < n; i++ {
		C.rthooks_nop()
	}
	c1, m1 := runtime.NumCgoCall(), cgoCallsMetric()
	return map[string]interface{}{"n": n, "numcgocall_delta": c1 - c0, "metric_delta": m1 - m0}, nil
}

type cgoHolder struct {
	inner *C.int
}

// cgo.pass-pointer: passes C a pointer to Go memory (a holder) that holds
// a pointer to another Go object (an int set to 42). pin lists what a
// runtime.Pinner pins first: "outer" (the holder), "inner" (the int).
// C reads the int through the holder and keeps the inner pointer; after
// two GCs C reads it again. With unpin true the Pinner's Unpin is called
// after the Pin calls and before the pointer is passed. Reports err (the
// recovered panic text or null), read (what C read during the call), held
// (what it read after).
func opCgoPassPointer(r *runner, w *withArgs) (res interface{}, err error) {
	var p runtime.Pinner
	defer p.Unpin()
	h := &cgoHolder{inner: (*C.int)(unsafe.Pointer(new(int32)))}
	*h.inner = 42
	for _, what := range w.strs("pin") {
		switch what {
		case "outer":
			p.Pin(h)
		case "inner":
			p.Pin(h.inner)
		default:
			badArgs("cgo.pass-pointer: pin must list \"outer\" and/or \"inner\", got %q", what)
		}
	}
	if w.bool("unpin", false) {
		p.Unpin()
	}
	out := map[string]interface{}{"err": nil, "read": nil, "held": nil}
	func() {
		defer func() {
			if e := recover(); e != nil {
				out["err"] = fmt.Sprint(e)
			}
		}()
		out["read"] = int(C.rthooks_take(unsafe.Pointer(h)))
	}()
	if out["err"] == nil {
		runtime.GC()
		runtime.GC()
		out["held"] = int(C.rthooks_read_held())
	}
	C.rthooks_drop_held()
	runtime.KeepAlive(h)
	return out, nil
}

var cgoForeignRan int32

// cgo.foreign-thread: a thread created with pthread_create in C calls an
// exported Go function, which calls runtime.Goexit when goexit is true;
// C joins the thread. Reports {"ran": the Go function ran, "after_goexit": it went on after Goexit}.
func opCgoForeignThread(r *runner, w *withArgs) (interface{}, error) {
	g := 0
	if w.bool("goexit", false) {
		g = 1
	}
	cgoForeignRan = 0
	if rc := C.rthooks_foreign(C.int(g)); rc != 0 {
		return nil, fmt.Errorf("pthread_create/join failed: %d", int(rc))
	}
	return map[string]interface{}{"ran": cgoForeignRan >= 1, "after_goexit": cgoForeignRan >= 2}, nil
}

var (
	cgoThreadsWant    int32
	cgoThreadsArrived int32
	cgoThreadsRelease chan struct{}
	cgoThreadsPeak    int
)

// cgo.c-threads: debug.SetMaxThreads(limit) with limit = the process's
// current thread count + headroom (default 4), then C creates threads
// (default 16) that all call into Go and wait there until every one has
// arrived; the limit is then restored. Reports limit, callbacks (how many
// arrived) and peak_threads (the process's thread count with all inside).
func opCgoCThreads(r *runner, w *withArgs) (interface{}, error) {
	k := w.int("threads", 16)
	limit := countThreads() + w.int("headroom", 4)
	cgoThreadsWant, cgoThreadsArrived, cgoThreadsPeak = int32(k), 0, 0
	cgoThreadsRelease = make(chan struct{})
	prev := debug.SetMaxThreads(limit)
	made := int(C.rthooks_cthreads(C.int(k)))
	debug.SetMaxThreads(prev)
	return map[string]interface{}{
		"limit": limit, "threads": made, "callbacks": int(cgoThreadsArrived), "peak_threads": cgoThreadsPeak,
	}, nil
}

var cgoTracebackFrames []string

// cgo.traceback: runtime.SetCgoTraceback(0, traceback, context,
// symbolizer) with the driver's fake C functions for those set true, then
// Go calls C calls Go calls C calls Go; the innermost Go function collects
// runtime.Callers/CallersFrames and the stack runtime.Stack prints. Reports
// frames (the frame function names, "" for none), c_frames (frames of the
// fake C function "rthooksCFunction"), stack (the printed stack of the
// goroutine) and how often each C function was called.
func opCgoTraceback(r *runner, w *withArgs) (interface{}, error) {
	var tb, ctx, sym unsafe.Pointer
	if w.bool("traceback", true) {
		tb = unsafe.Pointer(C.rthooksTraceback)
	}
	if w.bool("context", true) {
		ctx = unsafe.Pointer(C.rthooksContext)
	}
	if w.bool("symbolizer", true) {
		sym = unsafe.Pointer(C.rthooksSymbolizer)
	}
	runtime.SetCgoTraceback(0, tb, ctx, sym)
	cgoTracebackFrames = nil
	C.rthooks_c1()
	c := 0
	for _, f := range cgoTracebackFrames {
		if f == "rthooksCFunction" {
			c++
		}
	}
	return map[string]interface{}{
		"frames": cgoTracebackFrames, "c_frames": c, "stack": cgoTracebackStack,
		"traceback_calls": int(C.rthooks_tb_count()), "context_calls": int(C.rthooks_ctx_count()),
		"symbolizer_calls": int(C.rthooks_sym_count()),
	}, nil
}

var cgoTracebackStack string

func cgoTracebackG1() { C.rthooks_c2() }

func cgoTracebackG2() {
	pc := make([]uintptr, 64)
	n := runtime.Callers(0, pc)
	frames := runtime.CallersFrames(pc[:n])
	out := []string{}
	for {
		f, more := frames.Next()
		out = append(out, f.Function)
		if !more {
			break
		}
	}
	cgoTracebackFrames = out
	buf := make([]byte, 1<<16)
	cgoTracebackStack = string(buf[:runtime.Stack(buf, false)])
}

// cgo.lookup: net.LookupHost(host) (default "localhost") with the cgo
// driver's net package; reports {"ok": it found addresses}. Resolver
// choice shows on stderr with GODEBUG=netdns=...+1.
func opCgoLookup(r *runner, w *withArgs) (interface{}, error) {
	addrs, err := net.LookupHost(w.str("host", "localhost"))
	return map[string]interface{}{"ok": err == nil && len(addrs) > 0}, nil
}
