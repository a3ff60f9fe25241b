// Command probe reports facts about the Go toolchain that builds it, for
// `rthooks spec check`: the exported API of the runtime-hook packages as read
// from GOROOT sources (linux/amd64 view), and metrics.All() of the running
// runtime. It uses only the standard library and no generics so that every
// toolchain from Go 1.18 (gccgo) to 1.27 builds it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
)

// Item is one exported API element.
type Item struct {
	Package    string   `json:"package"`
	Kind       string   `json:"kind"` // function, method, type, const, var
	Name       string   `json:"name"`
	Receiver   string   `json:"receiver,omitempty"`
	Signature  string   `json:"signature"`
	Fields     []string `json:"fields,omitempty"`
	Deprecated bool     `json:"deprecated,omitempty"`
	Doc        string   `json:"doc,omitempty"`
	File       string   `json:"file"`
}

// Metric is one entry of metrics.All().
type Metric struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Cumulative  bool   `json:"cumulative"`
	Description string `json:"description"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe api GOROOT PKG... | probe metrics | probe version")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "version":
		fmt.Println(runtime.Version())
	case "metrics":
		var out []Metric
		for _, d := range metrics.All() {
			out = append(out, Metric{d.Name, kindName(d.Kind), d.Cumulative, d.Description})
		}
		emit(out)
	case "api":
		if len(os.Args) < 4 {
			fmt.Fprintln(os.Stderr, "usage: probe api GOROOT PKG...")
			os.Exit(2)
		}
		var out []Item
		for _, p := range os.Args[3:] {
			items, err := api(os.Args[2], p)
			if err != nil {
				fmt.Fprintln(os.Stderr, "probe:", err)
				os.Exit(1)
			}
			out = append(out, items...)
		}
		emit(out)
	default:
		fmt.Fprintln(os.Stderr, "probe: unknown command", os.Args[1])
		os.Exit(2)
	}
}

func emit(v interface{}) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func kindName(k metrics.ValueKind) string {
	switch k {
	case metrics.KindUint64:
		return "uint64"
	case metrics.KindFloat64:
		return "float64"
	case metrics.KindFloat64Histogram:
		return "float64-histogram"
	}
	return "bad"
}

func api(goroot, path string) ([]Item, error) {
	ctx := build.Default
	ctx.GOROOT = goroot
	// The port whose build constraints select the files (default linux/amd64): per-port API facts.
	ctx.GOOS, ctx.GOARCH = envOr("RTHOOKS_PROBE_GOOS", "linux"), envOr("RTHOOKS_PROBE_GOARCH", "amd64")
	ctx.CgoEnabled = ctx.GOOS == "linux" && ctx.GOARCH == "amd64"
	ctx.Compiler = "gc"
	dir := filepath.Join(goroot, "src", filepath.FromSlash(path))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	pkgName := ""
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		ok, err := ctx.MatchFile(dir, n)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(f.Name.Name, "_test") {
			continue
		}
		pkgName = f.Name.Name
		files[filepath.Join(dir, n)] = f
	}
	astPkg := &ast.Package{Name: pkgName, Files: files}
	d := doc.New(astPkg, path, doc.PreserveAST)
	var out []Item
	rel := func(pos token.Pos) string {
		p := fset.Position(pos).Filename
		r, err := filepath.Rel(goroot, p)
		if err != nil {
			return p
		}
		return filepath.ToSlash(r)
	}
	addFunc := func(f *doc.Func, recv string) {
		decl := *f.Decl
		decl.Body = nil
		decl.Doc = nil
		kind := "function"
		if recv != "" {
			kind = "method"
		}
		out = append(out, Item{Package: path, Kind: kind, Name: f.Name, Receiver: recv,
			Signature: node(fset, &decl), Deprecated: deprecated(f.Doc), Doc: f.Doc, File: rel(f.Decl.Pos())})
	}
	addValues := func(vs []*doc.Value, kind string) {
		for _, v := range vs {
			for _, spec := range v.Decl.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !n.IsExported() {
						continue
					}
					sig := kind + " " + n.Name
					if vs.Type != nil {
						sig += " " + node(fset, vs.Type)
					}
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
							sig += " = " + lit.Value
						}
					}
					out = append(out, Item{Package: path, Kind: kind, Name: n.Name, Signature: sig,
						Deprecated: deprecated(v.Doc), Doc: v.Doc, File: rel(n.Pos())})
				}
			}
		}
	}
	for _, f := range d.Funcs {
		addFunc(f, "")
	}
	addValues(d.Consts, "const")
	addValues(d.Vars, "var")
	for _, t := range d.Types {
		ts := t.Decl.Specs[0].(*ast.TypeSpec)
		it := Item{Package: path, Kind: "type", Name: t.Name, Deprecated: deprecated(t.Doc), Doc: t.Doc, File: rel(ts.Pos())}
		tp := ""
		if ts.TypeParams != nil {
			tp = node(fset, ts.TypeParams)
			tp = "[" + strings.TrimSuffix(strings.TrimPrefix(tp, "("), ")") + "]"
		}
		eq := " "
		if ts.Assign.IsValid() {
			eq = " = "
		}
		switch tt := ts.Type.(type) {
		case *ast.StructType:
			it.Signature = "type " + t.Name + tp + " struct"
			for _, f := range tt.Fields.List {
				for _, n := range f.Names {
					if n.IsExported() {
						it.Fields = append(it.Fields, n.Name+" "+node(fset, f.Type))
					}
				}
				if len(f.Names) == 0 {
					it.Fields = append(it.Fields, "embedded "+node(fset, f.Type))
				}
			}
		case *ast.InterfaceType:
			it.Signature = "type " + t.Name + tp + " interface"
			for _, f := range tt.Methods.List {
				for _, n := range f.Names {
					if n.IsExported() {
						it.Fields = append(it.Fields, n.Name+strings.TrimPrefix(node(fset, f.Type), "func"))
					}
				}
				if len(f.Names) == 0 {
					it.Fields = append(it.Fields, "embedded "+node(fset, f.Type))
				}
			}
		default:
			it.Signature = "type " + t.Name + tp + eq + node(fset, ts.Type)
		}
		out = append(out, it)
		addValues(t.Consts, "const")
		addValues(t.Vars, "var")
		for _, f := range t.Funcs {
			addFunc(f, "")
		}
		for _, f := range t.Methods {
			addFunc(f, t.Name)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Receiver != b.Receiver {
			return a.Receiver < b.Receiver
		}
		return a.Name < b.Name
	})
	return out, nil
}

func node(fset *token.FileSet, n interface{}) string {
	var buf bytes.Buffer
	cfg := printer.Config{Mode: printer.RawFormat}
	if err := cfg.Fprint(&buf, fset, n); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return strings.Join(strings.Fields(buf.String()), " ")
}

func deprecated(text string) bool {
	for _, para := range strings.Split(text, "\n\n") {
		if strings.HasPrefix(para, "Deprecated: ") {
			return true
		}
	}
	return false
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
