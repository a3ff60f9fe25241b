package main

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

// pprof.runtime-lock-contention {within_s}: with SetMutexProfileFraction(1),
// goroutines hammer one channel (whose lock is a runtime-internal lock)
// until the mutex profile holds a record of contention on a runtime lock
// or within_s (default 5) seconds pass. Reports {"lost_frame": a record
// whose stack is runtime._LostContendedRuntimeLock, "runtime_stacks": a
// record whose stack shows where a runtime lock was released
// (runtime.unlock), "runtime_frames": the functions of that record}.
func init() {
	registerOp("pprof.runtime-lock-contention", opRuntimeLockContention)
}

func opRuntimeLockContention(r *runner, w *withArgs) (interface{}, error) {
	deadline := time.Now().Add(time.Duration(w.float("within_s", 5) * float64(time.Second)))
	prev := runtime.SetMutexProfileFraction(1)
	defer runtime.SetMutexProfileFraction(prev)
	stop := make(chan struct{})
	ch := make(chan int, 1)
	var wg sync.WaitGroup
	n := 2 * runtime.GOMAXPROCS(0)
	if n < 4 {
		n = 4
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for j := 0; j < 100; j++ {
					select {
					case ch <- j:
					case <-ch:
					}
				}
			}
		}(i)
	}
	out := map[string]interface{}{"lost_frame": false, "runtime_stacks": false, "runtime_frames": nil}
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		var buf bytes.Buffer
		if err := pprof.Lookup("mutex").WriteTo(&buf, 1); err != nil {
			close(stop)
			wg.Wait()
			return nil, err
		}
		for _, rec := range strings.Split(buf.String(), "\n\n") {
			var funcs []interface{}
			lost, unlock := false, false
			for _, line := range strings.Split(rec, "\n") {
				f := strings.Split(line, "\t")
				if !strings.HasPrefix(line, "#\t") || len(f) < 3 {
					continue
				}
				fn := f[2]
				if i := strings.LastIndex(fn, "+0x"); i > 0 {
					fn = fn[:i]
				}
				funcs = append(funcs, fn)
				switch fn {
				case "runtime._LostContendedRuntimeLock":
					lost = true
				case "runtime.unlock":
					unlock = true
				}
			}
			if lost {
				out["lost_frame"] = true
			}
			if unlock {
				out["runtime_stacks"] = true
				out["runtime_frames"] = funcs
			}
		}
		if out["lost_frame"] == true || out["runtime_stacks"] == true {
			break
		}
	}
	close(stop)
	wg.Wait()
	return out, nil
}
