package main

import (
	"os"
	"syscall"
)

// The "fault" runtime error reads a PROT_NONE page: a memory fault at a
// non-nil address, which crashes the program unless the goroutine called
// debug.SetPanicOnFault(true), when it is a recoverable runtime.Error.
func init() {
	runtimeErrors["fault"] = faultRead
}

func faultRead() {
	mem, err := syscall.Mmap(-1, 0, os.Getpagesize(), syscall.PROT_NONE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	faultSink = mem[0]
}
