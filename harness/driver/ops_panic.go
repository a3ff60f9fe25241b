package main

import (
	"errors"
	"fmt"
	"sort"
)

// opPanic panics with a value of the requested type: on the step's own
// goroutine or (goroutine) a new one; recovered (the default, reported as
// the step's "panic" outcome) or not, which crashes the process for real.
func opPanic(r *runner, w *withArgs) (interface{}, error) {
	trigger := panicTrigger(w)
	recoverIt := w.bool("recover", true)
	if w.bool("goroutine", false) {
		if !recoverIt {
			go trigger()
			select {} // the panicking goroutine ends the process
		}
		got := make(chan interface{}, 1)
		go func() {
			defer func() { got <- recover() }()
			trigger()
		}()
		panic(recoveredElsewhere{<-got})
	}
	if !recoverIt {
		// Outside the step's recover, so that the runtime prints the
		// panic as an ordinary unrecovered one.
		return tailCall{trigger}, nil
	}
	trigger()
	return nil, nil
}

// panicTrigger returns a function that panics as the op asks.
func panicTrigger(w *withArgs) func() {
	switch typ := w.str("type", "string"); typ {
	case "string":
		v := w.str("value", "rthooks panic")
		return func() { panic(v) }
	case "error":
		err := errors.New(w.str("value", "rthooks error"))
		return func() { panic(err) }
	case "int":
		v := w.int("value", 1)
		return func() { panic(v) }
	case "stringer":
		// A fmt.Stringer that is no error: the runtime prints it with String().
		v := panicStringer{w.str("value", "rthooks stringer")}
		return func() { panic(v) }
	case "nil":
		return func() { panic(nil) }
	case "nil-error":
		// A nil interface value of a non-empty interface type: the same
		// as panic(nil) at run time.
		return func() {
			var err error
			panic(err)
		}
	case "runtime-error":
		kind := w.str("value", "index")
		fn, ok := runtimeErrors[kind]
		if !ok {
			badArgs("op panic: unknown runtime-error %q (known: %v)", kind, runtimeErrorKinds())
		}
		return fn
	default:
		badArgs("op panic: unknown type %q", typ)
	}
	return nil
}

// panicStringer is a panic value that implements fmt.Stringer and not error
// (a struct, so that printing it without String would look nothing alike).
type panicStringer struct{ text string }

func (s panicStringer) String() string { return s.text }

// Package-level operands, so that the compiler cannot see the faults
// coming and reject or fold them.
var (
	faultIndex   = 5
	faultSlice   = []int{1, 2, 3}
	faultZero    = 0
	faultNilMap  map[string]int
	faultNilPtr  *struct{ n int }
	faultIface   interface{} = 42
	faultNilIntf interface{}
)

// runtimeErrors are real runtime errors, each raised by the operation
// that names it. The type-assertion variants produce the message forms of
// runtime.TypeAssertionError's clauses.
var runtimeErrors = map[string]func(){
	"index":          func() { faultSlice[faultIndex] = 1 },
	"slice":          func() { faultSink = faultSlice[faultIndex:] },
	"divide":         func() { faultIndex = faultIndex / faultZero },
	"nil-map":        func() { faultNilMap["x"] = 1 },
	"nil-deref":      func() { faultNilPtr.n = 1 },
	"closed-channel": func() { c := make(chan int); close(c); close(c) },
	"type-assertion": func() { faultSink = faultIface.(string) },
	"type-assertion-nil": func() {
		faultSink = faultNilIntf.(string)
	},
	"type-assertion-method": func() { faultSink = faultIface.(fmt.Stringer) },
	"type-assertion-same-name": func() {
		type T int
		assertOtherT(T(0))
	},
}

var faultSink interface{}

// assertOtherT asserts to a type spelled like its caller's T but declared
// in another scope.
func assertOtherT(v interface{}) {
	type T int
	faultSink = v.(T)
}

func runtimeErrorKinds() []string {
	var ks []string
	for k := range runtimeErrors {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// recoverRuntimeError raises the named runtime error and returns what
// recover() saw (a runtime.Error such as *runtime.TypeAssertionError).
func recoverRuntimeError(kind string) (v interface{}) {
	fn, ok := runtimeErrors[kind]
	if !ok {
		badArgs("unknown runtime error %q (known: %v)", kind, runtimeErrorKinds())
	}
	defer func() { v = recover() }()
	fn()
	return nil
}
