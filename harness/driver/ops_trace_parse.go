package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
)

// trace.parse reads an execution trace file (written by trace.Start, a
// flight recorder's WriteTo or trace.readtrace) with a minimal decoder of
// the two binary formats the modelled releases write: the old format of
// go1.21 ("go 1.21 trace", events carry their argument count) and the
// generational format of go1.22+ ("go 1.22 trace" ... "go 1.27 trace",
// internal/trace/tracev2: batches of events whose argument counts are fixed
// per event type). It reports what the cases need, not bytes:
//
//	{"header": "go 1.N trace", "generations": n (distinct batch generations;
//	 0 for go1.21), "experimental_batches": n (go1.23+ extra data batches),
//	 "alloc_free_events": n (go1.23+ heap span/object/stack events, written
//	 with GODEBUG=traceallocfree=1),
//	 "user": [user annotation events in time order]}
//
// A user event is {"ev": "task-begin", "task": T, "parent": P},
// {"ev": "task-end", "task": T}, {"ev": "region-begin"|"region-end",
// "task": T, "region": R} or {"ev": "log", "task": T, "category": C,
// "message": M}, where T and P are task types (the name given to NewTask;
// "" for the background task 0, "#id" for a task whose creation is not in
// the trace).
func init() {
	registerOp("trace.parse", opTraceParse)
}

func opTraceParse(r *runner, w *withArgs) (interface{}, error) {
	data, err := os.ReadFile(w.needStr("file"))
	if err != nil {
		return nil, err
	}
	return parseTrace(data)
}

type userEvent struct {
	ts     uint64
	seq    int
	kind   string
	task   uint64
	parent uint64
	name   string // task type, region type or log category
	msg    string
	strID  uint64 // string id of name, resolved after reading
	strGen uint64
	msgID  uint64
}

type traceSummary struct {
	header    string
	gens      map[uint64]bool
	expBat    int
	allocFree int
	strs      map[[2]uint64]string // (generation, id) -> string
	events    []*userEvent
	version   int
}

func parseTrace(data []byte) (interface{}, error) {
	if len(data) < 16 {
		return nil, errors.New("trace.parse: shorter than the 16-byte header")
	}
	hdr := string(bytes.TrimRight(data[:16], "\x00"))
	var minor int
	if _, err := fmt.Sscanf(hdr, "go 1.%d trace", &minor); err != nil {
		return nil, fmt.Errorf("trace.parse: bad header %q", hdr)
	}
	s := &traceSummary{header: hdr, gens: map[uint64]bool{}, strs: map[[2]uint64]string{}, version: minor}
	rd := bufio.NewReader(bytes.NewReader(data[16:]))
	var err error
	if minor <= 21 {
		err = s.readOld(rd)
	} else {
		err = s.readGenerational(rd)
	}
	if err != nil {
		return nil, fmt.Errorf("trace.parse: %v", err)
	}
	return s.result(), nil
}

func (s *traceSummary) result() map[string]interface{} {
	sort.SliceStable(s.events, func(i, j int) bool {
		if s.events[i].ts != s.events[j].ts {
			return s.events[i].ts < s.events[j].ts
		}
		return s.events[i].seq < s.events[j].seq
	})
	types := map[uint64]string{0: ""}
	for _, e := range s.events {
		e.name = s.strs[[2]uint64{e.strGen, e.strID}]
		if e.kind == "log" && e.msgID != 0 {
			e.msg = s.strs[[2]uint64{e.strGen, e.msgID}]
		}
		if e.kind == "task-begin" {
			types[e.task] = e.name
		}
	}
	taskName := func(id uint64) string {
		if n, ok := types[id]; ok {
			return n
		}
		return "#" + strconv.FormatUint(id, 10)
	}
	user := []interface{}{}
	for _, e := range s.events {
		m := map[string]interface{}{"ev": e.kind, "task": taskName(e.task)}
		switch e.kind {
		case "task-begin":
			m["task"] = e.name
			m["parent"] = taskName(e.parent)
		case "region-begin", "region-end":
			m["region"] = e.name
		case "log":
			m["category"] = e.name
			m["message"] = e.msg
		}
		user = append(user, m)
	}
	return map[string]interface{}{
		"header":               s.header,
		"generations":          len(s.gens),
		"experimental_batches": s.expBat,
		"alloc_free_events":    s.allocFree,
		"user":                 user,
	}
}

