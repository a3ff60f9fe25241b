package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
)

// callback is what the driver passes for a func-typed parameter
// (pprof.Do's f, pprof.ForLabels's f, trace.WithRegion's fn, the function
// of SetFinalizer and AddCleanup). From JSON it is null (a function that
// does nothing and returns true) or an object:
//
//	"tag": "t"         record t in the `ran` list on each call; a tag with
//	                   % verbs is formatted with the call's arguments
//	                   ("%s=%s" for ForLabels' key and value)
//	"bind": "name"     bind the call's argument(s) (Do's context) to name
//	"steps": [...]     run these steps inside the call, unobserved; their
//	                   own binds persist (for example a profile.write
//	                   inside pprof.Do)
//	"panic": v         panic with v after the steps
//	"return": false    the result for functions returning bool (default
//	                   true); "stop_after": n returns false from the nth call
//	"capture": "$x"    make the function a closure that holds this value
//	                   (AddCleanup's closes-over-ptr clauses)
//
// Callbacks that the runtime runs on its own goroutines (finalizers,
// cleanups) may only record tags.
type callback struct {
	r         *runner
	tag       string
	bind      string
	steps     []step
	panics    bool
	panicVal  interface{}
	result    bool
	stopAfter int32
	capture   interface{}
	calls     int32
}

func (r *runner) callback(v interface{}, async bool) *callback {
	c := &callback{r: r, result: true}
	if v == nil {
		return c
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		badArgs("a function argument must be null or an object, got %v", v)
	}
	w := &withArgs{r: r, what: "function argument", m: m}
	for k := range m {
		switch k {
		case "tag":
			c.tag = w.str("tag", "")
		case "return":
			c.result = w.bool("return", true)
		case "stop_after":
			c.stopAfter = int32(w.int("stop_after", 0))
		case "capture":
			c.capture = w.get("capture")
		case "bind", "steps", "panic":
			if async {
				badArgs("a function the runtime calls on its own goroutine may only record a tag, not %q", k)
			}
			switch k {
			case "bind":
				c.bind = w.needStr("bind")
			case "steps":
				c.steps = decodeSteps(m["steps"])
			case "panic":
				c.panics = true
				c.panicVal = r.toGo(m["panic"])
			}
		default:
			badArgs("unknown key %q in a function argument", k)
		}
	}
	return c
}

// decodeSteps turns the JSON of nested steps back into steps.
func decodeSteps(v interface{}) []step {
	raw, err := json.Marshal(v)
	if err != nil {
		badArgs("steps: %v", err)
	}
	var steps []step
	if err := decodeInto(raw, &steps); err != nil {
		badArgs("steps: %v", err)
	}
	return steps
}

// fire runs the callback for one call with the given arguments and
// returns its boolean result.
func (c *callback) fire(args ...interface{}) bool {
	n := atomic.AddInt32(&c.calls, 1)
	if c.tag != "" {
		tag := c.tag
		if strings.Contains(tag, "%") {
			tag = fmt.Sprintf(tag, args...)
		}
		recordRan(tag)
	}
	if c.bind != "" {
		switch len(args) {
		case 0:
			c.r.bindings[c.bind] = nil
		case 1:
			c.r.bindings[c.bind] = args[0]
		default:
			c.r.bindings[c.bind] = args
		}
	}
	for i := range c.steps {
		c.r.performNested(&c.steps[i])
	}
	if c.panics {
		panic(c.panicVal)
	}
	if c.stopAfter > 0 && n >= c.stopAfter {
		return false
	}
	return c.result
}

// performNested runs a step inside a callback: no observation, no recover
// (a panic propagates through the function that called the callback, as
// it would in Go), but binds are kept.
func (r *runner) performNested(st *step) {
	out := r.perform(st)
	if len(out.values) == 1 {
		if t, ok := out.values[0].(tailCall); ok {
			t.fn()
		}
	}
	switch out.status {
	case statusUnsupported:
		unsupported("nested step: %s", out.reason)
	case statusOK, statusError:
		if st.Bind != "" {
			r.bindings[st.Bind] = out.value()
		}
	}
}
