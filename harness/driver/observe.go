package main

import (
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"sync"
)

// defaultObsFD is the descriptor the harness hands us for observations.
const defaultObsFD = 3

// observer writes observations as JSON Lines. Every line goes out in a
// single unbuffered write, so a crash right after a step cannot lose an
// observation that was already reported.
type observer struct {
	mu sync.Mutex
	f  *os.File
}

// keepFiles holds every *os.File made from a bare descriptor. An *os.File
// closes its descriptor when it is garbage collected; if the probe file for
// an unopened fd 3 were collected, its finalizer could close whatever file
// the program opened as fd 3 later.
var keepFiles []*os.File

// openObservations opens the file named by RTHOOKS_OBS_PATH, or else the descriptor named by
// RTHOOKS_OBS_FD (default 3).
// When that descriptor is not open (the driver was started by hand) the
// observations go to stderr, one bare JSON object per line.
func openObservations() *observer {
	// A WASI module inherits no descriptors but 0-2: its runner (harness/wasirun.py) names a
	// file in a preopened folder instead and forwards each line to the real channel.
	if p := os.Getenv("RTHOOKS_OBS_PATH"); p != "" {
		if f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
			return &observer{f: f}
		}
	}
	fd := defaultObsFD
	if s := os.Getenv("RTHOOKS_OBS_FD"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			fd = n
		}
	}
	f := os.NewFile(uintptr(fd), "rthooks-observations")
	if f != nil {
		keepFiles = append(keepFiles, f)
		if _, err := f.Stat(); err == nil {
			return &observer{f: f}
		}
	}
	return &observer{f: os.Stderr}
}

func (o *observer) write(obs map[string]interface{}) {
	line, err := json.Marshal(obs)
	if err != nil {
		// Only a bug in the encoder can get here; say so in the protocol's
		// own terms rather than writing a line the harness cannot read.
		line, _ = json.Marshal(map[string]interface{}{
			"step": obs["step"], "status": "unsupported",
			"reason": "go-driver could not encode the result: " + err.Error(),
		})
	}
	line = append(line, '\n')
	o.mu.Lock()
	defer o.mu.Unlock()
	// A failed write has nowhere left to be reported.
	o.f.Write(line)
}

func (o *observer) hello() {
	o.write(map[string]interface{}{"hello": map[string]interface{}{
		"impl":     "go-driver",
		"version":  runtime.Version(),
		"goos":     runtime.GOOS,
		"goarch":   runtime.GOARCH,
		"protocol": 1,
	}})
}

func (o *observer) done() {
	o.write(map[string]interface{}{"done": true})
}
