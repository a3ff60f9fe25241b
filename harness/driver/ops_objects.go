package main

import (
	"runtime"
	"sync"
)

// objectTable keeps the heap objects made by the alloc op (and the named
// runtime.Pinners of the Pinner calls) under their names. Deleting a name
// really makes its object unreachable: nothing else in the driver keeps a
// pointer to it, so finalizers and cleanups on it can run.
type objectTable struct {
	m map[string]interface{}
}

func newObjectTable() *objectTable { return &objectTable{m: map[string]interface{}{}} }

func (t *objectTable) get(name string) (interface{}, bool) {
	v, ok := t.m[name]
	return v, ok
}

func (t *objectTable) put(name string, v interface{}) { t.m[name] = v }

func (t *objectTable) drop(name string) bool {
	_, ok := t.m[name]
	delete(t.m, name)
	return ok
}

// minObjectBytes keeps objects out of the tiny allocator, which packs
// pointer-free objects smaller than 16 bytes into one block: a finalizer on
// such an object would wait for all of its neighbours.
const minObjectBytes = 16

// allocObject allocates one heap object of (at least) the given size and
// returns a pointer to its start, as SetFinalizer and AddCleanup require.
// With pointers the object is a pointer array the GC scans (type **int);
// without, a byte array it does not (type *byte).
func allocObject(size int, pointers bool) interface{} {
	if size < minObjectBytes {
		size = minObjectBytes
	}
	if pointers {
		s := make([]*int, (size+ptrSize-1)/ptrSize) // at least size bytes on every port
		return &s[0]
	}
	s := make([]byte, size)
	return &s[0]
}

// globalObjectVar is the package-level variable behind {"global": true}:
// the runtime treats finalizers and cleanups on it as no-ops, and Pin
// ignores it.
var globalObjectVar [2]*int

func globalObject() interface{} { return &globalObjectVar[0] }

// ranLog is the ordered list of tags recorded by finalizers, cleanups and
// driver callbacks (the ran op). Finalizers and cleanups run on runtime
// goroutines, hence the lock.
var ranLog struct {
	sync.Mutex
	tags []string
}

// recordRan appends tag to the ran list. It is a plain function (not a
// closure) so that passing it to AddCleanup cannot capture the object.
func recordRan(tag string) {
	ranLog.Lock()
	ranLog.tags = append(ranLog.tags, tag)
	ranLog.Unlock()
}

func ranTags() []string {
	ranLog.Lock()
	defer ranLog.Unlock()
	return append([]string{}, ranLog.tags...)
}

// setTagFinalizer sets a finalizer recording tag. The finalizer takes
// interface{}, to which every object type is assignable, and captures only
// the tag, never the object.
func setTagFinalizer(obj interface{}, tag string) {
	runtime.SetFinalizer(obj, func(interface{}) { recordRan(tag) })
}

// taggedStringer records its tag when formatted, so a case can see whether
// something (trace.Logf with tracing off) formatted its arguments.
type taggedStringer string

func (s taggedStringer) String() string {
	recordRan(string(s))
	return string(s)
}

func opAlloc(r *runner, w *withArgs) (interface{}, error) {
	name := w.needStr("name")
	r.objects.put(name, allocObject(w.int("bytes", 64), w.bool("pointers", false)))
	return nil, nil
}

func opDrop(r *runner, w *withArgs) (interface{}, error) {
	name := w.needStr("name")
	if !r.objects.drop(name) {
		badArgs("op drop: no object named %q", name)
	}
	return nil, nil
}

func (r *runner) namedObject(w *withArgs) interface{} {
	name := w.needStr("name")
	obj, ok := r.objects.get(name)
	if !ok {
		badArgs("%s: no object named %q", w.what, name)
	}
	return obj
}

func opFinalizer(r *runner, w *withArgs) (interface{}, error) {
	setTagFinalizer(r.namedObject(w), w.str("tag", w.needStr("name")))
	return nil, nil
}

func opKeepAlive(r *runner, w *withArgs) (interface{}, error) {
	runtime.KeepAlive(r.namedObject(w))
	return nil, nil
}

func opRan(r *runner, w *withArgs) (interface{}, error) {
	return ranTags(), nil
}
