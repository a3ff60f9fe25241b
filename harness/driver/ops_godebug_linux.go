//go:build linux

package main

import (
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func init() {
	registerOp("godebug.capture", opGodebugCapture)
	registerOp("godebug.maps", opGodebugMaps)
}

var captureSink [][]byte

// godebug.capture: runs `action` (gc: runtime.GC n times; free:
// debug.FreeOSMemory n times; busy: burn the CPU for ms; alloc: n 64-byte
// allocations; none) with file descriptor 2 redirected to a file, waits
// settle_ms (default 30) for output the runtime prints asynchronously, and
// reports the lines written to it meanwhile, those starting with prefix
// when given.
func opGodebugCapture(r *runner, w *withArgs) (interface{}, error) {
	action, n := w.str("action", "gc"), w.int("n", 1)
	prefix := w.str("prefix", "")
	f, err := os.CreateTemp(".", "rthooks-stderr-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		return nil, err
	}
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		syscall.Close(saved)
		return nil, err
	}
	func() {
		defer func() {
			time.Sleep(time.Duration(w.int("settle_ms", 30)) * time.Millisecond)
			syscall.Dup3(saved, 2, 0)
			syscall.Close(saved)
		}()
		switch action {
		case "gc":
			for i := 0; i < n; i++ {
				runtime.GC()
			}
		case "free":
			for i := 0; i < n; i++ {
				debug.FreeOSMemory()
			}
		case "busy":
			busy(time.Duration(w.float("ms", 0) * float64(time.Millisecond)))
		case "alloc":
			for i := 0; i < n; i++ {
				captureSink = append(captureSink, make([]byte, 64))
			}
			captureSink = nil
		case "none":
		default:
			badArgs("op godebug.capture: unknown action %q", action)
		}
	}()
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	lines := make([]string, 0)
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && strings.HasPrefix(l, prefix) {
			lines = append(lines, l)
		}
	}
	return map[string]interface{}{"text": string(data), "lines": lines}, nil
}

var mapsSink []byte

// godebug.maps: reads /proc/self/maps (and smaps_rollup) around
// allocating mb (default 0) MiB, touching it, dropping it and calling
// debug.FreeOSMemory. Reports the number of mappings named "[anon: Go:",
// the KiB of mappings with transparent huge pages disabled (VmFlags nh),
// the growth (KiB) of PROT_NONE mappings and the drop of Rss and the
// LazyFree total (KiB) between the allocated and the freed state.
func opGodebugMaps(r *runner, w *withArgs) (interface{}, error) {
	mb := w.int("mb", 0)
	if mb > 0 {
		mapsSink = make([]byte, mb<<20)
		for i := 0; i < len(mapsSink); i += 4096 {
			mapsSink[i] = 1
		}
	}
	named1, protnone1 := readMaps()
	rss1, _ := readRollup()
	mapsSink = nil
	runtime.GC()
	debug.FreeOSMemory()
	named2, protnone2 := readMaps()
	rss2, lazy := readRollup()
	_ = named1
	return map[string]interface{}{
		"go_named":        named2,
		"go_named_any":    named2 > 0,
		"kernel_names":    kernelNamesAnon(),
		"nohugepage":      countNoHugePage(),
		"protnone_growth": protnone2 - protnone1,
		"rss_drop":        rss1 - rss2,
		"lazyfree":        lazy,
	}, nil
}

// kernelNamesAnon reports whether the kernel can name anonymous mappings
// (prctl PR_SET_VMA_ANON_NAME: Linux 5.17+ built with CONFIG_ANON_VMA_NAME),
// the call decoratemappings relies on, by naming a scratch mapping.
func kernelNamesAnon() bool {
	b, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return false
	}
	defer syscall.Munmap(b)
	name := []byte("rthooks-probe\x00")
	const prSetVMA, prSetVMAAnonName = 0x53564d41, 0
	_, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetVMA, prSetVMAAnonName,
		uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&name[0])), 0)
	return e == 0
}

// readMaps: mappings named "[anon: Go: ...]", and KiB of ---p mappings.
func readMaps() (named, protnone int64) {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1, -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		fs := strings.Fields(l)
		if len(fs) < 2 {
			continue
		}
		if strings.Contains(l, "[anon: Go:") {
			named++
		}
		if fs[1] == "---p" {
			lo, hi := parseRange(fs[0])
			protnone += int64((hi - lo) >> 10)
		}
	}
	return named, protnone
}

func parseRange(s string) (lo, hi uint64) {
	i := strings.IndexByte(s, '-')
	if i < 0 {
		return 0, 0
	}
	return parseHex(s[:i]), parseHex(s[i+1:])
}

func parseHex(s string) uint64 {
	var v uint64
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		}
	}
	return v
}

// countNoHugePage: KiB of the mappings of /proc/self/smaps whose VmFlags
// include nh (MADV_NOHUGEPAGE).
func countNoHugePage() int64 {
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return -1
	}
	var total, size int64
	for _, l := range strings.Split(string(data), "\n") {
		fs := strings.Fields(l)
		if len(fs) >= 2 && fs[0] == "Size:" {
			size = 0
			for _, c := range fs[1] {
				size = size*10 + int64(c-'0')
			}
		}
		if strings.HasPrefix(l, "VmFlags:") && strings.Contains(l+" ", " nh ") {
			total += size
		}
	}
	return total
}

// readRollup: Rss and LazyFree of /proc/self/smaps_rollup, in KiB.
func readRollup() (rss, lazy int64) {
	data, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return -1, -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		fs := strings.Fields(l)
		if len(fs) < 2 {
			continue
		}
		var v int64
		for _, c := range fs[1] {
			v = v*10 + int64(c-'0')
		}
		switch fs[0] {
		case "Rss:":
			rss = v
		case "LazyFree:":
			lazy = v
		}
	}
	return rss, lazy
}
