//go:build go1.21 && rthooks_lib

package main

// A hand-written TLS 1.2 peer (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 over
// P-256), for the GODEBUG keys about connections that crypto/tls itself
// never makes: one without Extended Master Secret (tlsunsafeekm,
// fips140ems) or with chosen signature algorithms. It is only as complete
// as those handshakes need: it verifies nothing the peer sends.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

func init() {
	registerOp("lib.tls.rawclient", opLibTLSRawClient)
	registerOp("lib.tls.rawserver", opLibTLSRawServer)
}

const rawSuite = 0xc02b // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256

type rawPeer struct {
	c          net.Conn
	buf        []byte // handshake bytes read but not yet consumed
	transcript []byte
}

func (p *rawPeer) writeRecord(typ byte, payload []byte) error {
	h := []byte{typ, 3, 3, byte(len(payload) >> 8), byte(len(payload))}
	_, err := p.c.Write(append(h, payload...))
	return err
}

func (p *rawPeer) readRecord() (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(p.c, h[:]); err != nil {
		return 0, nil, err
	}
	body := make([]byte, binary.BigEndian.Uint16(h[3:]))
	if _, err := io.ReadFull(p.c, body); err != nil {
		return 0, nil, err
	}
	if h[0] == 21 {
		return 0, nil, fmt.Errorf("raw peer: received alert %v", body)
	}
	return h[0], body, nil
}

// readHandshake returns the next handshake message (type and body), adding it to the transcript.
func (p *rawPeer) readHandshake() (byte, []byte, error) {
	for len(p.buf) < 4 || len(p.buf) < 4+int(p.buf[1])<<16|int(p.buf[2])<<8|int(p.buf[3]) {
		typ, body, err := p.readRecord()
		if err != nil {
			return 0, nil, err
		}
		if typ != 22 {
			return 0, nil, fmt.Errorf("raw peer: record type %d, want handshake", typ)
		}
		p.buf = append(p.buf, body...)
	}
	n := 4 + (int(p.buf[1])<<16 | int(p.buf[2])<<8 | int(p.buf[3]))
	msg := p.buf[:n]
	p.buf = p.buf[n:]
	p.transcript = append(p.transcript, msg...)
	return msg[0], msg[4:], nil
}

