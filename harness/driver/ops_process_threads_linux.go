package main

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Thread identity ops (Linux: thread ids from gettid(2), threads from
// /proc/self/task). initTid is the thread the package's initialisation ran
// on; with RTHOOKS_INIT_LOCKOSTHREAD=1 in the environment an init function
// calls runtime.LockOSThread (and never unlocks), so main runs on that
// thread.

var initTid = syscall.Gettid()

var initLocked bool

func init() {
	if os.Getenv("RTHOOKS_INIT_LOCKOSTHREAD") == "1" {
		runtime.LockOSThread()
		initLocked = true
	}
}

// threadState is the state letter of a thread of this process (R, S, Z,
// ...), or "" once its /proc entry is gone.
func threadState(tid int) string {
	data, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		return ""
	}
	if i := bytes.LastIndexByte(data, ')'); i >= 0 && i+2 < len(data) {
		return string(data[i+2 : i+3])
	}
	return ""
}

// opThreadsIDs reports the process id, the thread the step runs on, the
// startup (init) thread and whether init locked it; with yields > 0 it
// also blocks that many times (a sleep, a Gosched, a GC) and reports
// whether every resumption was on the startup thread.
func opThreadsIDs(r *runner, w *withArgs) (interface{}, error) {
	pid := os.Getpid()
	tid := syscall.Gettid()
	onStartup := tid == pid
	tids := map[int]bool{tid: true}
	for i := 0; i < w.int("yields", 0); i++ {
		switch i % 3 {
		case 0:
			time.Sleep(100 * time.Microsecond)
		case 1:
			runtime.Gosched()
		case 2:
			runtime.GC()
		}
		t := syscall.Gettid()
		tids[t] = true
		if t != pid {
			onStartup = false
		}
	}
	return map[string]interface{}{
		"pid":              pid,
		"tid":              tid,
		"init_tid":         initTid,
		"init_locked":      initLocked,
		"threads_seen":     len(tids),
		"on_startup_every": onStartup,
	}, nil
}

// spawnTid starts a goroutine, blocks until it reports its thread id and
// returns it: with GOMAXPROCS 1 the new goroutine is the next one the
// caller's P runs, on the caller's thread unless that thread is locked to
// the caller.
func spawnTid() int {
	c := make(chan int, 1)
	go func() { c <- syscall.Gettid() }()
	return <-c
}

