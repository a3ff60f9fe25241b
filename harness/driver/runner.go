package main

import (
	"fmt"
	"runtime"
)

// Step statuses (PROTOCOL.md, "Observations").
const (
	statusOK          = "ok"
	statusError       = "error"
	statusPanic       = "panic"
	statusUnsupported = "unsupported"
)

// outcome is what one attempt at a step produced.
type outcome struct {
	status string
	// values are the step's results as Go values, in order. For a call whose
	// last result is an error that was non-nil, values holds the other
	// results and err the error.
	values []interface{}
	err    error
	// recovered is the panic value of a "panic" outcome.
	recovered interface{}
	reason    string
}

// value is the step's value as the protocol shapes it: null for no result,
// the result itself for one, a list for several.
func (o *outcome) value() interface{} {
	switch len(o.values) {
	case 0:
		return nil
	case 1:
		return o.values[0]
	}
	return o.values
}

// runner executes the steps of one program on the main goroutine, so that
// per-goroutine state (LockOSThread, SetPanicOnFault, profiler labels) set
// by one step is seen by the next, as it would be in straight-line code.
type runner struct {
	obs      *observer
	enc      *encoder
	bindings map[string]interface{}
	objects  *objectTable
	parked   *parkedGoroutines
}

func newRunner(obs *observer) *runner {
	return &runner{
		obs:      obs,
		enc:      newEncoder(),
		bindings: map[string]interface{}{},
		objects:  newObjectTable(),
		parked:   &parkedGoroutines{},
	}
}

// runStep performs step i and writes its observation. A step that ends the
// process (os.Exit, a fatal error, an unrecovered panic, Goexit on the main
// goroutine) writes nothing, as PROTOCOL.md says.
func (r *runner) runStep(i int, st *step) {
	var out outcome
	var enc interface{}
	tries := 0
	if st.Until != nil {
		out, enc, tries = r.runUntil(st)
	} else {
		out = r.attempt(st)
		enc = r.encodeOutcome(&out)
	}
	if st.Bind != "" {
		switch out.status {
		case statusOK, statusError:
			r.bindings[st.Bind] = out.value()
		case statusPanic:
			// Binding the recovered value lets later steps call its methods
			// (runtime.PanicNilError.Error, runtime.TypeAssertionError.Error).
			r.bindings[st.Bind] = out.recovered
		}
	}
	obs := map[string]interface{}{"step": i, "status": out.status}
	switch out.status {
	case statusOK:
		obs["value"] = enc
	case statusError:
		obs["error"] = fmt.Sprint(out.err)
		if len(out.values) > 0 {
			obs["value"] = enc
		}
	case statusPanic:
		obs["panic"] = panicText(out.recovered)
		obs["panic_type"] = fmt.Sprintf("%T", out.recovered)
	case statusUnsupported:
		obs["reason"] = out.reason
	}
	if tries > 0 {
		obs["tries"] = tries
	}
	r.obs.write(obs)
}

// encodeOutcome encodes the outcome's value; if that fails the outcome
// becomes "unsupported".
func (r *runner) encodeOutcome(out *outcome) interface{} {
	enc, err := r.enc.encodeSafely(out.value())
	if err != nil {
		*out = outcome{status: statusUnsupported, reason: err.Error()}
	}
	return enc
}

// panicText is how a recovered value is reported: fmt.Sprint, which
// prints an error's Error() (and survives a panicking Error method). A nil
// value (panic(nil) under GODEBUG=panicnil=1) is "nil", as PROTOCOL.md says,
// not fmt's "<nil>".
func panicText(v interface{}) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(v)
}

// attempt performs a step once under a deferred recover. Ops that must end
// the process unprotected (an unrecovered panic, a fatal error) hand back a
// tailCall, which runs here after the recover is no longer on the stack.
func (r *runner) attempt(st *step) outcome {
	var tail func()
	out := r.protect(func() outcome {
		out := r.perform(st)
		if len(out.values) == 1 {
			if t, ok := out.values[0].(tailCall); ok {
				tail = t.fn
			}
		}
		return out
	})
	if tail != nil {
		tail()
		// Every tail ends the process or blocks for good (a deadlock the
		// runtime does not detect, for example once os/signal's receiver
		// is running); should one ever return, the step simply succeeded.
		return outcome{status: statusOK}
	}
	return out
}

