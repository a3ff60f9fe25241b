//go:build cgo && go1.21

package main

// The Go functions C calls back (see cgo_ops.go). A file with //export may
// only declare in its cgo preamble, so the C side lives in cgo_ops.go.

import "C"

import (
	"runtime"
	"sync/atomic"
)

//export rthooksForeignGo
func rthooksForeignGo(goexit C.int) {
	cgoForeignRan = 1
	if goexit != 0 {
		runtime.Goexit()
	}
	cgoForeignRan = 2
}

//export rthooksCThreadGo
func rthooksCThreadGo() {
	if atomic.AddInt32(&cgoThreadsArrived, 1) == cgoThreadsWant {
		cgoThreadsPeak = countThreads()
		close(cgoThreadsRelease)
	}
	<-cgoThreadsRelease
}

//export rthooksTracebackG1
func rthooksTracebackG1() { cgoTracebackG1() }

//export rthooksTracebackG2
func rthooksTracebackG2() { cgoTracebackG2() }
