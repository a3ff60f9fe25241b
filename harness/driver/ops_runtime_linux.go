package main

import (
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// Linux ops of the runtime area: the CPU affinity of the whole process,
// memory the Go runtime does not manage, and a child process started in a
// CPU cgroup with a quota.
func init() {
	registerOp("runtime.affinity", opRuntimeAffinity)
	registerOp("runtime.mmap", opRuntimeMmap)
	registerOp("runtime.cgroup.child", opCgroupChild)
	if os.Getenv("RTHOOKS_GOMAXPROCS_CHILD") == "1" {
		// The child of runtime.cgroup.child: report and exit before main
		// (internal/godebug, which the driver links, has run its init by now,
		// so the runtime's deferred containermaxprocs count is in place).
		s := []metrics.Sample{{Name: "/godebug/non-default-behavior/containermaxprocs:events"}}
		metrics.Read(s)
		events := "-1"
		if s[0].Value.Kind() == metrics.KindUint64 {
			events = strconv.FormatUint(s[0].Value.Uint64(), 10)
		}
		os.Stdout.WriteString(strconv.Itoa(runtime.GOMAXPROCS(0)) + " " + strconv.Itoa(runtime.NumCPU()) + " " + events + "\n")
		os.Exit(0)
	}
}

// opRuntimeAffinity sets the CPU affinity mask of every thread of the
// process to with.cpus (a list of CPU numbers) and returns how many CPUs
// the calling thread may now use.
func opRuntimeAffinity(r *runner, w *withArgs) (interface{}, error) {
	l, ok := w.get("cpus").([]interface{})
	if !ok || len(l) == 0 {
		badArgs("op runtime.affinity: with.cpus must be a non-empty list of CPU numbers")
	}
	var mask [16]uint64
	for _, e := range l {
		n, ok := toInt64(e)
		if !ok || n < 0 || n >= 1024 {
			badArgs("op runtime.affinity: bad CPU number %v", e)
		}
		mask[n/64] |= 1 << uint(n%64)
	}
	tasks, err := ioutil.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
		if e != 0 && e != syscall.ESRCH {
			return nil, e
		}
	}
	var got [16]uint64
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(got), uintptr(unsafe.Pointer(&got)))
	if e != 0 {
		return nil, e
	}
	count := 0
	for _, word := range got {
		for ; word != 0; word &= word - 1 {
			count++
		}
	}
	return count, nil
}

var mmapped [][]byte

// opRuntimeMmap maps with.bytes of anonymous memory with syscall.Mmap
// (outside the Go heap), touches every page, keeps the mapping and reports
// the size.
func opRuntimeMmap(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("bytes", 1<<20)
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	mmapped = append(mmapped, b)
	return n, nil
}

// opCgroupChild creates a child cgroup of the CPU controller (cgroup v2
// cpu.max, or v1 cpu.cfs_quota_us/cpu.cfs_period_us) with the quota
// with.quota_us per with.period_us (default 100000), starts this driver in
// it with the environment plus with.env, and reports the child's
// {GOMAXPROCS, NumCPU} at start. The cgroup is removed afterwards.
func opCgroupChild(r *runner, w *withArgs) (interface{}, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "RTHOOKS_GOMAXPROCS_CHILD=1")
	for k, v := range w.strMap("env") {
		env = append(env, k+"="+v)
	}
	out, err := outputInCPUCgroup(w.int("quota_us", 100000), w.int("period_us", 100000), self, env)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(out))
	if len(f) != 3 {
		return nil, syscall.EINVAL
	}
	procs, _ := strconv.Atoi(f[0])
	ncpu, _ := strconv.Atoi(f[1])
	res := map[string]interface{}{"GOMAXPROCS": procs, "NumCPU": ncpu}
	if events, err := strconv.ParseInt(f[2], 10, 64); err == nil && events >= 0 {
		res["containermaxprocs_events"] = events // the metric exists from Go 1.25
	}
	return res, nil
}

// outputInCPUCgroup runs the program exe with env inside a new child cgroup
// of the CPU controller whose quota is quota microseconds per period, and
// returns its standard output. The op is unsupported without a writable
// CPU controller (root). The cgroup is removed afterwards.
func outputInCPUCgroup(quota, period int, exe string, env []string) ([]byte, error) {
	dir, v2, err := cgroupCPUDir()
	if err != nil {
		unsupported("no writable CPU cgroup controller: %v", err)
	}
	cg := filepath.Join(dir, "rthooks-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(cg, 0755); err != nil {
		unsupported("cannot create a cgroup: %v", err)
	}
	defer os.Remove(cg)
	if v2 {
		err = ioutil.WriteFile(filepath.Join(cg, "cpu.max"), []byte(strconv.Itoa(quota)+" "+strconv.Itoa(period)), 0644)
	} else {
		err = ioutil.WriteFile(filepath.Join(cg, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0644)
		if err == nil {
			err = ioutil.WriteFile(filepath.Join(cg, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0644)
		}
	}
	if err != nil {
		unsupported("cannot set the cgroup's CPU quota: %v", err)
	}
	// The program must start inside the cgroup (the runtime finds its
	// cgroup once, at startup): a shell moves itself there, then execs it.
	cmd := exec.Command("/bin/sh", "-c", `echo $$ > "$1/cgroup.procs" && exec "$2"`, "sh", cg, exe)
	cmd.Env = env
	return cmd.Output()
}

// cgroupCPUDir finds the CPU controller's directory of this process's
// cgroup: the unified (v2) hierarchy if it has the cpu controller, else
// the v1 cpu hierarchy.
func cgroupCPUDir() (string, bool, error) {
	data, err := ioutil.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false, err
	}
	mounts, err := ioutil.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		v1 := false
		for _, c := range strings.Split(parts[1], ",") {
			if c == "cpu" {
				v1 = true
			}
		}
		if !v1 && parts[1] != "" {
			continue
		}
		for _, m := range strings.Split(string(mounts), "\n") {
			f := strings.Fields(m)
			sep := -1
			for i, x := range f {
				if x == "-" {
					sep = i
				}
			}
			if sep < 0 || sep+2 >= len(f) || len(f) < 5 {
				continue
			}
			fstype, opts := f[sep+1], f[len(f)-1]
			if v1 && fstype == "cgroup" && hasOpt(opts, "cpu") {
				return filepath.Join(f[4], strings.TrimPrefix(parts[2], f[3])), false, nil
			}
			if !v1 && fstype == "cgroup2" {
				dir := filepath.Join(f[4], strings.TrimPrefix(parts[2], f[3]))
				ctl, err := ioutil.ReadFile(filepath.Join(dir, "cgroup.controllers"))
				if err == nil && hasOpt(strings.Replace(strings.TrimSpace(string(ctl)), " ", ",", -1), "cpu") {
					return dir, true, nil
				}
			}
		}
	}
	return "", false, os.ErrNotExist
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}