func uvarint(rd *bufio.Reader) (uint64, error) {
	return binary.ReadUvarint(rd)
}

// Generational format (go1.22+, internal/trace/tracev2): the number of
// uvarint arguments of each event type, indexed by type. Types 2 (Stacks),
// 4 (Strings), 6 (CPUSamples), 50 (Sync) and 52 (EndOfGeneration) open a
// section and have none; 3 (Stack) and 5 (String) are variable-length.
var tracev2Args = [...]int{
	0, 4, 0, -1, 0, -1, 0, 5, 1, // None .. Frequency
	3, 3, 1, 4, 3, // ProcsChange .. ProcStatus
	4, 2, 3, 1, 1, 3, 3, 4, 3, 1, 1, 4, // GoCreate .. GoStatus
	3, 1, // STWBegin, STWEnd
	2, 3, 2, 2, 2, 3, 2, 2, 1, 2, 2, // GCActive .. HeapGoal
	2, 5, 3, 4, 4, 5, // GoLabel, UserTaskBegin .. UserLog
	3, 3, 4, 5, // GoSwitch, GoSwitchDestroy, GoCreateBlocked, GoStatusStack
	-1, 0, 4, 0, // ExperimentalBatch, Sync, ClockSnapshot, EndOfGeneration
}

// The experimental events of the AllocFree experiment (go1.23+), types
// 128.. : Span, SpanAlloc, SpanFree, HeapObject, HeapObjectAlloc,
// HeapObjectFree, GoroutineStack, GoroutineStackAlloc, GoroutineStackFree.
var tracev2ExpArgs = [...]int{4, 4, 2, 3, 3, 2, 3, 3, 2}

const ev2FirstExperimental = 128

const (
	ev2EventBatch        = 1
	ev2Stack             = 3
	ev2String            = 5
	ev2UserTaskBegin     = 40
	ev2UserTaskEnd       = 41
	ev2UserRegionBegin   = 42
	ev2UserRegionEnd     = 43
	ev2UserLog           = 44
	ev2ExperimentalBatch = 49
	ev2EndOfGeneration   = 52
)

func (s *traceSummary) readGenerational(rd *bufio.Reader) error {
	seq := 0
	for {
		b, err := rd.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch b {
		case ev2EndOfGeneration:
			continue
		case ev2EventBatch, ev2ExperimentalBatch:
		default:
			return fmt.Errorf("expected a batch, got event type %d", b)
		}
		exp := b == ev2ExperimentalBatch
		if exp {
			if _, err := rd.ReadByte(); err != nil {
				return err
			}
		}
		var hdr [4]uint64
		for i := range hdr {
			if hdr[i], err = uvarint(rd); err != nil {
				return err
			}
		}
		gen, ts, size := hdr[0], hdr[2], hdr[3]
		batch := make([]byte, size)
		if _, err := io.ReadFull(rd, batch); err != nil {
			return err
		}
		if exp {
			s.expBat++
			continue
		}
		s.gens[gen] = true
		if err := s.readBatchEvents(gen, ts, batch, &seq); err != nil {
			return err
		}
	}
}

func (s *traceSummary) readBatchEvents(gen, ts uint64, batch []byte, seq *int) error {
	rd := bufio.NewReader(bytes.NewReader(batch))
	for {
		t, err := rd.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if t >= ev2FirstExperimental && int(t-ev2FirstExperimental) < len(tracev2ExpArgs) {
			// go1.23+ alloc/free experiment events (GODEBUG traceallocfree)
			for i := 0; i < tracev2ExpArgs[t-ev2FirstExperimental]; i++ {
				if _, err := uvarint(rd); err != nil {
					return err
				}
			}
			s.allocFree++
			continue
		}
		if int(t) >= len(tracev2Args) || t == 0 {
			return fmt.Errorf("unknown event type %d", t)
		}
		switch t {
		case ev2Stack:
			if _, err := uvarint(rd); err != nil {
				return err
			}
			n, err := uvarint(rd)
			if err != nil {
				return err
			}
			for i := uint64(0); i < 4*n; i++ {
				if _, err := uvarint(rd); err != nil {
					return err
				}
			}
			continue
		case ev2String:
			id, err := uvarint(rd)
			if err != nil {
				return err
			}
			n, err := uvarint(rd)
			if err != nil {
				return err
			}
			str := make([]byte, n)
			if _, err := io.ReadFull(rd, str); err != nil {
				return err
			}
			s.strs[[2]uint64{gen, id}] = string(str)
			continue
		}
		args := make([]uint64, tracev2Args[t])
		for i := range args {
			if args[i], err = uvarint(rd); err != nil {
				return err
			}
		}
		if t < 9 || t == 50 || t == 52 || t == ev2ExperimentalBatch {
			continue // section headers, CPU samples, frequency: untimed here
		}
		ts += args[0]
		var e *userEvent
		switch t {
		case ev2UserTaskBegin:
			e = &userEvent{kind: "task-begin", task: args[1], parent: args[2], strID: args[3]}
		case ev2UserTaskEnd:
			e = &userEvent{kind: "task-end", task: args[1]}
		case ev2UserRegionBegin:
			e = &userEvent{kind: "region-begin", task: args[1], strID: args[2]}
		case ev2UserRegionEnd:
			e = &userEvent{kind: "region-end", task: args[1], strID: args[2]}
		case ev2UserLog:
			e = &userEvent{kind: "log", task: args[1], strID: args[2], msgID: args[3]}
		}
		if e != nil {
			*seq++
			e.ts, e.seq, e.strGen = ts, *seq, gen
			s.events = append(s.events, e)
		}
	}
}

