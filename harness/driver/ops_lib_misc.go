//go:build go1.21 && rthooks_lib

package main

// Library GODEBUG probes outside net/http and crypto/tls: net/url,
// mime/multipart, archive/tar, archive/zip, html/template, os/exec, net
// (MPTCP defaults, the resolver), and crypto randomness. Everything
// happens in memory or in the working directory.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

func init() {
	registerOp("lib.url.parsequery", opLibURLParseQuery)
	registerOp("lib.url.parse", opLibURLParse)
	registerOp("lib.multipart.part", opLibMultipartPart)
	registerOp("lib.multipart.form", opLibMultipartForm)
	registerOp("lib.tar.next", opLibTarNext)
	registerOp("lib.zip.open", opLibZipOpen)
	registerOp("lib.template.exec", opLibTemplateExec)
	registerOp("lib.exec.lookpath", opLibExecLookPath)
	registerOp("lib.net.mptcp", opLibNetMPTCP)
	registerOp("lib.net.lookup", opLibNetLookup)
	registerOp("lib.net.edns0", opLibNetEDNS0)
	registerOp("lib.crypto.customrand", opLibCryptoCustomRand)
}

// opLibURLParseQuery: url.ParseQuery of `n` parameters "a=1&a=1&...";
// value {n: values parsed, err}.
func opLibURLParseQuery(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 1)
	v, err := url.ParseQuery(strings.TrimSuffix(strings.Repeat("a=1&", n), "&"))
	return map[string]interface{}{"n": len(v["a"]), "err": libErr(err)}, nil
}

// opLibURLParse: url.Parse(`url`); value {host, hostname, port, err}.
func opLibURLParse(r *runner, w *withArgs) (interface{}, error) {
	u, err := url.Parse(w.needStr("url"))
	out := map[string]interface{}{"host": nil, "hostname": nil, "port": nil, "err": libErr(err)}
	if u != nil {
		out["host"], out["hostname"], out["port"] = u.Host, u.Hostname(), u.Port()
	}
	return out, nil
}

