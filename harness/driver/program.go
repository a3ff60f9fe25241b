package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// program is what the harness writes on stdin (PROTOCOL.md, "The program").
// setup and go are informational for the Go driver: the harness applies them
// when it builds and starts us.
type program struct {
	Protocol int    `json:"protocol"`
	Case     string `json:"case"`
	Go       string `json:"go"`
	Steps    []step `json:"steps"`
}

// step is one call of a spec function or method, or one op.
type step struct {
	Call  string                 `json:"call"`
	Op    string                 `json:"op"`
	Args  []interface{}          `json:"args"`
	With  map[string]interface{} `json:"with"`
	Bind  string                 `json:"bind"`
	Until *untilSpec             `json:"until"`
}

// untilSpec asks for the step to be repeated until its value satisfies a
// condition. The targets stay raw so that an explicit null target can be told
// apart from an absent one.
type untilSpec struct {
	WithinS json.Number     `json:"within_s"`
	Path    string          `json:"path"`
	GC      bool            `json:"gc"`
	Equals  json.RawMessage `json:"equals"`
	Contain json.RawMessage `json:"contains"`
	AtLeast json.RawMessage `json:"at_least"`
}

// readProgram decodes the program, keeping every JSON number as a
// json.Number so that uint64 and int64 arguments arrive exactly.
func readProgram(r io.Reader) (*program, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the program: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var p program
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decoding the program: %v", err)
	}
	if err := checkProgram(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// checkProgram refuses a program this driver cannot run at all: another
// protocol version, or a step that is neither one call nor one op.
func checkProgram(p *program) error {
	if p.Protocol != 1 {
		return fmt.Errorf("program speaks protocol %d; this driver speaks 1", p.Protocol)
	}
	for i, st := range p.Steps {
		if (st.Call == "") == (st.Op == "") {
			return fmt.Errorf("step %d: exactly one of call and op is required", i)
		}
	}
	return nil
}

// decodeJSON decodes a raw JSON fragment the way the program was decoded.
func decodeJSON(raw json.RawMessage) (interface{}, error) {
	var v interface{}
	err := decodeInto(raw, &v)
	return v, err
}

// decodeInto decodes raw into dst with numbers kept as json.Number.
func decodeInto(raw []byte, dst interface{}) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(dst)
}
