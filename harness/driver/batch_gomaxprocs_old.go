//go:build !go1.25

package main

import "runtime"

// restoreGOMAXPROCS puts GOMAXPROCS back after a batch program. Before Go
// 1.25 the setting is all there is: GOMAXPROCS of the start-up value (a no-op
// when it did not change).
func restoreGOMAXPROCS(start int, called bool) {
	if called {
		runtime.GOMAXPROCS(start)
	}
}
