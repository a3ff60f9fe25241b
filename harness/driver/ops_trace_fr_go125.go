//go:build go1.25

package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/trace"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Flight recorder concurrency (Go 1.25):
//
//	trace.fr.blocked-writeto {recorder, then, within_s}
//	    starts recorder.WriteTo on another goroutine into a writer whose
//	    first Write blocks; once WriteTo is inside that Write, does `then`:
//	    "writeto" (a second WriteTo on this goroutine) or "stop" (Stop on a
//	    third goroutine, given within_s seconds, default 2, to return while
//	    the first WriteTo is still blocked); then releases the writer. It
//	    reports {"first_n", "first_err", "second_n", "second_err",
//	    "order": ["stop", "writeto"] in the order they returned}.
//	trace.fr.enabled-concurrent {recorder, goroutines, iterations, toggle}
//	    goroutines call Enabled in a loop (iterations each) while this one,
//	    if toggle, calls Stop and Start on the recorder in turn (each
//	    goroutine then goes on calling Enabled until ten more toggles
//	    have completed, so writes land among its reads); reports
//	    {"values": the distinct results seen, sorted, "calls": n}
func init() {
	registerOp("trace.fr.blocked-writeto", opFRBlockedWriteTo)
	registerOp("trace.fr.enabled-concurrent", opFREnabledConcurrent)
}

type blockingWriter struct {
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return len(p), nil
}

func errText(err error) interface{} {
	if err == nil {
		return nil
	}
	return err.Error()
}

func opFRBlockedWriteTo(r *runner, w *withArgs) (interface{}, error) {
	fr, ok := w.get("recorder").(*trace.FlightRecorder)
	if !ok {
		badArgs("op trace.fr.blocked-writeto: with.recorder must be a *trace.FlightRecorder handle")
	}
	then := w.needStr("then")
	within := time.Duration(w.float("within_s", 2) * float64(time.Second))
	bw := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	type res struct {
		n   int64
		err error
	}
	first := make(chan res, 1)
	var mu sync.Mutex
	var order []interface{}
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	go func() {
		n, err := fr.WriteTo(bw)
		note("writeto")
		first <- res{n, err}
	}()
	select {
	case <-bw.entered:
	case r1 := <-first:
		return nil, fmt.Errorf("op trace.fr.blocked-writeto: WriteTo returned (%d, %v) without writing", r1.n, r1.err)
	case <-time.After(10 * time.Second):
		return nil, errors.New("op trace.fr.blocked-writeto: WriteTo did not write within 10s")
	}
	out := map[string]interface{}{"second_n": nil, "second_err": nil}
	switch then {
	case "writeto":
		n, err := fr.WriteTo(io.Discard)
		out["second_n"], out["second_err"] = n, errText(err)
		close(bw.release)
	case "stop":
		stopped := make(chan struct{})
		go func() {
			fr.Stop()
			note("stop")
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(within):
		}
		close(bw.release)
		<-stopped
	default:
		badArgs("op trace.fr.blocked-writeto: with.then must be \"writeto\" or \"stop\"")
	}
	r1 := <-first
	out["first_n"], out["first_err"] = r1.n, errText(r1.err)
	mu.Lock()
	out["order"] = order
	mu.Unlock()
	return out, nil
}

func opFREnabledConcurrent(r *runner, w *withArgs) (interface{}, error) {
	fr, ok := w.get("recorder").(*trace.FlightRecorder)
	if !ok {
		badArgs("op trace.fr.enabled-concurrent: with.recorder must be a *trace.FlightRecorder handle")
	}
	gs, iters, toggle := w.int("goroutines", 4), w.int("iterations", 2000), w.bool("toggle", false)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[bool]bool{}
	calls := 0
	done := make(chan struct{})
	// With toggle, the Enabled loops start only once Stop/Start toggling is under way,
	// so that they overlap it (a quick loop could otherwise end before the first toggle).
	toggling := make(chan struct{})
	var toggles atomic.Int64 // Stop/Start calls completed
	var quit atomic.Bool     // the toggling ended on an error
	if !toggle {
		close(toggling)
	}
	for g := 0; g < gs; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-toggling
			local := map[bool]bool{}
			n := 0
			for ; n < iters; n++ {
				local[fr.Enabled()] = true
			}
			if toggle {
				// Keep calling Enabled until ten more toggles have written
				// the recorder's state, so that writes land among this
				// goroutine's reads, unordered with them, however the
				// goroutines were scheduled: a long Start could otherwise
				// cover all the reads, and the final Wait would order them.
				for t := toggles.Load(); toggles.Load() < t+10 && !quit.Load(); n++ {
					local[fr.Enabled()] = true
				}
			}
			mu.Lock()
			for k := range local {
				seen[k] = true
			}
			calls += n
			mu.Unlock()
		}()
	}
	go func() { wg.Wait(); close(done) }()
	if toggle {
		first := true
	loop:
		for {
			select {
			case <-done:
				break loop
			default:
			}
			if fr.Enabled() {
				fr.Stop()
			} else if err := fr.Start(); err != nil {
				quit.Store(true)
				if first {
					close(toggling)
				}
				return nil, err
			}
			toggles.Add(1)
			if first {
				first = false
				close(toggling)
			}
		}
	}
	<-done
	var vals []bool
	for k := range seen {
		vals = append(vals, k)
	}
	sort.Slice(vals, func(i, j int) bool { return !vals[i] && vals[j] })
	list := []interface{}{}
	for _, v := range vals {
		list = append(list, v)
	}
	return map[string]interface{}{"values": list, "calls": calls}, nil
}
