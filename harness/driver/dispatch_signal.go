package main

import (
	"os"
	"os/signal"
)

// Hand-written dispatch for os/signal. Signals are names ("SIGUSR1") or
// numbers; channels are handles from the signal.notify op (null is a nil
// channel). NotifyContext returns [ctx, stop] handles; the signal.recv op
// waits on such a ctx.
func init() {
	registerCalls(map[string]callImpl{
		"os/signal.Ignore": {fn: func(a *argList) []interface{} {
			signal.Ignore(a.r.parseSignals(a.vals)...)
			return noResults
		}},
		"os/signal.Ignored": {fn: func(a *argList) []interface{} {
			a.expect(1)
			return results(signal.Ignored(a.r.parseSignal(a.vals[0])))
		}},
		"os/signal.Notify": {fn: func(a *argList) []interface{} {
			a.atLeast(1)
			// Declared apart from the call: vet's sigchanyzer takes any
			// one-argument call for an unbuffered make.
			var c chan os.Signal
			c = a.sigChan(0)
			signal.Notify(c, a.r.parseSignals(a.vals[1:])...)
			return noResults
		}},
		"os/signal.NotifyContext": {fn: func(a *argList) []interface{} {
			a.atLeast(1)
			ctx, stop := signal.NotifyContext(a.ctx(0), a.r.parseSignals(a.vals[1:])...)
			return results(ctx, stop)
		}},
		"os/signal.Reset": {fn: func(a *argList) []interface{} {
			signal.Reset(a.r.parseSignals(a.vals)...)
			return noResults
		}},
		"os/signal.Stop": {fn: func(a *argList) []interface{} {
			a.expect(1)
			signal.Stop(a.sigChan(0))
			return noResults
		}},
	})
}

func (a *argList) sigChan(i int) chan os.Signal {
	switch c := a.get(i).(type) {
	case nil:
		return nil
	case chan os.Signal:
		return c
	}
	badArgs("%s: argument %d must be a signal channel handle or null", a.what, i)
	return nil
}
