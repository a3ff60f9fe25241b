//go:build !linux

package main

import (
	"errors"
	"os"
)

// startWithEnv: starting ahead is Linux-only (the harness's sandbox is).
func startWithEnv(in *os.File, args []string) error {
	return errors.New("--exec-env is not supported on this system")
}
