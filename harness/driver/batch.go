package main

// Batch mode (PROTOCOL.md, "Batch mode"): one driver process runs many
// programs, so that a harness generating thousands of small programs (rthooks
// fuzz) does not pay a process start-up for each. A program must observe what
// it would observe in a fresh process, so between programs the driver puts
// back every piece of process state the programs it accepts can change, and a
// program with a step the driver cannot undo ends the batch: the driver
// reports it as usual, then says it will not go on, and exits.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// batchFlag starts batch mode; its value is the harness's nonce, which the
// markers on stdout and stderr carry so that no program output can fake one.
const batchFlag = "--batch="

// batchNonce finds --batch=NONCE among the arguments. A nonce is 1-64
// letters and digits: anything else is not batch mode, which keeps the
// marker free of bytes that would need escaping.
func batchNonce(args []string) (string, bool) {
	for _, a := range args {
		if !strings.HasPrefix(a, batchFlag) {
			continue
		}
		nonce := a[len(batchFlag):]
		if len(nonce) == 0 || len(nonce) > 64 {
			return "", false
		}
		for _, c := range nonce {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return "", false
			}
		}
		return nonce, true
	}
	return "", false
}

// batchCalls are the calls whose effects the batch undoes: the setters of
// the fuzzer's debug area. Each one's state is put back by startState.restore.
var batchCalls = map[string]bool{
	"runtime/debug.SetGCPercent":      true,
	"runtime/debug.SetMemoryLimit":    true,
	"runtime/debug.SetMaxStack":       true,
	"runtime/debug.SetMaxThreads":     true,
	"runtime/debug.SetTraceback":      true,
	"runtime.GOMAXPROCS":              true,
	"runtime.SetMutexProfileFraction": true,
	"runtime.SetBlockProfileRate":     true,
	// Only with a rate <= 0 (see undoable): a profiler once started keeps
	// its buffer until a reader drains it, and only runtime/pprof's reader
	// can, so SetCPUProfileRate(hz > 0) has a lasting effect (a later
	// SetCPUProfileRate(hz > 0) prints "cannot set cpu profile rate").
	"runtime.SetCPUProfileRate": true,
}

// batchOps are the ops whose effects the batch undoes (or that have none).
var batchOps = map[string]bool{
	"runtime.memprofilerate": true, // MemProfileRate, put back by restore
	"version":                true,
}

// undoable says whether the batch can put back everything step st may have
// changed.
func undoable(st *step) bool {
	if st.Op != "" {
		return batchOps[st.Op]
	}
	if !batchCalls[st.Call] {
		return false
	}
	if st.Call == "runtime.SetCPUProfileRate" {
		if len(st.Args) != 1 {
			return false
		}
		n, ok := st.Args[0].(json.Number)
		if !ok {
			return false
		}
		hz, err := strconv.ParseInt(string(n), 10, 64)
		return err == nil && hz <= 0
	}
	return true
}

// startState is the process state a batch program may change, as it was
// before the first program ran.
type startState struct {
	gcPercent     int
	memoryLimit   int64
	maxStack      int
	maxThreads    int
	traceback     string
	procs         int
	memRate       int
	mutexFraction int
}

// captureStartState reads the start-up values. SetGCPercent, SetMaxStack and
// SetMaxThreads have no getter: each is set and at once set back.
func captureStartState() *startState {
	s := &startState{}
	s.gcPercent = debug.SetGCPercent(100)
	debug.SetGCPercent(s.gcPercent)
	s.memoryLimit = memoryLimit()
	s.maxStack = debug.SetMaxStack(1 << 30)
	debug.SetMaxStack(s.maxStack)
	s.maxThreads = debug.SetMaxThreads(10000)
	debug.SetMaxThreads(s.maxThreads)
	// The start-up traceback level is GOTRACEBACK's (the runtime parses the
	// same string), and SetTraceback of it restores exactly that level.
	s.traceback = os.Getenv("GOTRACEBACK")
	s.procs = runtime.GOMAXPROCS(0)
	s.memRate = runtime.MemProfileRate
	s.mutexFraction = runtime.SetMutexProfileFraction(-1)
	return s
}

// restore puts the start-up values back. The stack limit goes first: the
// rest of the batch's own work must not run under a program's tiny limit.
// calledGOMAXPROCS says whether the program called runtime.GOMAXPROCS (from
// Go 1.25 any call with n > 0 also turns off the runtime's automatic
// updates, which only SetDefaultGOMAXPROCS turns back on).
func (s *startState) restore(calledGOMAXPROCS bool) {
	debug.SetMaxStack(s.maxStack)
	debug.SetMaxThreads(s.maxThreads)
	debug.SetGCPercent(s.gcPercent)
	restoreMemoryLimit(s.memoryLimit)
	debug.SetTraceback(s.traceback)
	restoreGOMAXPROCS(s.procs, calledGOMAXPROCS)
	runtime.MemProfileRate = s.memRate
	runtime.SetMutexProfileFraction(s.mutexFraction)
	// The block profile is off at start-up (no variable or setting turns it
	// on before main), and the driver never turns it on itself.
	runtime.SetBlockProfileRate(0)
}

// batchMarker ends a program's output on stdout and on stderr: whatever the
// harness reads on either before it belongs to program k.
func batchMarker(nonce string, k int) string {
	return fmt.Sprintf("\x1erthooks-batch %s %d\x1e", nonce, k)
}

// runBatch runs programs from in until end-of-file. Each program's
// observations are its step results and {"done": true}, as in one-program
// mode, followed by {"batch": {"program": k, "continues": bool}}; before
// that line the marker has been written to stdout and stderr.
func runBatch(obs *observer, nonce string, in io.Reader) {
	start := captureStartState()
	dec := json.NewDecoder(in)
	dec.UseNumber()
	for k := 0; ; k++ {
		var p program
		if err := dec.Decode(&p); err != nil {
			if err == io.EOF {
				return
			}
			fmt.Fprintf(os.Stderr, "go-driver: decoding program %d of the batch: %v\n", k, err)
			os.Exit(badProgramExit)
		}
		if err := checkProgram(&p); err != nil {
			fmt.Fprintf(os.Stderr, "go-driver: program %d of the batch: %v\n", k, err)
			os.Exit(badProgramExit)
		}
		r := newRunner(obs)
		continues, calledGOMAXPROCS := true, false
		for i := range p.Steps {
			st := &p.Steps[i]
			continues = continues && undoable(st)
			calledGOMAXPROCS = calledGOMAXPROCS || st.Call == "runtime.GOMAXPROCS"
			r.runStep(i, st)
		}
		start.restore(calledGOMAXPROCS)
		marker := batchMarker(nonce, k)
		os.Stdout.WriteString(marker)
		os.Stderr.WriteString(marker)
		obs.done()
		obs.write(map[string]interface{}{"batch": map[string]interface{}{"program": k, "continues": continues}})
		if !continues {
			return
		}
	}
}
