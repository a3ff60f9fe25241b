package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

// A deferred chain (op process.defers): a function that defers the calls
// described by with.defers (in the order the defer statements run, so they
// execute in reverse) and whose body then panics, calls runtime.Goexit,
// os.Exit or returns (with.body). Each deferred call may record a tag (a
// line written to with.fd at once, so that it survives the process's end,
// and an entry of the op's value), recover (recording "tag=<value>"),
// panic with a new value, re-panic with the recovered value, or Goexit.
//
// With goroutine the chain runs on a new goroutine and the op waits for it
// and returns the recorded entries (ending with "returned" if the chain
// returned to its caller); otherwise it runs on the step's own
// goroutine outside the step's recover (a tailCall), so that an
// unrecovered panic, Goexit or os.Exit acts on the process for real.

type deferSpec struct {
	tag     string
	recov   bool
	panicV  *string
	repanic bool
	goexit  bool
}

type deferChain struct {
	defers []deferSpec
	body   string
	value  string
	code   int
	fd     int
	mu     sync.Mutex
	events []string
}

func (c *deferChain) record(s string) {
	c.mu.Lock()
	c.events = append(c.events, s)
	c.mu.Unlock()
	f := os.Stdout
	if c.fd == 2 {
		f = os.Stderr
	}
	f.WriteString(s + "\n")
}

func (c *deferChain) run(i int) {
	if i == len(c.defers) {
		c.runBody()
		return
	}
	d := c.defers[i]
	defer func() {
		var rec interface{}
		if d.recov {
			rec = recover()
		}
		if d.tag != "" {
			if d.recov {
				c.record(fmt.Sprintf("%s=%v", d.tag, rec))
			} else {
				c.record(d.tag)
			}
		}
		if d.repanic {
			panic(rec)
		}
		if d.panicV != nil {
			panic(*d.panicV)
		}
		if d.goexit {
			runtime.Goexit()
		}
	}()
	c.run(i + 1)
}

func (c *deferChain) runBody() {
	switch c.body {
	case "panic":
		panic(c.value)
	case "panic-nil-error":
		var err error
		panic(err)
	case "goexit":
		runtime.Goexit()
	case "exit":
		os.Exit(c.code)
	case "return":
	}
	c.record("body returned")
}

func opProcessDefers(r *runner, w *withArgs) (interface{}, error) {
	c := &deferChain{
		body:  w.str("body", "return"),
		value: w.str("value", "rthooks panic"),
		code:  w.int("code", 0),
		fd:    w.int("fd", 1),
	}
	switch c.body {
	case "panic", "panic-nil-error", "goexit", "exit", "return":
	default:
		badArgs("op process.defers: unknown body %q", c.body)
	}
	if w.has("defers") {
		list, ok := w.get("defers").([]interface{})
		if !ok {
			badArgs("op process.defers: with.defers must be a list of objects")
		}
		for _, item := range list {
			m, ok := item.(map[string]interface{})
			if !ok {
				badArgs("op process.defers: each defer must be an object")
			}
			dw := &withArgs{r: r, what: "op process.defers: a defer", m: m}
			d := deferSpec{
				tag:     dw.str("tag", ""),
				recov:   dw.bool("recover", false),
				repanic: dw.bool("repanic", false),
				goexit:  dw.bool("goexit", false),
			}
			if dw.has("panic") {
				v := dw.needStr("panic")
				d.panicV = &v
			}
			c.defers = append(c.defers, d)
		}
	}
	if !w.bool("goroutine", false) {
		return tailCall{func() { c.run(0) }}, nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(0)
		c.record("returned") // the chain returned: no Goexit, or a panic recovered
	}()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]interface{}, 0, len(c.events))
	for _, e := range c.events {
		out = append(out, e)
	}
	return out, nil
}

func init() {
	registerOp("process.defers", opProcessDefers)
}
