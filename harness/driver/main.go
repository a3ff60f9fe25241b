// Command driver is the rthooks Go driver: it runs one rthooks program (see
// PROTOCOL.md at the root of the repository) against the Go runtime it was
// built with, and reports what it observed. Started with --batch=NONCE it
// runs many programs one after another instead (batch.go).
//
// The harness builds it once per case with the case's go line and //go:debug
// directives, so everything here must compile with the oldest supported
// toolchain (and gccgo at Go 1.18 level): untagged files use no generics, no
// `any` and no API newer than Go 1.18; newer API lives in files tagged
// //go:build go1.N.
package main

import (
	"fmt"
	"os"
)

// badProgramExit is the exit status for a program the driver cannot read.
// It is not a status the runtime itself uses (0, 1, 2) nor os.Exit's
// conventional small codes, so a harness can tell it apart.
const badProgramExit = 3

// execEnvFlag starts the driver ahead of its program's environment
// (batch_exec_linux.go); it writes nothing before it has become the driver
// started with that environment.
const execEnvFlag = "--exec-env"

func main() {
	if len(os.Args) > 1 && os.Args[1] == execEnvFlag {
		err := startWithEnv(os.Stdin, append([]string{os.Args[0]}, os.Args[2:]...))
		fmt.Fprintf(os.Stderr, "go-driver: %s: %v\n", execEnvFlag, err)
		os.Exit(badProgramExit)
	}
	obs := openObservations()
	obs.hello()
	if nonce, ok := batchNonce(os.Args[1:]); ok {
		// Many programs in this one process (PROTOCOL.md, "Batch mode"); only
		// a harness that asks for it gets it.
		runBatch(obs, nonce, os.Stdin)
		return
	}
	prog, err := readProgram(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-driver: %v\n", err)
		os.Exit(badProgramExit)
	}
	r := newRunner(obs)
	for i := range prog.Steps {
		r.runStep(i, &prog.Steps[i])
	}
	obs.done()
}
