package main

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// The runtime's own trace API (runtime.StartTrace, ReadTrace, StopTrace),
// driven directly: trace.readtrace.start starts tracing and one reader
// goroutine that calls ReadTrace until it returns nil, keeping both each
// returned slice as returned and a copy of it; trace.readtrace.stop calls
// StopTrace and reports what the reader saw.
func init() {
	registerOp("trace.readtrace.start", opReadTraceStart)
	registerOp("trace.readtrace.stop", opReadTraceStop)
	registerOp("trace.readtrace.second-reader", opReadTraceSecondReader)
	registerOp("trace.readtrace.reuse", opReadTraceReuse)
}

type rawTraceReader struct {
	mu       sync.Mutex
	returned [][]byte // the slices as ReadTrace returned them
	copies   [][]byte
	empty    int // chunks of length 0 (not nil)
	done     chan struct{}
}

var rawTrace *rawTraceReader

func (t *rawTraceReader) run() {
	for {
		b := runtime.ReadTrace()
		if b == nil {
			close(t.done)
			return
		}
		c := make([]byte, len(b))
		copy(c, b)
		t.mu.Lock()
		if len(b) == 0 {
			t.empty++
		}
		t.returned = append(t.returned, b)
		t.copies = append(t.copies, c)
		t.mu.Unlock()
	}
}

func (t *rawTraceReader) bytes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.copies {
		n += len(c)
	}
	return n
}

func opReadTraceStart(r *runner, w *withArgs) (interface{}, error) {
	if err := runtime.StartTrace(); err != nil {
		return nil, err
	}
	if rawTrace != nil {
		select {
		case <-rawTrace.done:
		default:
			return nil, errors.New("trace.readtrace.start: the previous reader has not finished")
		}
	}
	rawTrace = &rawTraceReader{done: make(chan struct{})}
	go rawTrace.run()
	return nil, nil
}

// opReadTraceStop calls runtime.StopTrace and reports {"chunks", "empty",
// "bytes_at_stop" (what the reader had received when StopTrace returned),
// "bytes" (all it received before ReadTrace returned nil), "header" (the
// first chunk, NULs trimmed), "header_len", "ended": true}. with.file, if
// given, receives the whole trace.
func opReadTraceStop(r *runner, w *withArgs) (interface{}, error) {
	t := rawTrace
	if t == nil {
		return nil, errors.New("trace.readtrace.stop: no trace.readtrace.start")
	}
	runtime.StopTrace()
	atStop := t.bytes()
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		return nil, errors.New("trace.readtrace.stop: ReadTrace did not return nil within 10s of StopTrace")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var all []byte
	for _, c := range t.copies {
		all = append(all, c...)
	}
	if w.has("file") {
		if err := os.WriteFile(w.needStr("file"), all, 0o644); err != nil {
			return nil, err
		}
	}
	out := map[string]interface{}{
		"chunks":        len(t.copies),
		"empty":         t.empty,
		"bytes_at_stop": atStop,
		"bytes":         len(all),
		"ended":         true,
		"header":        nil,
		"header_len":    0,
	}
	if len(t.copies) > 0 {
		out["header"] = string(bytes.TrimRight(t.copies[0], "\x00"))
		out["header_len"] = len(t.copies[0])
	}
	// The slices as returned may point into buffers the runtime has freed:
	// forget them.
	t.returned = nil
	return out, nil
}

// opReadTraceSecondReader waits (up to with.within_s, default 5) until the
// reader goroutine is parked inside ReadTrace ("trace reader (blocked)" in
// its traceback), then calls ReadTrace from the step's goroutine. It
// reports {"reader_blocked": bool, "second": "nil" | "data", "tries": n}:
// "nil" when the second call returned nil at once. A call that got data
// (the reader had just been woken) hands it to the reader's record and
// tries again.
func opReadTraceSecondReader(r *runner, w *withArgs) (interface{}, error) {
	t := rawTrace
	if t == nil {
		return nil, errors.New("trace.readtrace.second-reader: no trace.readtrace.start")
	}
	deadline := time.Now().Add(time.Duration(w.float("within_s", 5) * float64(time.Second)))
	out := map[string]interface{}{"reader_blocked": false, "second": nil, "tries": 0}
	tries := 0
	for time.Now().Before(deadline) {
		if !readerBlocked() {
			runtime.Gosched()
			continue
		}
		out["reader_blocked"] = true
		tries++
		out["tries"] = tries
		b := runtime.ReadTrace()
		if b == nil {
			out["second"] = "nil"
			return out, nil
		}
		c := make([]byte, len(b))
		copy(c, b)
		t.mu.Lock()
		t.returned = append(t.returned, b)
		t.copies = append(t.copies, c)
		t.mu.Unlock()
		out["second"] = "data"
	}
	return out, nil
}

// readerBlocked reports whether some goroutine is parked in ReadTrace.
func readerBlocked() bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Contains(string(buf[:n]), "[trace reader (blocked)")
}

// opReadTraceReuse makes trace data (with.goroutines goroutines started
// and finished, default 200000) until the reader has received with.chunks
// chunks (default 24), then compares each slice as ReadTrace returned it
// with the copy taken at once: {"chunks": n, "changed": k (slices whose
// bytes changed after the next ReadTrace call), "shared": k (slices whose
// memory is also behind a later slice)}. Tracing must still be on.
func opReadTraceReuse(r *runner, w *withArgs) (interface{}, error) {
	t := rawTrace
	if t == nil {
		return nil, errors.New("trace.readtrace.reuse: no trace.readtrace.start")
	}
	want := w.int("chunks", 24)
	max := w.int("goroutines", 200000)
	var wg sync.WaitGroup
	for i := 0; i < max; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
		if i%1000 == 999 {
			wg.Wait()
			t.mu.Lock()
			n := len(t.returned)
			t.mu.Unlock()
			if n >= want {
				break
			}
		}
	}
	wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	changed, shared := 0, 0
	for i, b := range t.returned {
		if !bytes.Equal(b, t.copies[i]) {
			changed++
		}
		if len(b) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(&b[0]))
		for _, later := range t.returned[i+1:] {
			if len(later) > 0 && uintptr(unsafe.Pointer(&later[0])) == p {
				shared++
				break
			}
		}
	}
	return map[string]interface{}{"chunks": len(t.returned), "changed": changed, "shared": shared}, nil
}
