package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// parseSignal reads a signal argument: a name ("SIGUSR1", or "USR1") or a
// number.
func (r *runner) parseSignal(v interface{}) syscall.Signal {
	v = r.resolve(v)
	if s, ok := v.(syscall.Signal); ok {
		return s
	}
	if s, ok := v.(string); ok {
		name := strings.ToUpper(s)
		if !strings.HasPrefix(name, "SIG") {
			name = "SIG" + name
		}
		if sig, ok := signalsByName[name]; ok {
			return sig
		}
		badArgs("unknown signal %q", s)
	}
	if n, ok := toInt64(v); ok && n > 0 && n < 128 {
		return syscall.Signal(n)
	}
	badArgs("a signal must be a name or a number, got %v", v)
	return 0
}

func (r *runner) parseSignals(vs []interface{}) []os.Signal {
	out := make([]os.Signal, 0, len(vs))
	for _, v := range vs {
		out = append(out, r.parseSignal(v))
	}
	return out
}

// signalName spells a signal the way cases do, "SIGUSR1".
func signalName(s os.Signal) string {
	if sig, ok := s.(syscall.Signal); ok {
		for name, v := range signalsByName {
			if v == sig {
				return name
			}
		}
		return "SIG" + strconv.Itoa(int(sig))
	}
	return s.String()
}

// opSignalNotify makes a channel (with.buffer, default 1), registers it
// with signal.Notify for with.signals (all signals if absent or empty) and
// returns its handle.
func opSignalNotify(r *runner, w *withArgs) (interface{}, error) {
	buffer := w.int("buffer", 1)
	var names []interface{}
	for _, s := range w.strs("signals") {
		names = append(names, s)
	}
	sigs := r.parseSignals(names)
	if buffer < 0 {
		badArgs("op signal.notify: buffer must not be negative")
	}
	c := make(chan os.Signal, buffer)
	signal.Notify(c, sigs...)
	return c, nil
}

func opSignalRaise(r *runner, w *withArgs) (interface{}, error) {
	return nil, raiseSignal(r.parseSignal(w.get("signal")))
}

// opSignalRecv waits up to with.within_s (default 1) seconds for a signal
// on a channel from signal.notify, and returns its name or null. Given the
// context of os/signal.NotifyContext instead, it waits for the context to
// be done and returns {"err", "cause", "cause_is_canceled", "string"}.
func opSignalRecv(r *runner, w *withArgs) (interface{}, error) {
	within := time.Duration(w.float("within_s", 1) * float64(time.Second))
	timer := time.NewTimer(within)
	// Stopped at once, so that no timer is left pending: a pending timer
	// would delay the runtime's deadlock detection.
	defer timer.Stop()
	switch c := w.get("channel").(type) {
	case chan os.Signal:
		select {
		case s := <-c:
			return signalName(s), nil
		case <-timer.C:
			return nil, nil
		}
	case context.Context:
		select {
		case <-c.Done():
			return map[string]interface{}{
				"err":               c.Err().Error(),
				"cause":             contextCause(c),
				"cause_is_canceled": contextCauseIsCanceled(c),
				"string":            fmt.Sprint(c),
			}, nil
		case <-timer.C:
			return nil, nil
		}
	default:
		badArgs("op signal.recv: with.channel must be a signal channel or a context handle, got %T", c)
	}
	return nil, nil
}

func init() {
	registerOp("signal.notify", opSignalNotify)
	registerOp("signal.raise", opSignalRaise)
	registerOp("signal.recv", opSignalRecv)
}
