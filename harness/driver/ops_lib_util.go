//go:build go1.21 && rthooks_lib

package main

// Shared helpers of the library GODEBUG probes (ops "lib.*", see ops_lib_*.go):
// self-signed certificates made at run time, an in-memory listener built on
// net.Pipe, and a minimal ResponseWriter. No probe touches the network.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"
)

// libErr is a probe's error field: the error's text, or nil.
func libErr(err error) interface{} {
	if err == nil {
		return nil
	}
	return err.Error()
}

// libKey makes a key: "ecdsa" (P-256) or "rsaNNNN"; "rsa8256" is the fixed
// key of ops_lib_rsa8256.go (too slow to generate at run time).
func libKey(kind string) (crypto.Signer, error) {
	if kind == "rsa8256" {
		return rsa8256Key()
	}
	if strings.HasPrefix(kind, "rsa") {
		bits := 2048
		switch kind {
		case "rsa1024":
			bits = 1024
		case "rsa2048":
			bits = 2048
		}
		return rsa.GenerateKey(rand.Reader, bits)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// libTemplate is a CA-capable certificate template for the name rthooks.test.
func libTemplate(serial int64) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "rthooks.test"},
		DNSNames:              []string{"rthooks.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

// libSelfSigned makes a self-signed certificate with a key of the given kind.
func libSelfSigned(kind string) (tls.Certificate, error) {
	key, err := libKey(kind)
	if err != nil {
		return tls.Certificate{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, libTemplate(127), libTemplate(127), key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// pipeListener is a net.Listener whose connections are net.Pipe pairs made by dial.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errors.New("pipe listener closed")
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial() (net.Conn, error) {
	c1, c2 := net.Pipe()
	select {
	case l.conns <- c2:
		return c1, nil
	case <-l.done:
		return nil, errors.New("pipe listener closed")
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// libInts reads with.k as a list of integers (absent: nil).
func libInts(w *withArgs, k string) []int {
	if !w.has(k) {
		return nil
	}
	l, ok := w.get(k).([]interface{})
	if !ok {
		badArgs("%s: with.%s must be a list of integers", w.what, k)
	}
	out := make([]int, 0, len(l))
	for _, e := range l {
		n, ok := toInt64(w.r.resolve(e))
		if !ok {
			badArgs("%s: with.%s must be a list of integers", w.what, k)
		}
		out = append(out, int(n))
	}
	return out
}
