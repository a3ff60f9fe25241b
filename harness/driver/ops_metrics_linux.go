package main

import (
	"sync"
	"syscall"
)

// Linux ops for runtime/metrics: process CPU time from the OS, memory mapped
// outside the Go heap, goroutines blocked in a system call.

func init() {
	registerOp("metrics.rusage", opMetricsRusage)
	registerOp("metrics.mmap", opMetricsMmap)
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

// metricsMappings keeps the syscall.Mmap regions alive (mapped) to the end.
var metricsMappings [][]byte

// opMetricsMmap maps bytes of anonymous memory with syscall.Mmap, writes
// every page, and keeps it mapped. Value: bytes.
func opMetricsMmap(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("bytes", 32<<20)
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	metricsMappings = append(metricsMappings, b)
	return n, nil
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
