package main

import (
	"runtime"
	"runtime/debug"
)

// opFatal provokes one of the runtime's unrecoverable failures. Each runs
// outside the step's recover (a tailCall), although only nil-deref would
// be recoverable at all.
func opFatal(r *runner, w *withArgs) (interface{}, error) {
	var fn func()
	switch kind := w.needStr("kind"); kind {
	case "deadlock":
		fn = fatalDeadlock
	case "concurrent-map-writes":
		fn = fatalConcurrentMapWrites
	case "stack-overflow":
		fn = fatalStackOverflow
	case "thread-exhaustion":
		fn = threadExhaustion()
	case "nil-deref":
		fn = func() { faultNilPtr.n = 1 }
	case "goexit-main":
		fn = func() {
			// "No other goroutines": the runtime reports the deadlock
			// only once the parked goroutines are gone too.
			r.parked.release()
			runtime.Goexit()
		}
	default:
		badArgs("op fatal: unknown kind %q", kind)
	}
	return tailCall{fn}, nil
}

// fatalDeadlock blocks the main goroutine on a channel nobody will ever
// use. The runtime reports "all goroutines are asleep" only if every other
// goroutine is blocked too, and (a runtime detail) never once os/signal has
// started its signal-receiving loop, which counts as running.
func fatalDeadlock() {
	never := make(chan struct{})
	<-never
}

// fatalConcurrentMapWrites writes one map from two goroutines until the
// runtime notices. The detection needs the writes to overlap, so at least
// two Ps must exist.
func fatalConcurrentMapWrites() {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	m := map[int]int{}
	for g := 0; g < 2; g++ {
		go func() {
			for i := 0; ; i++ {
				m[i%4096] = i
			}
		}()
	}
	select {}
}

// fatalStackOverflow recurses without bound until the stack passes the
// limit of debug.SetMaxStack (1 GB unless the case lowered it; under a
// small address-space limit the runtime may run out of memory first).
func fatalStackOverflow() {
	faultSink = recurse(0)
}

func recurse(depth int) int {
	var pad [256]byte
	pad[depth%len(pad)] = byte(depth)
	// The addition after the call keeps it from being a tail call (gccgo
	// would otherwise turn the recursion into a loop).
	return recurse(depth+1) + int(pad[(depth*7)%len(pad)])
}

// setMaxThreadsAbove lowers the thread limit to a few more than are
// running now, so that a handful of extra threads exhausts it.
func setMaxThreadsAbove(running int) {
	debug.SetMaxThreads(running + 4)
}
