package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Ops that read pprof profiles back as records (counts and stack shapes),
// so that cases compare structure rather than bytes.
//
//	pprof.marked.alloc {name, n, bytes, depth}  n objects allocated by
//	    main.pprofMarkedAlloc (at the bottom of depth extra frames of
//	    main.pprofDeepRecurse), kept under name; runtime.MemProfileRate is
//	    1 while they are allocated (each is profiled), then restored
//	pprof.marked.drop {name}                    forget them
//	pprof.memprofilerate {rate}                 set runtime.MemProfileRate
//	    (default 1); the value is the previous rate
//	pprof.marked.records {profile}              the heap/allocs profile's
//	    records whose stack holds main.pprofMarkedAlloc, summed:
//	    {records, inuse_objects, inuse_bytes, alloc_objects, alloc_bytes,
//	     max_depth (frames, the "#" lines, of the deepest such record)}
//	pprof.proto.summary {file}                  a gzip protobuf profile:
//	    {sample_types ["type/unit"...], default_sample_type, period_type,
//	     period, samples, max_depth, marked: {sample type: the sum of the
//	     values of the samples whose stack holds main.pprofMarkedAlloc}}
//	pprof.cpu.deep {depth, ms, rounds}          CPU-profiles busy work at
//	    the bottom of depth frames (again, up to rounds times, until a
//	    sample is taken) and summarises the profile as pprof.proto.summary
//	pprof.custom.stacks {profile}               a custom profile's debug=1
//	    records: {records, stacks: [[function...]...] longest first,
//	    drop_first: the shorter of two stacks is the longer minus its
//	    first frame}
//	pprof.keepalive.probe {gcs}                 Add a fresh pointer with a
//	    finalizer to a new profile, drop it, GC; then Remove it, GC:
//	    {finalized_while_added, finalized_after_remove}
//	pprof.concurrent {goroutines, iterations}   Add/Remove/Count/WriteTo on
//	    one new profile from many goroutines: {panics, count}
//	pprof.zero                                  a zero Profile's methods:
//	    {add, writeto (panic texts or null), count}
func init() {
	registerOp("pprof.memprofilerate", opPprofMemProfileRate)
	registerOp("pprof.marked.alloc", opMarkedAlloc)
	registerOp("pprof.marked.drop", opMarkedDrop)
	registerOp("pprof.marked.records", opMarkedRecords)
	registerOp("pprof.proto.summary", opProtoSummary)
	registerOp("pprof.cpu.deep", opCPUDeep)
	registerOp("pprof.custom.stacks", opCustomStacks)
	registerOp("pprof.keepalive.probe", opKeepAliveProbe)
	registerOp("pprof.concurrent", opPprofConcurrent)
	registerOp("pprof.zero", opPprofZero)
}

var markedObjects = map[string][][]byte{}

// pprofMarkedAlloc fills dst with new objects of size bytes: one
// allocation site, so the heap profile holds one record for them.
//
//go:noinline
func pprofMarkedAlloc(dst [][]byte, size int) {
	for i := range dst {
		dst[i] = make([]byte, size)
	}
}

//go:noinline
func pprofDeepRecurse(depth int, dst [][]byte, size int) {
	if depth <= 0 {
		pprofMarkedAlloc(dst, size)
		return
	}
	pprofDeepRecurse(depth-1, dst, size)
}

func opPprofMemProfileRate(r *runner, w *withArgs) (interface{}, error) {
	prev := runtime.MemProfileRate
	runtime.MemProfileRate = w.int("rate", 1)
	return prev, nil
}

func opMarkedAlloc(r *runner, w *withArgs) (interface{}, error) {
	// Profile each marked allocation (MemProfileRate 1 while allocating),
	// so that their records hold exact counts, not sampled estimates.
	rate := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = rate }()
	name := w.needStr("name")
	n, size, depth := w.int("n", 10), w.int("bytes", 4096), w.int("depth", 0)
	dst := make([][]byte, n)
	if depth > 0 {
		pprofDeepRecurse(depth, dst, size)
	} else {
		pprofMarkedAlloc(dst, size)
	}
	markedObjects[name] = dst
	return nil, nil
}

func opMarkedDrop(r *runner, w *withArgs) (interface{}, error) {
	delete(markedObjects, w.needStr("name"))
	return nil, nil
}

// heapRecord is one "N: M [A: B] @ pc..." record of a debug=1 heap profile.
type heapRecord struct {
	inuseObjects, inuseBytes, allocObjects, allocBytes int64
	pcs                                                int
	funcs                                              []string
}