func rawHS(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

func (p *rawPeer) writeHandshake(msgs ...[]byte) error {
	var all []byte
	for _, m := range msgs {
		p.transcript = append(p.transcript, m...)
		all = append(all, m...)
	}
	return p.writeRecord(22, all)
}

func rawPRF(secret []byte, label string, seed []byte, n int) []byte {
	seed = append([]byte(label), seed...)
	var out []byte
	a := seed
	for len(out) < n {
		m := hmac.New(sha256.New, secret)
		m.Write(a)
		a = m.Sum(nil)
		m = hmac.New(sha256.New, secret)
		m.Write(a)
		m.Write(seed)
		out = append(out, m.Sum(nil)...)
	}
	return out[:n]
}

type rawKeys struct {
	master                                   []byte
	clientKey, serverKey, clientIV, serverIV []byte
}

func rawDeriveKeys(pre, crand, srand, sessionHash []byte, ems bool) rawKeys {
	var k rawKeys
	if ems {
		k.master = rawPRF(pre, "extended master secret", sessionHash, 48)
	} else {
		k.master = rawPRF(pre, "master secret", append(append([]byte(nil), crand...), srand...), 48)
	}
	kb := rawPRF(k.master, "key expansion", append(append([]byte(nil), srand...), crand...), 40)
	k.clientKey, k.serverKey, k.clientIV, k.serverIV = kb[0:16], kb[16:32], kb[32:36], kb[36:40]
	return k
}

func rawAEAD(key []byte) cipher.AEAD {
	b, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(b)
	return g
}

// rawSeal encrypts a record payload with sequence number 0 (the only one these handshakes use).
func rawSeal(key, iv []byte, typ byte, plain []byte) []byte {
	explicit := make([]byte, 8)
	nonce := append(append([]byte(nil), iv...), explicit...)
	aad := append(make([]byte, 8), typ, 3, 3, byte(len(plain)>>8), byte(len(plain)))
	return append(explicit, rawAEAD(key).Seal(nil, nonce, plain, aad)...)
}

func rawOpen(key, iv []byte, typ byte, rec []byte) ([]byte, error) {
	if len(rec) < 8+16 {
		return nil, errors.New("raw peer: short encrypted record")
	}
	nonce := append(append([]byte(nil), iv...), rec[:8]...)
	n := len(rec) - 8 - 16
	aad := append(make([]byte, 8), typ, 3, 3, byte(n>>8), byte(n))
	return rawAEAD(key).Open(nil, nonce, rec[8:], aad)
}

func rawExt(typ uint16, data []byte) []byte {
	return append([]byte{byte(typ >> 8), byte(typ), byte(len(data) >> 8), byte(len(data))}, data...)
}

func rawHash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// rawClient performs a TLS 1.2 handshake as a client offering only
// rawSuite, P-256, the given signature algorithms and, if ems, Extended
// Master Secret. It returns after reading the server's Finished record.
func rawClient(c net.Conn, ems bool, sigalgs []int) error {
	p := &rawPeer{c: c}
	crand := make([]byte, 32)
	rand.Read(crand)
	var sa []byte
	for _, s := range sigalgs {
		sa = append(sa, byte(s>>8), byte(s))
	}
	exts := rawExt(0x000a, []byte{0, 2, 0, 0x17})
	exts = append(exts, rawExt(0x000b, []byte{1, 0})...)
	if len(sigalgs) > 0 { // an empty list: no signature_algorithms extension at all
		exts = append(exts, rawExt(0x000d, append([]byte{byte(len(sa) >> 8), byte(len(sa))}, sa...))...)
	}
	if ems {
		exts = append(exts, rawExt(0x0017, nil)...)
	}
	hello := []byte{3, 3}
	hello = append(hello, crand...)
	hello = append(hello, 0, 0, 2, byte(rawSuite>>8), byte(rawSuite&0xff), 1, 0)
	hello = append(hello, byte(len(exts)>>8), byte(len(exts)))
	hello = append(hello, exts...)
	if err := p.writeHandshake(rawHS(1, hello)); err != nil {
		return err
	}
	var srand, spub []byte
	for done := false; !done; {
		typ, body, err := p.readHandshake()
		if err != nil {
			return err
		}
		switch typ {
		case 2: // ServerHello
			if len(body) < 34 {
				return errors.New("raw client: short ServerHello")
			}
			srand = append([]byte(nil), body[2:34]...)
		case 12: // ServerKeyExchange: curve type, named curve, point
			if len(body) < 4 || len(body) < 4+int(body[3]) {
				return errors.New("raw client: short ServerKeyExchange")
			}
			spub = append([]byte(nil), body[4:4+int(body[3])]...)
		case 14: // ServerHelloDone
			done = true
		}
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	peer, err := ecdh.P256().NewPublicKey(spub)
	if err != nil {
		return err
	}
	pre, err := priv.ECDH(peer)
	if err != nil {
		return err
	}
	pub := priv.PublicKey().Bytes()
	if err := p.writeHandshake(rawHS(16, append([]byte{byte(len(pub))}, pub...))); err != nil {
		return err
	}
	k := rawDeriveKeys(pre, crand, srand, rawHash(p.transcript), ems)
	if err := p.writeRecord(20, []byte{1}); err != nil {
		return err
	}
	fin := rawHS(20, rawPRF(k.master, "client finished", rawHash(p.transcript), 12))
	if err := p.writeRecord(22, rawSeal(k.clientKey, k.clientIV, 22, fin)); err != nil {
		return err
	}
	for {
		typ, _, err := p.readRecord()
		if err != nil {
			return err
		}
		if typ == 22 { // the server's (encrypted) Finished
			return nil
		}
	}
}

// rawServer performs a TLS 1.2 handshake as a server with the ECDSA
// certificate cert, echoing Extended Master Secret only if ems (and the
// client offered it).
func rawServer(c net.Conn, cert tls.Certificate, ems bool) error {
	p := &rawPeer{c: c}
	typ, body, err := p.readHandshake()
	if err != nil {
		return err
	}
	if typ != 1 || len(body) < 34 {
		return errors.New("raw server: no ClientHello")
	}
	crand := append([]byte(nil), body[2:34]...)
	srand := make([]byte, 32)
	rand.Read(srand)
	var exts []byte
	if ems {
		exts = append(exts, rawExt(0x0017, nil)...)
	}
	exts = append(exts, rawExt(0x000b, []byte{1, 0})...)
	exts = append(exts, rawExt(0xff01, []byte{0})...)
	sh := []byte{3, 3}
	sh = append(sh, srand...)
	sh = append(sh, 0, byte(rawSuite>>8), byte(rawSuite&0xff), 0, byte(len(exts)>>8), byte(len(exts)))
	sh = append(sh, exts...)
	der := cert.Certificate[0]
	n := len(der)
	certs := []byte{byte((n + 3) >> 16), byte((n + 3) >> 8), byte(n + 3), byte(n >> 16), byte(n >> 8), byte(n)}
	certs = append(certs, der...)
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pub := priv.PublicKey().Bytes()
	params := append([]byte{3, 0, 0x17, byte(len(pub))}, pub...)
	signed := append(append(append([]byte(nil), crand...), srand...), params...)
	sig, err := ecdsa.SignASN1(rand.Reader, cert.PrivateKey.(*ecdsa.PrivateKey), rawHash(signed))
	if err != nil {
		return err
	}
	ske := append(append([]byte(nil), params...), 4, 3, byte(len(sig)>>8), byte(len(sig)))
	ske = append(ske, sig...)
	if err := p.writeHandshake(rawHS(2, sh), rawHS(11, certs), rawHS(12, ske), rawHS(14, nil)); err != nil {
		return err
	}
	typ, body, err = p.readHandshake()
	if err != nil {
		return err
	}
	if typ != 16 || len(body) < 1 || len(body) < 1+int(body[0]) {
		return errors.New("raw server: no ClientKeyExchange")
	}
	peer, err := ecdh.P256().NewPublicKey(body[1 : 1+int(body[0])])
	if err != nil {
		return err
	}
	pre, err := priv.ECDH(peer)
	if err != nil {
		return err
	}
	k := rawDeriveKeys(pre, crand, srand, rawHash(p.transcript), ems)
	if typ, _, err := p.readRecord(); err != nil || typ != 20 {
		return fmt.Errorf("raw server: no ChangeCipherSpec (%v)", err)
	}
	typ, rec, err := p.readRecord()
	if err != nil || typ != 22 {
		return fmt.Errorf("raw server: no Finished (%v)", err)
	}
	fin, err := rawOpen(k.clientKey, k.clientIV, 22, rec)
	if err != nil {
		return err
	}
	p.transcript = append(p.transcript, fin...)
	if err := p.writeRecord(20, []byte{1}); err != nil {
		return err
	}
	sfin := rawHS(20, rawPRF(k.master, "server finished", rawHash(p.transcript), 12))
	return p.writeRecord(22, rawSeal(k.serverKey, k.serverIV, 22, sfin))
}

// opLibTLSRawClient: rawClient (Extended Master Secret if `ems`, signature
// algorithms `sigalgs`, default [0x0403]; an empty list sends no
// signature_algorithms extension) against a crypto/tls server with
// an ECDSA certificate and a default Config; value {server_err,
// client_err, version, ekm_err}: ekm_err is the server's
// ExportKeyingMaterial error.
func opLibTLSRawClient(r *runner, w *withArgs) (interface{}, error) {
	cert, err := libSelfSigned("ecdsa")
	if err != nil {
		return nil, err
	}
	sigalgs := libInts(w, "sigalgs")
	if sigalgs == nil {
		sigalgs = []int{0x0403}
	}
	ems := w.bool("ems", true)
	c1, c2 := net.Pipe()
	c1.SetDeadline(time.Now().Add(10 * time.Second))
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	cerr := make(chan error, 1)
	go func() {
		err := rawClient(c1, ems, sigalgs)
		c1.Close()
		cerr <- err
	}()
	server := tls.Server(c2, &tls.Config{Certificates: []tls.Certificate{cert}})
	serr := server.Handshake()
	out := map[string]interface{}{"server_err": libErr(serr), "version": nil, "ekm_err": nil}
	if serr == nil {
		st := server.ConnectionState()
		out["version"] = int(st.Version)
		_, e := st.ExportKeyingMaterial("rthooks", nil, 16)
		out["ekm_err"] = libErr(e)
	}
	c2.Close()
	out["client_err"] = libErr(<-cerr)
	return out, nil
}

// opLibTLSRawServer: a crypto/tls client (MaxVersion TLS 1.2,
// InsecureSkipVerify) against rawServer (Extended Master Secret if `ems`);
// value {client_err, version}.
func opLibTLSRawServer(r *runner, w *withArgs) (interface{}, error) {
	cert, err := libSelfSigned("ecdsa")
	if err != nil {
		return nil, err
	}
	c1, c2 := net.Pipe()
	c1.SetDeadline(time.Now().Add(10 * time.Second))
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	done := make(chan error, 1)
	go func() {
		err := rawServer(c2, cert, w.bool("ems", true))
		if err != nil {
			c2.Close()
		}
		done <- err
	}()
	client := tls.Client(c1, &tls.Config{InsecureSkipVerify: true, ServerName: "rthooks.test", MaxVersion: tls.VersionTLS12})
	cerr := client.Handshake()
	out := map[string]interface{}{"client_err": libErr(cerr), "version": nil}
	if cerr == nil {
		out["version"] = int(client.ConnectionState().Version)
	}
	c1.Close()
	<-done
	c2.Close()
	return out, nil
}