// opThreadsLockProbe runs, with GOMAXPROCS temporarily 1, a goroutine that
// calls LockOSThread with.nest times (default 2) and then: blocks in
// several ways and checks it always resumes on its thread T; starts
// goroutines (tries each, default 5) and counts those that ran on T; then
// undoes one lock at a time, counting again after each.
func opThreadsLockProbe(r *runner, w *withArgs) (interface{}, error) {
	nest := w.int("nest", 2)
	tries := w.int("tries", 5)
	if nest < 1 || tries < 1 {
		badArgs("op process.threads.lock-probe: nest and tries must be at least 1")
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	res := make(chan map[string]interface{})
	go func() {
		for i := 0; i < nest; i++ {
			runtime.LockOSThread()
		}
		t := syscall.Gettid()
		same := true
		for i := 0; i < 20; i++ {
			switch i % 4 {
			case 0:
				time.Sleep(50 * time.Microsecond)
			case 1:
				runtime.Gosched()
			case 2:
				spawnTid()
			case 3:
				runtime.GC()
			}
			if syscall.Gettid() != t {
				same = false
			}
		}
		count := func() int {
			n := 0
			for i := 0; i < tries; i++ {
				if spawnTid() == t {
					n++
				}
			}
			return n
		}
		// others[k] counts goroutines that ran on T with k locks left.
		others := make([]interface{}, nest+1)
		others[nest] = count()
		for k := nest - 1; k >= 0; k-- {
			runtime.UnlockOSThread()
			others[k] = count()
		}
		res <- map[string]interface{}{"same_thread": same, "others_on_thread": others}
	}()
	return <-res, nil
}

// opThreadsExitLocked starts a goroutine that (with locked) calls
// LockOSThread, notes its thread and ends (how: "return" or "goexit")
// without unlocking; it is retried should it land on the main thread. The
// op then waits up to within_s for the thread to leave /proc/self/task (or
// to become a zombie) and reports {tid, gone}.
//
// A try that lands on the main thread holds it (locked, blocked) until the
// op ends, so that the next try lands elsewhere: the main thread, idle
// again at once, was otherwise the thread the next try got, every time
// (go1.27.3 under load: "kept landing on the main thread" after 100 tries).
func opThreadsExitLocked(r *runner, w *withArgs) (interface{}, error) {
	locked := w.bool("locked", true)
	how := w.str("how", "return")
	if how != "return" && how != "goexit" {
		badArgs("op process.threads.exit-locked: how must be return or goexit")
	}
	within := time.Duration(w.float("within_s", 1) * float64(time.Second))
	pid := os.Getpid()
	var tid int
	// The step's goroutine stays on its thread while it waits, so that the
	// new goroutine runs on another one (and, mostly, not the main thread).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	release := make(chan struct{})
	defer close(release)
	for attempt := 0; attempt < 100; attempt++ {
		c := make(chan int, 1)
		go func() {
			runtime.LockOSThread()
			t := syscall.Gettid()
			if t == pid {
				// Not here: exiting locked on the main thread wedges it.
				// Hold it until the op ends, so the next try lands elsewhere.
				c <- 0
				<-release
				runtime.UnlockOSThread()
				return
			}
			if !locked {
				runtime.UnlockOSThread()
			}
			c <- t
			if how == "goexit" {
				runtime.Goexit()
			}
		}()
		if tid = <-c; tid != 0 {
			break
		}
	}
	if tid == 0 {
		return nil, errors.New("process.threads.exit-locked: the goroutine kept landing on the main thread")
	}
	deadline := time.Now().Add(within)
	gone := false
	for {
		if s := threadState(tid); s == "" || s == "Z" || s == "X" {
			gone = true
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return map[string]interface{}{"tid": tid, "gone": gone}, nil
}

// opThreadsWedgeMain waits (up to within_s) until the step's goroutine
// runs on the main thread, then starts a goroutine that locks the thread
// it runs on and, if that is the main thread, exits locked. It reports
// whether that happened (landed), and the main thread's state afterwards:
// the runtime parks ("wedges") the main thread instead of terminating it.
func opThreadsWedgeMain(r *runner, w *withArgs) (interface{}, error) {
	within := time.Duration(w.float("within_s", 5) * float64(time.Second))
	pid := os.Getpid()
	deadline := time.Now().Add(within)
	landed, tries := false, 0
	for !landed && time.Now().Before(deadline) {
		if syscall.Gettid() != pid {
			time.Sleep(20 * time.Microsecond)
			continue
		}
		tries++
		c := make(chan bool, 1)
		go func() {
			runtime.LockOSThread()
			if syscall.Gettid() == pid {
				c <- true
				return // exits locked on the main thread
			}
			runtime.UnlockOSThread()
			c <- false
		}()
		landed = <-c
	}
	state := threadState(pid)
	if landed {
		// Wait until the main thread has gone to sleep (or died).
		for state == "R" && time.Now().Before(deadline.Add(time.Second)) {
			time.Sleep(time.Millisecond)
			state = threadState(pid)
		}
	}
	return map[string]interface{}{"landed": landed, "tries": tries, "main_state": state}, nil
}

// opGoschedProbe, with GOMAXPROCS temporarily 1, makes a goroutine
// runnable, notes whether it has run (it cannot have: the caller holds the
// only P), then calls Gosched until it has run (at most 10 times) and
// reports {ran_before, yields}.
func opGoschedProbe(r *runner, w *withArgs) (interface{}, error) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	var ran int32
	go func() { atomic.StoreInt32(&ran, 1) }()
	before := atomic.LoadInt32(&ran) == 1
	n := 0
	for atomic.LoadInt32(&ran) == 0 && n < 10 {
		runtime.Gosched()
		n++
	}
	return map[string]interface{}{"ran_before": before, "ran": atomic.LoadInt32(&ran) == 1, "yields": n}, nil
}

func init() {
	registerOp("process.threads.ids", opThreadsIDs)
	registerOp("process.threads.lock-probe", opThreadsLockProbe)
	registerOp("process.threads.exit-locked", opThreadsExitLocked)
	registerOp("process.threads.wedge-main", opThreadsWedgeMain)
	registerOp("process.gosched-probe", opGoschedProbe)
}