func readHeapText(text string) []heapRecord {
	var recs []heapRecord
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#\t") {
			if len(recs) > 0 {
				f := strings.Split(line, "\t")
				if len(f) >= 3 {
					fn := f[2]
					if i := strings.LastIndex(fn, "+0x"); i > 0 {
						fn = fn[:i]
					}
					recs[len(recs)-1].funcs = append(recs[len(recs)-1].funcs, fn)
				}
			}
			continue
		}
		var rec heapRecord
		at := strings.Index(line, " @ ")
		if at < 0 || strings.HasPrefix(line, "heap profile") {
			continue
		}
		if _, err := fmt.Sscanf(line[:at], "%d: %d [%d: %d]", &rec.inuseObjects, &rec.inuseBytes, &rec.allocObjects, &rec.allocBytes); err != nil {
			continue
		}
		rec.pcs = len(strings.Fields(line[at+3:]))
		recs = append(recs, rec)
	}
	return recs
}

func hasFunc(funcs []string, name string) bool {
	for _, f := range funcs {
		if f == name {
			return true
		}
	}
	return false
}

func opMarkedRecords(r *runner, w *withArgs) (interface{}, error) {
	p := pprof.Lookup(w.str("profile", "heap"))
	if p == nil {
		return nil, errNoSuchProfile
	}
	var buf bytes.Buffer
	// Do not profile the writer's own allocations (with MemProfileRate 1
	// that would make every read slow and the profile grow with each).
	rate := runtime.MemProfileRate
	runtime.MemProfileRate = 0
	err := p.WriteTo(&buf, 1)
	runtime.MemProfileRate = rate
	if err != nil {
		return nil, err
	}
	var n, io_, ib, ao, ab int64
	maxDepth := 0
	for _, rec := range readHeapText(buf.String()) {
		if !hasFunc(rec.funcs, "main.pprofMarkedAlloc") {
			continue
		}
		n++
		io_ += rec.inuseObjects
		ib += rec.inuseBytes
		ao += rec.allocObjects
		ab += rec.allocBytes
		if len(rec.funcs) > maxDepth {
			maxDepth = len(rec.funcs)
		}
	}
	return map[string]interface{}{
		"records": n, "inuse_objects": io_, "inuse_bytes": ib,
		"alloc_objects": ao, "alloc_bytes": ab, "max_depth": maxDepth,
	}, nil
}

// --- a minimal reader of the profile.proto messages pprof writes ---------

type pbField struct {
	num    int
	wire   int
	varint uint64
	bytes  []byte
}

func pbFields(b []byte) ([]pbField, error) {
	var out []pbField
	for len(b) > 0 {
		key, n := uvarintBytes(b)
		if n <= 0 {
			return nil, errors.New("bad protobuf key")
		}
		b = b[n:]
		f := pbField{num: int(key >> 3), wire: int(key & 7)}
		switch f.wire {
		case 0:
			v, n := uvarintBytes(b)
			if n <= 0 {
				return nil, errors.New("bad varint")
			}
			f.varint, b = v, b[n:]
		case 1:
			if len(b) < 8 {
				return nil, errors.New("short fixed64")
			}
			b = b[8:]
		case 2:
			l, n := uvarintBytes(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, errors.New("bad length")
			}
			f.bytes, b = b[n:n+int(l)], b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return nil, errors.New("short fixed32")
			}
			b = b[4:]
		default:
			return nil, fmt.Errorf("wire type %d", f.wire)
		}
		out = append(out, f)
	}
	return out, nil
}

