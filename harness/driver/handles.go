package main

import (
	"fmt"
	"reflect"
	"strconv"
)

// handleTable names the values that are not data (PROTOCOL.md: "handles").
// The same object always gets the same handle, so that a case can compare
// handles for identity (pprof.Lookup(name) returning the NewProfile pointer).
type handleTable struct {
	byID  map[string]interface{}
	byVal map[interface{}]string
	next  int
}

func newHandleTable() *handleTable {
	return &handleTable{byID: map[string]interface{}{}, byVal: map[interface{}]string{}}
}

// ref registers v (if new) and returns its handle object.
func (h *handleTable) ref(v interface{}) interface{} {
	id, ok := h.known(v)
	if !ok {
		h.next++
		id = "h" + strconv.Itoa(h.next)
		h.byID[id] = v
		h.remember(v, id)
	}
	return map[string]interface{}{"handle": id, "type": fmt.Sprintf("%T", v)}
}

func (h *handleTable) known(v interface{}) (id string, ok bool) {
	if !isComparable(v) {
		return "", false
	}
	defer func() {
		// A comparable type can still hold an uncomparable interface
		// value; such a value simply gets a fresh handle.
		if recover() != nil {
			id, ok = "", false
		}
	}()
	id, ok = h.byVal[v]
	return id, ok
}

func (h *handleTable) remember(v interface{}, id string) {
	if !isComparable(v) {
		return
	}
	defer func() { recover() }() // see known
	h.byVal[v] = id
}

func isComparable(v interface{}) bool {
	t := reflect.TypeOf(v)
	return t != nil && t.Comparable()
}

// lookup returns the value behind a handle id.
func (h *handleTable) lookup(id string) (interface{}, bool) {
	v, ok := h.byID[id]
	return v, ok
}
