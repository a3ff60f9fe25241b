package main

import (
	"encoding/json"
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// runtime.build.run builds and runs one of a few fixed probe programs with
// the toolchain that built the driver (RTHOOKS_GO), for behaviours decided
// at build or link time. with: program (a name from probePrograms), env
// (added to the build's environment, e.g. GOFIPS140), gopath (build in
// GOPATH mode, GO111MODULE=off), vcs (build inside a fresh git repository
// with one commit), rand (the probe also imports math/rand, which links
// internal/godebug), key (the GODEBUG key a metric probe reads), goline
// (go.mod's go line; default the toolchain's), run_env (added to the run's
// environment), cgroup ({quota_us, period_us}: run the probe inside a new
// CPU cgroup with that quota, as runtime.cgroup.child does; Linux, root). Value: {build_error,
// output}: the build's error text (null when it built) and the JSON the
// program printed (buildinfo: {ok, nil, settings, vcs, path, main_path, deps}, vcs holding the
// "vcs.*" settings without their prefix, since a case's references cannot
// spell a key with a dot).
func init() {
	registerOp("runtime.build.run", opBuildRun)
}

var probePrograms = map[string]string{
	// Nothing references runtime.MemProfile, so the linker disables memory profiling.
	"memprofilerate": `fmt.Printf("{\"MemProfileRate\": %d}", runtime.MemProfileRate)`,
	"buildinfo": `bi, ok := debug.ReadBuildInfo()
	settings, vcs := map[string]string{}, map[string]string{}
	if bi != nil {
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
			if len(s.Key) > 4 && s.Key[:4] == "vcs." {
				vcs[s.Key[4:]] = s.Value
			}
		}
	}
	info := map[string]interface{}{"ok": ok, "nil": bi == nil, "settings": settings, "vcs": vcs}
	if bi != nil {
		info["path"], info["main_path"], info["deps"] = bi.Path, bi.Main.Path, len(bi.Deps)
	}
	out, _ := json.Marshal(info)
	fmt.Print(string(out))`,
	"godebug-metric": `s := []metrics.Sample{{Name: "/godebug/non-default-behavior/" + os.Getenv("RTHOOKS_PROBE_KEY") + ":events"}}
	metrics.Read(s)
	var v uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		v = s[0].Value.Uint64()
	}
	// A second read after a GC: the counter may only have grown (#monotonic).
	runtime.GC()
	metrics.Read(s)
	var again uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		again = s[0].Value.Uint64()
	}
	fmt.Printf("{\"events\": %d, \"events_again\": %d, \"version\": %q}", v, again, runtime.Version())`,
	"version": `fmt.Printf("{\"version\": %q}", runtime.Version())`,
}

func probeSource(body string, rand bool) string {
	imports := []string{"encoding/json", "fmt", "os", "runtime", "runtime/debug", "runtime/metrics"}
	use := "var _ = json.Marshal\nvar _ = os.Getenv\nvar _ = debug.ReadBuildInfo\nvar _ = metrics.Read\nvar _ = runtime.Version\n"
	if rand {
		imports = append(imports, "math/rand")
		use += "var _ = rand.Int\n"
	}
	return "package main\n\nimport (\n\t\"" + strings.Join(imports, "\"\n\t\"") + "\"\n)\n\n" + use + "\nfunc main() {\n\t" + body + "\n}\n"
}

func opBuildRun(r *runner, w *withArgs) (interface{}, error) {
	gobin := os.Getenv("RTHOOKS_GO")
	if gobin == "" {
		unsupported("runtime.build.run needs RTHOOKS_GO (the toolchain's go command)")
	}
	body, ok := probePrograms[w.needStr("program")]
	if !ok {
		badArgs("op runtime.build.run: unknown program %q", w.needStr("program"))
	}
	dir, err := ioutil.TempDir("", "rthooks-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0755); err != nil {
		return nil, err
	}
	if err := ioutil.WriteFile(filepath.Join(src, "main.go"), []byte(probeSource(body, w.bool("rand", false))), 0644); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=", "GOPATH="+filepath.Join(dir, "gopath"))
	for k, v := range w.strMap("env") {
		env = append(env, k+"="+v)
	}
	gopath := w.bool("gopath", false)
	if gopath {
		env = append(env, "GO111MODULE=off")
	} else {
		goline := w.str("goline", "")
		if goline == "" {
			v := strings.TrimPrefix(runtime.Version(), "go")
			if parts := strings.SplitN(v, ".", 3); len(parts) >= 2 {
				goline = parts[0] + "." + strings.Fields(parts[1])[0]
			}
		}
		gomod := "module rthooks.dev/probe\n\ngo " + goline + "\n"
		if err := ioutil.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0644); err != nil {
			return nil, err
		}
	}
	if w.bool("vcs", false) {
		if _, err := exec.LookPath("git"); err != nil {
			unsupported("runtime.build.run: vcs needs git")
		}
		genv := append(env, "GIT_AUTHOR_NAME=rthooks", "GIT_AUTHOR_EMAIL=rthooks@example.invalid",
			"GIT_COMMITTER_NAME=rthooks", "GIT_COMMITTER_EMAIL=rthooks@example.invalid",
			"GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "probe"}} {
			cmd := exec.Command("git", args...)
			cmd.Dir, cmd.Env = src, genv
			if out, err := cmd.CombinedOutput(); err != nil {
				unsupported("runtime.build.run: git %s: %v: %s", args[0], err, out)
			}
		}
	}
	exe := filepath.Join(dir, "probe")
	build := exec.Command(gobin, "build", "-o", exe, ".")
	build.Dir, build.Env = src, env
	if out, err := build.CombinedOutput(); err != nil {
		return map[string]interface{}{"build_error": strings.TrimSpace(string(out)), "output": nil}, nil
	}
	run := exec.Command(exe)
	run.Env = append(os.Environ(), "RTHOOKS_PROBE_KEY="+w.str("key", ""))
	for k, v := range w.strMap("run_env") {
		run.Env = append(run.Env, k+"="+v)
	}
	var out []byte
	if w.has("cgroup") {
		m, ok := w.get("cgroup").(map[string]interface{})
		if !ok {
			badArgs("op runtime.build.run: with.cgroup must be a mapping {quota_us, period_us}")
		}
		cg := &withArgs{r: w.r, what: w.what + " cgroup", m: m}
		out, err = outputInCPUCgroup(cg.int("quota_us", 100000), cg.int("period_us", 100000), exe, run.Env)
	} else {
		out, err = run.Output()
	}
	if err != nil {
		return nil, err
	}
	var v interface{}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, err
	}
	return map[string]interface{}{"build_error": nil, "output": v}, nil
}