// tailCall is returned by ops whose action must run outside the step's
// recover: it is the action itself.
type tailCall struct{ fn func() }

// protect runs fn, turning a panic into a "panic" outcome. Goexit also runs
// the deferred function, but then the goroutine ends and protect never
// returns, so no observation is written for it.
func (r *runner) protect(fn func() outcome) (out outcome) {
	finished := false
	defer func() {
		if finished {
			return
		}
		// recover() is nil both for Goexit and for panic(nil) with
		// GODEBUG=panicnil=1; only the latter ever returns from protect.
		out = panicOutcome(recover())
	}()
	out = fn()
	finished = true
	return out
}

// panicOutcome classifies a recovered value: the driver's own complaints
// about a step become "unsupported", everything else is the program's panic.
func panicOutcome(v interface{}) outcome {
	switch x := v.(type) {
	case *argError:
		return outcome{status: statusUnsupported, reason: badArgumentsPrefix + x.msg}
	case *unsupportedError:
		return outcome{status: statusUnsupported, reason: x.reason}
	case recoveredElsewhere:
		return outcome{status: statusPanic, recovered: x.v}
	}
	return outcome{status: statusPanic, recovered: v}
}

// recoveredElsewhere carries a panic recovered on another goroutine (the
// panic op with goroutine:true) back to the step, to be reported as the
// step's own panic.
type recoveredElsewhere struct{ v interface{} }

// perform runs a step without any protection of its own.
func (r *runner) perform(st *step) outcome {
	if st.Op != "" {
		return r.performOp(st)
	}
	return r.performCall(st)
}

func (r *runner) performCall(st *step) outcome {
	impl, ok := callTable[st.Call]
	if !ok {
		return outcome{status: statusUnsupported, reason: fmt.Sprintf(
			"go-driver built with %s has no dispatch for %s (not in this release or compiler)",
			runtime.Version(), st.Call)}
	}
	args := &argList{r: r, what: st.Call, vals: st.Args}
	values := impl.fn(args)
	if impl.errLast && len(values) > 0 {
		last := values[len(values)-1]
		values = values[:len(values)-1]
		if last != nil {
			return outcome{status: statusError, values: values, err: last.(error)}
		}
		// A nil error is still a result: (n, nil) reports [n, null].
		values = append(values, nil)
	}
	return outcome{status: statusOK, values: values}
}

func (r *runner) performOp(st *step) outcome {
	op, ok := opTable[st.Op]
	if !ok {
		return outcome{status: statusUnsupported, reason: "go-driver does not know op " + st.Op}
	}
	w := &withArgs{r: r, what: "op " + st.Op, m: st.With}
	v, err := op(r, w)
	if err != nil {
		var values []interface{}
		if v != nil {
			values = []interface{}{v}
		}
		return outcome{status: statusError, values: values, err: err}
	}
	if v == nil {
		return outcome{status: statusOK}
	}
	return outcome{status: statusOK, values: []interface{}{v}}
}

// argError is panicked by argument decoding. The step is reported as
// "unsupported" with a reason starting with badArgumentsPrefix, which
// PROTOCOL.md reserves for arguments that do not decode: the harness records
// the case as an error (the case asked for something no implementation can
// do), not as a skip (this implementation lacks the step).
type argError struct{ msg string }

// badArgumentsPrefix marks an "unsupported" reason as an argument-decoding
// failure (PROTOCOL.md, "Observations").
const badArgumentsPrefix = "bad arguments: "

func badArgs(format string, a ...interface{}) {
	panic(&argError{msg: fmt.Sprintf(format, a...)})
}

// unsupportedError is panicked by dispatch code for a step this build of
// the driver cannot perform.
type unsupportedError struct{ reason string }

func unsupported(format string, a ...interface{}) {
	panic(&unsupportedError{reason: fmt.Sprintf(format, a...)})
}
