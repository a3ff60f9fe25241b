//go:build go1.21 && rthooks_lib

package main

// The lib.gocmd op: runs the toolchain's go command (RTHOOKS_GO) in a small
// module made in the working directory, for the GODEBUG keys that the go
// command reads from its own environment (gocachehash, gocacheverify,
// gocachetest, gotestjsonbuildtext, allowmultiplevcs, embedfollowsymlinks,
// installgoroot).

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

func init() {
	registerOp("lib.gocmd", opLibGoCmd)
}

const libGoCmdMaxOutput = 4000

// opLibGoCmd: `dirs` (list) and `files` (path -> content) are made under
// the working directory, `symlinks` (link -> target) too; then each of
// `runs` ({args, env, dir, prog}) runs RTHOOKS_GO (or, with prog, the
// program dir/prog that an earlier run built) with args in dir (default
// "m"), with GOTOOLCHAIN=local, GOPROXY=off, GOENV=off, GOFLAGS= and
// without the driver's own GODEBUG, plus the run's env. Value: a list of
// {exit, stdout, stderr}, each output cut to its first 4000 bytes.
func opLibGoCmd(r *runner, w *withArgs) (interface{}, error) {
	gobin := os.Getenv("RTHOOKS_GO")
	if gobin == "" {
		unsupported("op lib.gocmd needs RTHOOKS_GO (the toolchain's go command)")
	}
	for _, d := range w.strs("dirs") {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if w.has("files") {
		files, ok := w.get("files").(map[string]interface{})
		if !ok {
			badArgs("lib.gocmd: with.files must be an object")
		}
		names := make([]string, 0, len(files))
		for k := range files {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			text, ok := files[name].(string)
			if !ok {
				badArgs("lib.gocmd: with.files values must be strings")
			}
			os.MkdirAll(filepath.Dir(name), 0o755)
			if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
				return nil, err
			}
		}
	}
	if w.has("symlinks") {
		links, ok := w.get("symlinks").(map[string]interface{})
		if !ok {
			badArgs("lib.gocmd: with.symlinks must be an object")
		}
		for link, target := range links {
			t, ok := target.(string)
			if !ok {
				badArgs("lib.gocmd: with.symlinks values must be strings")
			}
			if err := os.Symlink(t, link); err != nil {
				return nil, err
			}
		}
	}
	runs, ok := w.get("runs").([]interface{})
	if !ok {
		badArgs("lib.gocmd: with.runs must be a list")
	}
	var base []string
	for _, kv := range os.Environ() {
		k := kv[:strings.IndexByte(kv+"=", '=')]
		switch k {
		case "GODEBUG", "GOTOOLCHAIN", "GOPROXY", "GOENV", "GOFLAGS", "RTHOOKS_OBS_FD":
			continue
		}
		base = append(base, kv)
	}
	base = append(base, "GOTOOLCHAIN=local", "GOPROXY=off", "GOENV=off", "GOFLAGS=")
	var out []interface{}
	for _, ri := range runs {
		run, ok := ri.(map[string]interface{})
		if !ok {
			badArgs("lib.gocmd: each run must be an object")
		}
		var args []string
		al, _ := run["args"].([]interface{})
		for _, a := range al {
			s, ok := a.(string)
			if !ok {
				badArgs("lib.gocmd: args must be strings")
			}
			args = append(args, s)
		}
		env := append([]string(nil), base...)
		if e, ok := run["env"].(map[string]interface{}); ok {
			for k, v := range e {
				s, _ := v.(string)
				env = append(env, k+"="+s)
			}
		}
		dir, _ := run["dir"].(string)
		if dir == "" {
			dir = "m"
		}
		prog := gobin
		if p, ok := run["prog"].(string); ok && p != "" {
			// A program the module's build made, run from the run's dir.
			prog = "./" + p
		}
		cmd := exec.Command(prog, args...)
		cmd.Dir, cmd.Env = dir, env
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		code, err := runExit(cmd)
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]interface{}{"exit": code, "stdout": libCut(so.String()), "stderr": libCut(se.String())})
	}
	return out, nil
}

func libCut(s string) string {
	if len(s) > libGoCmdMaxOutput {
		return s[:libGoCmdMaxOutput]
	}
	return s
}
