package main

import (
	"sync"
	"syscall"
)

// Linux ops for runtime/metrics: process CPU time from the OS and goroutines
// blocked in a system call (memory mapped outside the Go heap is runtime.mmap).

func init() {
	registerOp("metrics.rusage", opMetricsRusage)
	registerOp("metrics.syscall.start", opMetricsSyscallStart)
	registerOp("metrics.syscall.stop", opMetricsSyscallStop)
}

// opMetricsRusage returns the process's CPU time as the OS counts it
// (getrusage user + system), in seconds.
func opMetricsRusage(r *runner, w *withArgs) (interface{}, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nil, err
	}
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return sec(ru.Utime) + sec(ru.Stime), nil
}

// metricsInSyscall holds the goroutines blocked in read(2) on a pipe.
var metricsInSyscall struct {
	fds [2]int
	n   int
	wg  sync.WaitGroup
}

// opMetricsSyscallStart starts n goroutines each blocked in a read(2) system
// call on a pipe nobody writes to yet. Value: n.
func opMetricsSyscallStart(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 3)
	s := &metricsInSyscall
	if s.n == 0 {
		if err := syscall.Pipe(s.fds[:]); err != nil {
			return nil, err
		}
	}
	var started sync.WaitGroup
	started.Add(n)
	s.wg.Add(n)
	for i := 0; i < n; i++ {
		go func(fd int) {
			defer s.wg.Done()
			buf := make([]byte, 1)
			started.Done()
			syscall.Read(fd, buf)
		}(s.fds[0])
	}
	started.Wait()
	s.n += n
	return n, nil
}

// opMetricsSyscallStop writes one byte per blocked reader, waits for them and
// closes the pipe.
func opMetricsSyscallStop(r *runner, w *withArgs) (interface{}, error) {
	s := &metricsInSyscall
	if s.n == 0 {
		return nil, nil
	}
	syscall.Write(s.fds[1], make([]byte, s.n))
	s.wg.Wait()
	syscall.Close(s.fds[0])
	syscall.Close(s.fds[1])
	s.n = 0
	return nil, nil
}
