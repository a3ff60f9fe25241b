package main

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// parkedGoroutines are the goroutines of goroutines.start: they block on a
// channel until goroutines.stop closes it.
type parkedGoroutines struct {
	stop chan struct{}
	wg   sync.WaitGroup
	n    int
}

func opGoroutinesStart(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 1)
	locked := w.bool("locked", false)
	if n < 0 {
		badArgs("op goroutines.start: n must not be negative")
	}
	p := r.parked
	if p.stop == nil {
		p.stop = make(chan struct{})
	}
	// Return only once every goroutine runs (and holds its thread, when
	// locked), so that the very next step sees all of them.
	var started sync.WaitGroup
	started.Add(n)
	p.wg.Add(n)
	for i := 0; i < n; i++ {
		go func(stop chan struct{}) {
			defer p.wg.Done()
			if locked {
				runtime.LockOSThread()
			}
			started.Done()
			<-stop
		}(p.stop)
	}
	started.Wait()
	p.n += n
	return nil, nil
}

func opGoroutinesStop(r *runner, w *withArgs) (interface{}, error) {
	r.parked.release()
	return nil, nil
}

// release ends the parked goroutines and waits until they are gone.
func (p *parkedGoroutines) release() {
	if p.stop == nil {
		return
	}
	before := runtime.NumGoroutine()
	close(p.stop)
	p.wg.Wait()
	// wg.Done runs in a deferred call, a moment before each goroutine has
	// really exited; wait (boundedly) until NumGoroutine stops counting
	// them, so that the next step sees them gone.
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before-p.n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.stop = nil
	p.n = 0
}

// opGoexit runs runtime.Goexit on a new goroutine (and waits for it), or,
// with main, on the main goroutine itself: then the step never completes,
// the remaining goroutines keep running and the runtime reports a deadlock
// once they are all gone.
func opGoexit(r *runner, w *withArgs) (interface{}, error) {
	if w.bool("main", false) {
		helpers := w.int("helpers", 0)
		if helpers < 0 || helpers > 8 {
			badArgs("op goexit: helpers must be 0-8, got %d", helpers)
		}
		if helpers > 0 {
			defer close(goexitHelpers(helpers))
		}
		runtime.Goexit()
	}
	before := runtime.NumGoroutine()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.Goexit()
	}()
	<-done
	// The deferred close runs before Goexit has finished tearing the goroutine down: wait until it
	// is no longer counted, so a NumGoroutine right after the step sees it gone (on a slow machine,
	// qemu say, the teardown was seen still under way).
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return nil, nil
}

// goexitHelpers starts n goroutines for goexit with main (process:goexit-main#main-continues).
// Closing the returned channel (main's deferred call, run by Goexit) lets them go on: each
// waits until main's goroutine is no longer counted by NumGoroutine (at most 5 s), then, in
// turn, writes "goexit-helper K: main gone" (or "main still counted") to stdout and ends, so
// the lines come from a program whose main goroutine has exited, before the deadlock error.
func goexitHelpers(n int) chan struct{} {
	gone := make(chan struct{})
	withMain := runtime.NumGoroutine() + n // main and the helpers, before main exits
	prev := gone
	for k := 1; k <= n; k++ {
		turn := make(chan struct{})
		go func(k int, prev, turn chan struct{}) {
			defer close(turn)
			<-prev
			state := "main still counted"
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if runtime.NumGoroutine() < withMain-(k-1) {
					state = "main gone"
					break
				}
			}
			os.Stdout.WriteString("goexit-helper " + strconv.Itoa(k) + ": " + state + "\n")
		}(k, prev, turn)
		prev = turn
	}
	return gone
}
