//go:build go1.21 && rthooks_lib

package main

// net/http probes for the library GODEBUG keys (http2*, httpcookiemaxnum,
// httplaxcontentlength, httpmuxgo121, httpservecontent*). HTTP/2 runs over
// TLS on net.Pipe; the others use http.ReadResponse or a ResponseWriter
// recorder, with no connection at all.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func init() {
	registerOp("lib.http.proto", opLibHTTPProto)
	registerOp("lib.http.cookies", opLibHTTPCookies)
	registerOp("lib.http.contentlength", opLibHTTPContentLength)
	registerOp("lib.http.mux", opLibHTTPMux)
	registerOp("lib.http.servecontent", opLibHTTPServeContent)
}

// libRecorder is a minimal http.ResponseWriter.
type libRecorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func (r *libRecorder) Header() http.Header { return r.h }
func (r *libRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *libRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(b)
}

// opLibHTTPProto: one GET through a Transport configured like
// DefaultTransport (ForceAttemptHTTP2) to an http.Server serving TLS on a
// pipe listener; value {proto, err}: the response's protocol.
func opLibHTTPProto(r *runner, w *withArgs) (interface{}, error) {
	cert, err := libSelfSigned("ecdsa")
	if err != nil {
		return nil, err
	}
	l := newPipeListener()
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) { io.WriteString(rw, req.Proto) }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		ErrorLog:  nil,
	}
	go srv.ServeTLS(l, "", "")
	tr := &http.Transport{
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return l.dial()
		},
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		TLSHandshakeTimeout: 10 * time.Second,
	}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	out := map[string]interface{}{"proto": nil, "err": nil}
	resp, err := client.Get("https://rthooks.test/")
	if err != nil {
		out["err"] = err.Error()
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out["proto"] = resp.Proto
	}
	tr.CloseIdleConnections()
	srv.Close()
	l.Close()
	return out, nil
}

// opLibHTTPCookies: a request whose Cookie header holds `n` cookies
// ("a=1; a=1; ..."); value: len(Request.Cookies()).
func opLibHTTPCookies(r *runner, w *withArgs) (interface{}, error) {
	n := w.int("n", 1)
	req, _ := http.NewRequest("GET", "http://rthooks.test/", nil)
	req.Header.Set("Cookie", strings.TrimSuffix(strings.Repeat("a=1; ", n), "; "))
	return len(req.Cookies()), nil
}

// opLibHTTPContentLength: http.ReadResponse of a response whose
// Content-Length header is `value` (default empty); value {length, err}.
func opLibHTTPContentLength(r *runner, w *withArgs) (interface{}, error) {
	raw := "HTTP/1.1 200 OK\r\nContent-Length: " + w.str("value", "") + "\r\n\r\nbody"
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	out := map[string]interface{}{"length": nil, "err": libErr(err)}
	if resp != nil {
		out["length"] = resp.ContentLength
	}
	return out, nil
}

// opLibHTTPMux: a new ServeMux with `patterns` registered (each handler
// writes its pattern; a pattern the mux rejects is reported under
// "register_err"), then a request `method` `path`; value {status, body,
// register_err}. `setenv_godebug`, if given, is put into the GODEBUG
// environment variable (os.Setenv) before the mux is made.
func opLibHTTPMux(r *runner, w *withArgs) (interface{}, error) {
	if w.has("setenv_godebug") {
		os.Setenv("GODEBUG", w.str("setenv_godebug", ""))
	}
	mux := http.NewServeMux()
	var regErr interface{}
	for _, p := range w.strs("patterns") {
		p := p
		func() {
			defer func() {
				if e := recover(); e != nil && regErr == nil {
					regErr = panicText(e)
				}
			}()
			mux.HandleFunc(p, func(rw http.ResponseWriter, req *http.Request) { io.WriteString(rw, p) })
		}()
	}
	req, err := http.NewRequest(w.str("method", "GET"), "http://rthooks.test"+w.str("path", "/"), nil)
	if err != nil {
		return nil, err
	}
	rec := &libRecorder{h: http.Header{}}
	mux.ServeHTTP(rec, req)
	return map[string]interface{}{"status": rec.code, "body": rec.body.String(), "register_err": regErr}, nil
}

// opLibHTTPServeContent: http.ServeContent of `size` bytes (default 1000)
// for a request with Range header `range`, the caller having set
// Cache-Control: max-age=60 first; value {status, cache_control, parts}
// where parts is the number of multipart/byteranges parts (0 if not multipart).
func opLibHTTPServeContent(r *runner, w *withArgs) (interface{}, error) {
	content := strings.Repeat("x", w.int("size", 1000))
	req, _ := http.NewRequest("GET", "http://rthooks.test/f", nil)
	if w.has("range") {
		req.Header.Set("Range", w.str("range", ""))
	}
	rec := &libRecorder{h: http.Header{}}
	rec.h.Set("Cache-Control", "max-age=60")
	http.ServeContent(rec, req, "f.txt", time.Time{}, strings.NewReader(content))
	parts := 0
	if strings.HasPrefix(rec.h.Get("Content-Type"), "multipart/byteranges") {
		parts = strings.Count(rec.body.String(), "Content-Range:")
	}
	return map[string]interface{}{"status": rec.code, "cache_control": rec.h.Get("Cache-Control"), "parts": parts}, nil
}

var _ = errors.New
