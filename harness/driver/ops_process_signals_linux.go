package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process and signal ops that need Linux: writes to broken pipes, contexts
// for NotifyContext, and a child copy of the driver for the job-control
// signals (whose default action stops the process).

// opSigpipeWrite writes with.text to a pipe whose read end is closed:
// through fd 1 or 2 (the pipe is dup'ed over it for the write, through
// os.Stdout / os.Stderr, and the descriptor restored afterwards), or
// (fd "pipe") through the os.Pipe write end itself. It reports {n, error,
// epipe}; without Notify for SIGPIPE the write on fd 1 or 2 ends the
// process instead.
func opSigpipeWrite(r *runner, w *withArgs) (interface{}, error) {
	text := w.str("text", "x\n")
	target := "pipe"
	if w.has("fd") {
		switch v := w.get("fd").(type) {
		case string:
			target = v
		default:
			if n, ok := toInt64(v); ok {
				target = strconv.FormatInt(n, 10)
			}
		}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	pr.Close()
	defer pw.Close()
	var n int
	switch target {
	case "pipe":
		n, err = pw.WriteString(text)
	case "1", "2":
		fd := 1
		f := os.Stdout
		if target == "2" {
			fd, f = 2, os.Stderr
		}
		saved, derr := syscall.Dup(fd)
		if derr != nil {
			return nil, derr
		}
		if derr := syscall.Dup3(int(pw.Fd()), fd, 0); derr != nil {
			syscall.Close(saved)
			return nil, derr
		}
		n, err = f.WriteString(text)
		syscall.Dup3(saved, fd, 0)
		syscall.Close(saved)
	default:
		badArgs("op process.sigpipe.write: fd must be 1, 2 or \"pipe\"")
	}
	out := map[string]interface{}{"n": n, "error": nil, "epipe": errors.Is(err, syscall.EPIPE)}
	if err != nil {
		out["error"] = err.Error()
	}
	return out, nil
}

// opContextParent returns [ctx, cancel] of context.WithCancel on
// context.Background, a parent for os/signal.NotifyContext.
func opContextParent(r *runner, w *withArgs) (interface{}, error) {
	ctx, cancel := context.WithCancel(context.Background())
	return []interface{}{ctx, cancel}, nil
}

// opContextCancel calls a context.CancelFunc (a parent's cancel, or the
// stop function of NotifyContext).
func opContextCancel(r *runner, w *withArgs) (interface{}, error) {
	switch f := w.get("func").(type) {
	case context.CancelFunc:
		f()
	case func():
		f()
	default:
		badArgs("op signal.context.cancel: with.func must be a CancelFunc handle, got %T", f)
	}
	return nil, nil
}

// childEnv names the job of a child copy of the driver (see init below).
const childEnv = "RTHOOKS_PROCESS_CHILD"

// opChildSignal runs a copy of the driver in a process group of its own
// (so that the job-control signals are not discarded as they are in an
// orphaned group) that sends itself with.signal, having first called
// Notify for it if with.notify. It reports how the child fared: stopped
// (the signal that stopped it, after which it is continued with SIGCONT)
// and exit (the child's status: 7 continued after a stop, 8 never stopped,
// 10 the signal arrived on its Notify channel, 11 it did not).
func opChildSignal(r *runner, w *withArgs) (interface{}, error) {
	sig := r.parseSignal(w.get("signal"))
	job := "signal:" + signalName(sig)
	if w.bool("notify", false) {
		job += ":notify"
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+job)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	out := map[string]interface{}{"stopped": nil, "exit": nil, "signal": nil}
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil); err != nil {
			if err == syscall.EINTR {
				continue
			}
			return out, err
		}
		switch {
		case ws.Stopped():
			out["stopped"] = signalName(ws.StopSignal())
			syscall.Kill(pid, syscall.SIGCONT)
			continue
		case ws.Exited():
			out["exit"] = ws.ExitStatus()
		case ws.Signaled():
			out["signal"] = signalName(ws.Signal())
		}
		return out, nil
	}
}

// A child copy of the driver does its job in init, before main reads a
// program, and exits.
func init() {
	job := os.Getenv(childEnv)
	if job == "" {
		return
	}
	parts := strings.Split(job, ":")
	if len(parts) < 2 || parts[0] != "signal" {
		os.Exit(90)
	}
	sig, ok := signalsByName[parts[1]]
	if !ok {
		os.Exit(91)
	}
	if len(parts) > 2 && parts[2] == "notify" {
		c := make(chan os.Signal, 1)
		signal.Notify(c, sig)
		syscall.Kill(os.Getpid(), sig)
		select {
		case <-c:
			os.Exit(10)
		case <-time.After(5 * time.Second):
			os.Exit(11)
		}
	}
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	syscall.Kill(os.Getpid(), sig)
	select {
	case <-cont:
		os.Exit(7)
	case <-time.After(5 * time.Second):
		os.Exit(8)
	}
}

func init() {
	registerOp("process.sigpipe.write", opSigpipeWrite)
	registerOp("signal.context.parent", opContextParent)
	registerOp("signal.context.cancel", opContextCancel)
	registerOp("process.child.signal", opChildSignal)
}