// opLibMultipartPart: Reader.NextPart on a body whose one part has
// `headers` header lines; value {headers: len(part.Header), err}.
func opLibMultipartPart(r *runner, w *withArgs) (interface{}, error) {
	var b strings.Builder
	b.WriteString("--B\r\n")
	for i := 0; i < w.int("headers", 1); i++ {
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	b.WriteString("\r\nbody\r\n--B--\r\n")
	p, err := multipart.NewReader(strings.NewReader(b.String()), "B").NextPart()
	out := map[string]interface{}{"headers": nil, "err": libErr(err)}
	if p != nil {
		out["headers"] = len(p.Header)
	}
	return out, nil
}

// opLibMultipartForm: Reader.ReadForm on a form of `parts` parts of
// `headers` headers each (Content-Disposition, then X-H1, X-H2, ...):
// value parts, or with `files` file parts (a filename in the
// Content-Disposition), whose headers ReadForm counts against one limit
// for the whole form; value {values: number of form values, err}, plus
// `files`: the number of file headers, with `files`.
func opLibMultipartForm(r *runner, w *withArgs) (interface{}, error) {
	files := w.bool("files", false)
	headers := w.int("headers", 1)
	var b strings.Builder
	for i := 0; i < w.int("parts", 1); i++ {
		if files {
			fmt.Fprintf(&b, "--B\r\nContent-Disposition: form-data; name=\"f%d\"; filename=\"f%d.txt\"\r\n", i, i)
		} else {
			fmt.Fprintf(&b, "--B\r\nContent-Disposition: form-data; name=\"f%d\"\r\n", i)
		}
		for j := 1; j < headers; j++ {
			fmt.Fprintf(&b, "X-H%d: v\r\n", j)
		}
		b.WriteString("\r\nv\r\n")
	}
	b.WriteString("--B--\r\n")
	f, err := multipart.NewReader(strings.NewReader(b.String()), "B").ReadForm(1 << 20)
	out := map[string]interface{}{"values": nil, "err": libErr(err)}
	if files {
		out["files"] = nil
	}
	if f != nil {
		out["values"] = len(f.Value)
		if files {
			out["files"] = len(f.File)
		}
		f.RemoveAll()
	}
	return out, nil
}

// opLibTarNext: tar.Reader.Next on an archive holding one file named
// `name`; value {name, err}.
func opLibTarNext(r *runner, w *withArgs) (interface{}, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: w.needStr("name"), Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	h, err := tar.NewReader(&buf).Next()
	out := map[string]interface{}{"name": nil, "err": libErr(err)}
	if h != nil {
		out["name"] = h.Name
	}
	return out, nil
}

// opLibZipOpen: zip.NewReader on an archive of files named `names`;
// value {files: number of files the reader lists, err}.
func opLibZipOpen(r *runner, w *withArgs) (interface{}, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range w.strs("names") {
		f, err := zw.Create(n)
		if err != nil {
			return nil, err
		}
		f.Write([]byte("x"))
	}
	zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	out := map[string]interface{}{"files": nil, "err": libErr(err)}
	if zr != nil {
		out["files"] = len(zr.File)
	}
	return out, nil
}

// opLibTemplateExec: html/template `text` executed with the string `data`;
// value {out, err} (err: the parse, escape or execution error).
func opLibTemplateExec(r *runner, w *withArgs) (interface{}, error) {
	t, err := template.New("t").Parse(w.needStr("text"))
	if err != nil {
		return map[string]interface{}{"out": nil, "err": err.Error()}, nil
	}
	var b strings.Builder
	err = t.Execute(&b, w.str("data", ""))
	out := map[string]interface{}{"out": b.String(), "err": libErr(err)}
	if err != nil {
		out["out"] = nil
	}
	return out, nil
}

// opLibExecLookPath: an executable file `file` is created in the working
// directory, PATH is set to `path` (default "."), then exec.LookPath(file);
// value {path, err, errdot: errors.Is(err, exec.ErrDot)}.
func opLibExecLookPath(r *runner, w *withArgs) (interface{}, error) {
	file := w.str("file", "rthooks-prog")
	if err := os.WriteFile(file, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		return nil, err
	}
	os.Setenv("PATH", w.str("path", "."))
	p, err := exec.LookPath(file)
	return map[string]interface{}{"path": p, "err": libErr(err), "errdot": errors.Is(err, exec.ErrDot)}, nil
}

// opLibNetMPTCP: whether a zero Dialer and a zero ListenConfig would use
// MPTCP (MultipathTCP()), after SetMultipathTCP(dialer_set) and
// SetMultipathTCP(listener_set) where given; value {dialer, listener}.
func opLibNetMPTCP(r *runner, w *withArgs) (interface{}, error) {
	var d net.Dialer
	var lc net.ListenConfig
	if w.has("dialer_set") {
		d.SetMultipathTCP(w.bool("dialer_set", false))
	}
	if w.has("listener_set") {
		lc.SetMultipathTCP(w.bool("listener_set", false))
	}
	return map[string]interface{}{"dialer": d.MultipathTCP(), "listener": lc.MultipathTCP()}, nil
}

// opLibNetLookup: net.LookupHost(`host`, default "localhost") with the
// default resolver (answered from /etc/hosts for localhost); value {n, err}
// where n is the number of addresses. With netdns=...+N the net package
// prints its resolver decisions to stderr.
func opLibNetLookup(r *runner, w *withArgs) (interface{}, error) {
	addrs, err := net.LookupHost(w.str("host", "localhost"))
	return map[string]interface{}{"n": len(addrs), "err": libErr(err)}, nil
}

// opLibNetEDNS0: the Go resolver (Resolver{PreferGo: true}) looks up
// "probe.rthooks.test." through a Dial that returns a net.Pipe to an
// in-process DNS server; the server answers 192.0.2.1 and records whether
// the query carried an EDNS0 OPT record; value {edns0, addrs, err}.
func opLibNetEDNS0(r *runner, w *withArgs) (interface{}, error) {
	saw := make(chan bool, 16)
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		c1, c2 := net.Pipe()
		go libDNSServe(c2, saw)
		return c1, nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := res.LookupHost(ctx, "probe.rthooks.test.")
	out := map[string]interface{}{"addrs": addrs, "err": libErr(err), "edns0": nil}
	select {
	case e := <-saw:
		out["edns0"] = e
	default:
	}
	return out, nil
}

// libDNSServe answers DNS queries over a stream (2-byte length framing, as
// the Go resolver uses on a conn that is not a PacketConn): A queries get
// 192.0.2.1, others no answers. It reports each query's EDNS0 presence.
func libDNSServe(c net.Conn, saw chan<- bool) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil || len(q) < 12 {
			return
		}
		// Question: after the 12-byte header, a name then type and class.
		i := 12
		for i < len(q) && q[i] != 0 {
			i += int(q[i]) + 1
		}
		if i+5 > len(q) {
			return
		}
		qend := i + 5
		qtype := binary.BigEndian.Uint16(q[i+1:])
		arcount := binary.BigEndian.Uint16(q[10:])
		edns := false
		if arcount > 0 && qend+3 <= len(q) && q[qend] == 0 && binary.BigEndian.Uint16(q[qend+1:]) == 41 {
			edns = true
		}
		select {
		case saw <- edns:
		default:
		}
		resp := append([]byte(nil), q[:qend]...)
		resp[2] = 0x81 // QR, RD
		resp[3] = 0x80 // RA, NOERROR
		binary.BigEndian.PutUint16(resp[10:], 0)
		binary.BigEndian.PutUint16(resp[8:], 0)
		if qtype == 1 {
			binary.BigEndian.PutUint16(resp[6:], 1)
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1)
		} else {
			binary.BigEndian.PutUint16(resp[6:], 0)
		}
		var rl [2]byte
		binary.BigEndian.PutUint16(rl[:], uint16(len(resp)))
		if _, err := c.Write(append(rl[:], resp...)); err != nil {
			return
		}
	}
}

// libFixedReader fills every Read from the start of its pattern, so a
// skipped byte (randutil.MaybeReadByte) does not shift what later reads see.
type libFixedReader struct{ pattern []byte }

func (f *libFixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = f.pattern[i%len(f.pattern)]
	}
	return len(p), nil
}

// opLibCryptoCustomRand: crypto/rand.Prime(reader, 64) where every Read of
// the reader returns the bytes of the prime 2^64-59; value {custom: whether
// the result is that prime (the reader was used), err}.
func opLibCryptoCustomRand(r *runner, w *withArgs) (interface{}, error) {
	want := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc5}
	p, err := rand.Prime(&libFixedReader{pattern: want}, 64)
	if err != nil {
		return map[string]interface{}{"custom": nil, "err": err.Error()}, nil
	}
	return map[string]interface{}{"custom": bytes.Equal(p.Bytes(), want), "err": nil}, nil
}

var _ = sort.Strings
