//go:build go1.25

package main

import (
	"os"
	"runtime"
)

// restoreGOMAXPROCS puts GOMAXPROCS back after a batch program. From Go 1.25
// any GOMAXPROCS(n > 0) call, even with the current value, turns off the
// runtime's automatic updates; without the GOMAXPROCS variable (the batch's
// case: programs that need start-up environment do not run in a batch) the
// start-up state is the default with updates on, which SetDefaultGOMAXPROCS
// restores. A program that did not call GOMAXPROCS changed nothing.
func restoreGOMAXPROCS(start int, called bool) {
	if !called {
		return
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.SetDefaultGOMAXPROCS()
		return
	}
	runtime.GOMAXPROCS(start)
}