func uvarintBytes(b []byte) (uint64, int) {
	var x uint64
	var s uint
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		if c < 0x80 {
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

func protoSummary(data []byte) (map[string]interface{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	fields, err := pbFields(raw)
	if err != nil {
		return nil, err
	}
	var strs []string
	var sampleTypes [][2]uint64
	type sample struct {
		locs   []uint64
		values []int64
		labels [][2]uint64 // string labels: key and value string indexes
	}
	var samples []sample
	locFuncs := map[uint64][]uint64{} // location id -> function ids
	funcNames := map[uint64]uint64{}  // function id -> name string index
	var periodType [2]uint64
	var period, defaultType uint64
	maxDepth := 0
	valueType := func(b []byte) [2]uint64 {
		var vt [2]uint64
		fs, _ := pbFields(b)
		for _, f := range fs {
			if f.num == 1 || f.num == 2 {
				vt[f.num-1] = f.varint
			}
		}
		return vt
	}
	for _, f := range fields {
		switch f.num {
		case 1:
			sampleTypes = append(sampleTypes, valueType(f.bytes))
		case 2:
			fs, _ := pbFields(f.bytes)
			var sm sample
			for _, sf := range fs {
				if sf.num == 3 { // Label{key = 1, str = 2, num = 3}; a numeric label has str 0 ("")
					var kv [2]uint64
					ls, _ := pbFields(sf.bytes)
					for _, l := range ls {
						if l.num == 1 || l.num == 2 {
							kv[l.num-1] = l.varint
						}
					}
					if kv[1] != 0 {
						sm.labels = append(sm.labels, kv)
					}
					continue
				}
				if sf.num != 1 && sf.num != 2 {
					continue
				}
				var vals []uint64
				if sf.wire == 2 { // packed
					for b := sf.bytes; len(b) > 0; {
						v, n := uvarintBytes(b)
						if n <= 0 {
							break
						}
						b = b[n:]
						vals = append(vals, v)
					}
				} else {
					vals = append(vals, sf.varint)
				}
				if sf.num == 1 {
					sm.locs = append(sm.locs, vals...)
				} else {
					for _, v := range vals {
						sm.values = append(sm.values, int64(v))
					}
				}
			}
			samples = append(samples, sm)
			if len(sm.locs) > maxDepth {
				maxDepth = len(sm.locs)
			}
		case 4:
			fs, _ := pbFields(f.bytes)
			var id uint64
			var fns []uint64
			for _, lf := range fs {
				switch lf.num {
				case 1:
					id = lf.varint
				case 4:
					ls, _ := pbFields(lf.bytes)
					for _, l := range ls {
						if l.num == 1 {
							fns = append(fns, l.varint)
						}
					}
				}
			}
			locFuncs[id] = fns
		case 5:
			fs, _ := pbFields(f.bytes)
			var id, name uint64
			for _, ff := range fs {
				switch ff.num {
				case 1:
					id = ff.varint
				case 2:
					name = ff.varint
				}
			}
			funcNames[id] = name
		case 6:
			strs = append(strs, string(f.bytes))
		case 11:
			periodType = valueType(f.bytes)
		case 12:
			period = f.varint
		case 14:
			defaultType = f.varint
		}
	}
	str := func(i uint64) string {
		if int(i) < len(strs) {
			return strs[i]
		}
		return ""
	}
	types := []interface{}{}
	for _, vt := range sampleTypes {
		types = append(types, str(vt[0])+"/"+str(vt[1]))
	}
	var def interface{}
	if defaultType != 0 {
		def = str(defaultType)
	}
	// Sum the values of the samples whose stack holds main.pprofMarkedAlloc,
	// by sample type.
	marked := map[string]interface{}{}
	for i := range sampleTypes {
		marked[str(sampleTypes[i][0])] = int64(0)
	}
	for _, sm := range samples {
		hit := false
		for _, l := range sm.locs {
			for _, fn := range locFuncs[l] {
				if str(funcNames[fn]) == "main.pprofMarkedAlloc" {
					hit = true
				}
			}
		}
		if !hit {
			continue
		}
		for i, v := range sm.values {
			if i < len(sampleTypes) {
				k := str(sampleTypes[i][0])
				marked[k] = marked[k].(int64) + v
			}
		}
	}
	// The string labels of the samples: each key with its distinct values, sorted, and how many
	// samples carry at least one (numeric labels, such as the heap profile's "bytes", are left out).
	labelValues := map[string]map[string]bool{}
	labelled := 0
	for _, sm := range samples {
		if len(sm.labels) > 0 {
			labelled++
		}
		for _, kv := range sm.labels {
			k := str(kv[0])
			if labelValues[k] == nil {
				labelValues[k] = map[string]bool{}
			}
			labelValues[k][str(kv[1])] = true
		}
	}
	labels := map[string]interface{}{}
	for k, vs := range labelValues {
		list := make([]string, 0, len(vs))
		for v := range vs {
			list = append(list, v)
		}
		sort.Strings(list)
		values := make([]interface{}, len(list))
		for i, v := range list {
			values[i] = v
		}
		labels[k] = values
	}
	return map[string]interface{}{
		"labels":              labels,
		"labelled_samples":    labelled,
		"sample_types":        types,
		"default_sample_type": def,
		"period_type":         str(periodType[0]) + "/" + str(periodType[1]),
		"period":              int64(period),
		"samples":             len(samples),
		"marked":              marked,
		"max_depth":           maxDepth,
	}, nil
}

func opProtoSummary(r *runner, w *withArgs) (interface{}, error) {
	data, err := os.ReadFile(w.needStr("file"))
	if err != nil {
		return nil, err
	}
	return protoSummary(data)
}

//go:noinline
func pprofBusyRecurse(depth int, d time.Duration) {
	if depth <= 0 {
		busy(d)
		return
	}
	pprofBusyRecurse(depth-1, d)
}

func opCPUDeep(r *runner, w *withArgs) (interface{}, error) {
	depth, rounds := w.int("depth", 0), w.int("rounds", 10)
	d := time.Duration(w.float("ms", 100) * float64(time.Millisecond))
	var out map[string]interface{}
	for i := 0; i < rounds; i++ {
		var buf bytes.Buffer
		if err := pprof.StartCPUProfile(&buf); err != nil {
			return nil, err
		}
		pprofBusyRecurse(depth, d)
		pprof.StopCPUProfile()
		s, err := protoSummary(buf.Bytes())
		if err != nil {
			return nil, err
		}
		out = s
		if s["samples"].(int) > 0 {
			break
		}
	}
	return out, nil
}

func opCustomStacks(r *runner, w *withArgs) (interface{}, error) {
	p := pprof.Lookup(w.needStr("profile"))
	if p == nil {
		return nil, errNoSuchProfile
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, 1); err != nil {
		return nil, err
	}
	var stacks [][]string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, " @ "):
			stacks = append(stacks, []string{})
		case strings.HasPrefix(line, "#\t") && len(stacks) > 0:
			f := strings.Split(line, "\t")
			if len(f) >= 3 {
				fn := f[2]
				if i := strings.LastIndex(fn, "+0x"); i > 0 {
					fn = fn[:i]
				}
				stacks[len(stacks)-1] = append(stacks[len(stacks)-1], fn)
			}
		}
	}
	// longest first
	for i := 1; i < len(stacks); i++ {
		for j := i; j > 0 && len(stacks[j]) > len(stacks[j-1]); j-- {
			stacks[j], stacks[j-1] = stacks[j-1], stacks[j]
		}
	}
	dropFirst := false
	if len(stacks) == 2 && len(stacks[0]) == len(stacks[1])+1 {
		dropFirst = true
		for i := range stacks[1] {
			if stacks[1][i] != stacks[0][i+1] {
				dropFirst = false
			}
		}
	}
	list := []interface{}{}
	for _, s := range stacks {
		l := []interface{}{}
		for _, f := range s {
			l = append(l, f)
		}
		list = append(list, l)
	}
	return map[string]interface{}{"records": len(stacks), "stacks": list, "drop_first": dropFirst}, nil
}