// Old format (go1.21, internal/trace/parser.go readTrace): each event's
// first byte holds its type (low 6 bits) and argument count; a count of 3
// means a byte length follows. Strings are global; EvUserLog is followed by
// its message.
const (
	ev1Batch         = 1
	ev1String        = 37
	ev1UserTaskBegin = 45
	ev1UserTaskEnd   = 46
	ev1UserRegion    = 47
	ev1UserLog       = 48
	ev1Count         = 50
)

func (s *traceSummary) readOld(rd *bufio.Reader) error {
	var lastTs uint64
	seq := 0
	for {
		b, err := rd.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		typ, narg := b&0x3f, int(b>>6)+1
		if typ == 0 || typ >= ev1Count {
			return fmt.Errorf("unknown event type %d", typ)
		}
		if typ == ev1String {
			id, err := uvarint(rd)
			if err != nil {
				return err
			}
			n, err := uvarint(rd)
			if err != nil {
				return err
			}
			str := make([]byte, n)
			if _, err := io.ReadFull(rd, str); err != nil {
				return err
			}
			s.strs[[2]uint64{0, id}] = string(str)
			continue
		}
		var args []uint64
		if narg < 4 {
			for i := 0; i < narg; i++ {
				v, err := uvarint(rd)
				if err != nil {
					return err
				}
				args = append(args, v)
			}
		} else {
			n, err := uvarint(rd)
			if err != nil {
				return err
			}
			raw := make([]byte, n)
			if _, err := io.ReadFull(rd, raw); err != nil {
				return err
			}
			sub := bufio.NewReader(bytes.NewReader(raw))
			for {
				v, err := uvarint(sub)
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				args = append(args, v)
			}
		}
		var msg string
		if typ == ev1UserLog {
			n, err := uvarint(rd)
			if err != nil {
				return err
			}
			str := make([]byte, n)
			if _, err := io.ReadFull(rd, str); err != nil {
				return err
			}
			msg = string(str)
		}
		if typ == ev1Batch {
			if len(args) >= 2 {
				lastTs = args[1]
			}
			continue
		}
		if typ < 4 || typ == 35 { // frequency, stack, timer goroutine: no timestamp
			continue
		}
		if len(args) > 0 {
			lastTs += args[0]
		}
		arg := func(i int) uint64 {
			if i < len(args) {
				return args[i]
			}
			return 0
		}
		var e *userEvent
		switch typ {
		case ev1UserTaskBegin:
			e = &userEvent{kind: "task-begin", task: arg(1), parent: arg(2), strID: arg(3)}
		case ev1UserTaskEnd:
			e = &userEvent{kind: "task-end", task: arg(1)}
		case ev1UserRegion:
			e = &userEvent{kind: "region-begin", task: arg(1), strID: arg(3)}
			if arg(2) == 1 {
				e.kind = "region-end"
			}
		case ev1UserLog:
			e = &userEvent{kind: "log", task: arg(1), strID: arg(2), msg: msg}
		}
		if e != nil {
			seq++
			e.ts, e.seq = lastTs, seq
			s.events = append(s.events, e)
		}
	}
}
