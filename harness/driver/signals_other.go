//go:build !linux

package main

import (
	"errors"
	"syscall"
)

// Outside Linux only the portable signals are known by name.
var signalsByName = map[string]syscall.Signal{
	"SIGINT":  syscall.SIGINT,
	"SIGKILL": syscall.SIGKILL,
}

func raiseSignal(sig syscall.Signal) error {
	return errors.New("signal.raise is implemented for linux only")
}