var keepAliveSeq int

func opKeepAliveProbe(r *runner, w *withArgs) (interface{}, error) {
	gcs := w.int("gcs", 5)
	keepAliveSeq++
	p := pprof.NewProfile("rthooks.dev/keepalive-probe-" + strconv.Itoa(keepAliveSeq))
	var mu sync.Mutex
	finalized := false
	addr := func() uintptr {
		obj := new([64]byte)
		runtime.SetFinalizer(obj, func(*[64]byte) {
			mu.Lock()
			finalized = true
			mu.Unlock()
		})
		p.Add(obj, 0)
		return uintptr(unsafe.Pointer(obj))
	}()
	state := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return finalized
	}
	for i := 0; i < gcs; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond) // let the finalizer goroutine run, if it was queued
	}
	whileAdded := state()
	if !whileAdded {
		// Still reachable from the profile, so the address is a live object.
		p.Remove((*[64]byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))))
	}
	addr = 0
	deadline := time.Now().Add(5 * time.Second)
	for !state() && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	return map[string]interface{}{"finalized_while_added": whileAdded, "finalized_after_remove": state()}, nil
}

var concurrentSeq int

func opPprofConcurrent(r *runner, w *withArgs) (interface{}, error) {
	gs, iters := w.int("goroutines", 8), w.int("iterations", 200)
	concurrentSeq++
	p := pprof.NewProfile("rthooks.dev/concurrent-" + strconv.Itoa(concurrentSeq))
	var wg sync.WaitGroup
	var mu sync.Mutex
	panics := 0
	for g := 0; g < gs; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			defer func() {
				if recover() != nil {
					mu.Lock()
					panics++
					mu.Unlock()
				}
			}()
			for i := 0; i < iters; i++ {
				key := g*iters + i
				p.Add(key, 0)
				_ = p.Count()
				if i%20 == 0 {
					_ = p.WriteTo(io.Discard, 1)
				}
				if i%2 == 1 {
					p.Remove(key)
				}
			}
		}(g)
	}
	wg.Wait()
	return map[string]interface{}{"panics": panics, "count": p.Count()}, nil
}

func opPprofZero(r *runner, w *withArgs) (interface{}, error) {
	var p pprof.Profile
	try := func(f func()) (out interface{}) {
		defer func() {
			if v := recover(); v != nil {
				out = fmt.Sprint(v)
			}
		}()
		f()
		return nil
	}
	count := 0
	add := try(func() { p.Add("v", 0) })
	writeTo := try(func() { _ = p.WriteTo(io.Discard, 1) })
	countPanic := try(func() { count = p.Count() })
	return map[string]interface{}{"add": add, "writeto": writeTo, "count_panic": countPanic, "count": count}, nil
}
