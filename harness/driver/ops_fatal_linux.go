package main

import (
	"bufio"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
)

// threadExhaustion lowers debug.SetMaxThreads to a few above the current
// thread count, then starts many goroutines that each lock their OS thread
// and block in read(2) on a pipe, so that each one needs a thread of its
// own until the runtime gives up with "thread exhaustion".
func threadExhaustion() func() {
	return func() {
		var fds [2]int
		if err := syscall.Pipe(fds[:]); err != nil {
			panic(err)
		}
		setMaxThreadsAbove(countThreads())
		for i := 0; i < 64; i++ {
			go func() {
				runtime.LockOSThread()
				var b [1]byte
				syscall.Read(fds[0], b[:])
			}()
		}
		select {}
	}
}

// countThreads reads the process's thread count from /proc; the
// threadcreate profile (threads ever created) is the fallback.
func countThreads() int {
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest := strings.TrimPrefix(sc.Text(), "Threads:"); rest != sc.Text() {
				if n, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil {
					return n
				}
			}
		}
	}
	return pprof.Lookup("threadcreate").Count()
}
