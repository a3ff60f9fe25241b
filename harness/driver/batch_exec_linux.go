//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
)

// startWithEnv is the start-up-ahead mode (PROTOCOL.md, "Started ahead"):
// the harness starts the driver before it knows the program's environment
// (the sandbox, its namespaces and cgroup are most of a process's start-up);
// once it does, it writes a decimal byte count, a newline and that many bytes
// of {"env": ["K=V", ...]}, and the driver replaces itself (execve) with
// itself started normally with exactly that environment. The new image is a
// fresh runtime that reads GOGC, GODEBUG and the rest at its own start-up,
// and reads its program from the rest of stdin. Nothing is read past the
// environment, and nothing is written before the exec.
func startWithEnv(in *os.File, args []string) error {
	n := 0
	one := make([]byte, 1)
	for {
		if _, err := in.Read(one); err != nil {
			return fmt.Errorf("reading the environment's length: %v", err)
		}
		if one[0] == '\n' {
			break
		}
		if one[0] < '0' || one[0] > '9' || n > 1<<20 {
			return fmt.Errorf("the environment's length is not a small decimal number")
		}
		n = n*10 + int(one[0]-'0')
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(in, data); err != nil {
		return fmt.Errorf("reading the environment: %v", err)
	}
	var msg struct {
		Env []string `json:"env"`
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		return fmt.Errorf("decoding the environment: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(self, args, msg.Env)
}
