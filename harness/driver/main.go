// Command driver is the rthooks Go driver: it runs one rthooks program (see
// PROTOCOL.md at the root of the repository) against the Go runtime it was
// built with, and reports what it observed.
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

func main() {
	obs := openObservations()
	obs.hello()
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
