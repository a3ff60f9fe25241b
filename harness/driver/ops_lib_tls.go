//go:build go1.21 && rthooks_lib

package main

// crypto/tls and crypto/x509 probes for the library GODEBUG keys (tls*,
// x509*, rsa1024min). Each makes its certificates at run time and talks over
// net.Pipe only.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

func init() {
	registerOp("lib.tls.hello", opLibTLSHello)
	registerOp("lib.tls.handshake", opLibTLSHandshake)
	registerOp("lib.tls.keypair", opLibTLSKeyPair)
	registerOp("lib.x509.negserial", opLibX509NegSerial)
	registerOp("lib.x509.rsacrt", opLibX509RSACRT)
	registerOp("lib.x509.sha1", opLibX509SHA1)
	registerOp("lib.x509.skid", opLibX509SKID)
	registerOp("lib.x509.fallback", opLibX509Fallback)
	registerOp("lib.rsa.generate", opLibRSAGenerate)
}

var libTLSVersions = map[string]uint16{
	"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13,
}

func libTLSVersion(w *withArgs, k string) uint16 {
	s := w.str(k, "")
	if s == "" {
		return 0
	}
	v, ok := libTLSVersions[s]
	if !ok {
		badArgs("%s: unknown TLS version %q", k, s)
	}
	return v
}

// opLibTLSHello: the ClientHello a default-configured client sends (max
// version `max_version`), as the server sees it in ClientHelloInfo:
// {curves, suites, schemes, versions} as numbers.
func opLibTLSHello(r *runner, w *withArgs) (interface{}, error) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	client := tls.Client(c1, &tls.Config{InsecureSkipVerify: true, ServerName: "rthooks.test", MaxVersion: libTLSVersion(w, "max_version")})
	done := make(chan struct{})
	go func() {
		client.Handshake()
		close(done)
	}()
	var info *tls.ClientHelloInfo
	server := tls.Server(c2, &tls.Config{GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		info = chi
		return nil, errors.New("probe: hello captured")
	}})
	server.Handshake()
	c2.Close()
	c1.Close()
	<-done
	if info == nil {
		return nil, errors.New("probe: no ClientHello")
	}
	out := map[string]interface{}{}
	var curves, suites, schemes, versions []int
	for _, c := range info.SupportedCurves {
		curves = append(curves, int(c))
	}
	for _, s := range info.CipherSuites {
		suites = append(suites, int(s))
	}
	for _, s := range info.SignatureSchemes {
		schemes = append(schemes, int(s))
	}
	for _, v := range info.SupportedVersions {
		versions = append(versions, int(v))
	}
	out["curves"], out["suites"], out["schemes"], out["versions"] = curves, suites, schemes, versions
	return out, nil
}

// opLibTLSHandshake: a full handshake over net.Pipe between a client
// (client_min, client_max, client_suites) and a server with a default
// Config (but server_min, server_suites) and a certificate of kind `cert`
// (ecdsa, rsa1024, rsa2048, rsa8256). Value: {version, suite, client_err,
// server_err, ekm_err}; ekm_err is the server's ExportKeyingMaterial error.
func opLibTLSHandshake(r *runner, w *withArgs) (interface{}, error) {
	cert, err := libSelfSigned(w.str("cert", "ecdsa"))
	if err != nil {
		return nil, err
	}
	ccfg := &tls.Config{InsecureSkipVerify: true, ServerName: "rthooks.test",
		MinVersion: libTLSVersion(w, "client_min"), MaxVersion: libTLSVersion(w, "client_max")}
	for _, s := range libInts(w, "client_suites") {
		ccfg.CipherSuites = append(ccfg.CipherSuites, uint16(s))
	}
	scfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: libTLSVersion(w, "server_min"),
		MaxVersion: libTLSVersion(w, "server_max")}
	for _, s := range libInts(w, "server_suites") {
		scfg.CipherSuites = append(scfg.CipherSuites, uint16(s))
	}
	c1, c2 := net.Pipe()
	c1.SetDeadline(time.Now().Add(10 * time.Second))
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	client := tls.Client(c1, ccfg)
	server := tls.Server(c2, scfg)
	cerr := make(chan error, 1)
	go func() {
		err := client.Handshake()
		if err != nil {
			c1.Close()
		}
		cerr <- err
	}()
	serr := server.Handshake()
	if serr != nil {
		c2.Close()
	}
	ce := <-cerr
	out := map[string]interface{}{"client_err": libErr(ce), "server_err": libErr(serr), "version": nil, "suite": nil, "ekm_err": nil}
	if ce == nil && serr == nil {
		st := server.ConnectionState()
		out["version"], out["suite"] = int(st.Version), int(st.CipherSuite)
		_, e := st.ExportKeyingMaterial("rthooks", nil, 16)
		out["ekm_err"] = libErr(e)
	}
	c1.Close()
	c2.Close()
	return out, nil
}

// opLibTLSKeyPair: tls.X509KeyPair on a fresh certificate; value {leaf: bool, err}.
func opLibTLSKeyPair(r *runner, w *withArgs) (interface{}, error) {
	cert, err := libSelfSigned("ecdsa")
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, err
	}
	kp, err := tls.X509KeyPair(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return map[string]interface{}{"leaf": kp.Leaf != nil, "err": libErr(err)}, nil
}

// opLibX509NegSerial: x509.ParseCertificate of a certificate whose serial
// number is -128 (a valid certificate with serial 127, the serial's
// content byte patched to 0x80); value {serial, err}.
func opLibX509NegSerial(r *runner, w *withArgs) (interface{}, error) {
	cert, err := libSelfSigned("ecdsa")
	if err != nil {
		return nil, err
	}
	der := append([]byte(nil), cert.Certificate[0]...)
	// TBSCertificate: [0] { INTEGER 2 } (v3), then INTEGER 127.
	pat := []byte{0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x7f}
	i := bytes.Index(der, pat)
	if i < 0 {
		return nil, errors.New("probe: serial not found")
	}
	der[i+len(pat)-1] = 0x80
	c, err := x509.ParseCertificate(der)
	out := map[string]interface{}{"err": libErr(err), "serial": nil}
	if c != nil && c.SerialNumber != nil {
		out["serial"] = c.SerialNumber.Int64()
	}
	return out, nil
}

type libPKCS1 struct {
	Version int
	N       *big.Int
	E       int
	D       *big.Int
	P       *big.Int
	Q       *big.Int
	Dp      *big.Int
	Dq      *big.Int
	Qinv    *big.Int
}

// opLibX509RSACRT: x509.ParsePKCS1PrivateKey of a 1024-bit key whose
// encoded Dp is wrong (Dp+2); value {err, valid: the parsed key's Validate() == nil}.
func opLibX509RSACRT(r *runner, w *withArgs) (interface{}, error) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return nil, err
	}
	var k libPKCS1
	if _, err := asn1.Unmarshal(x509.MarshalPKCS1PrivateKey(key), &k); err != nil {
		return nil, err
	}
	k.Dp = new(big.Int).Add(k.Dp, big.NewInt(2))
	der, err := asn1.Marshal(k)
	if err != nil {
		return nil, err
	}
	parsed, err := x509.ParsePKCS1PrivateKey(der)
	out := map[string]interface{}{"err": libErr(err), "valid": nil}
	if parsed != nil {
		out["valid"] = parsed.Validate() == nil
	}
	return out, nil
}

// opLibX509SHA1: a self-signed ECDSA certificate signed with ECDSAWithSHA1,
// then CheckSignatureFrom itself; value {create_err, err}.
func opLibX509SHA1(r *runner, w *withArgs) (interface{}, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	t := libTemplate(127)
	t.SignatureAlgorithm = x509.ECDSAWithSHA1
	der, err := x509.CreateCertificate(rand.Reader, t, t, key.Public(), key)
	if err != nil {
		return map[string]interface{}{"create_err": err.Error(), "err": nil}, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return map[string]interface{}{"create_err": nil, "err": libErr(c.CheckSignatureFrom(c))}, nil
}

// opLibX509SKID: CreateCertificate for a CA template without SubjectKeyId;
// value "sha1" or "sha256" (which hash of the subject public key the
// generated SubjectKeyId is: SHA-1, or SHA-256 truncated to 160 bits), or "other".
func opLibX509SKID(r *runner, w *withArgs) (interface{}, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	t := libTemplate(127)
	der, err := x509.CreateCertificate(rand.Reader, t, t, key.Public(), key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm asn1.RawValue
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	s1 := sha1.Sum(spki.Key.Bytes)
	s256 := sha256.Sum256(spki.Key.Bytes)
	switch {
	case bytes.Equal(c.SubjectKeyId, s1[:]):
		return "sha1", nil
	case bytes.Equal(c.SubjectKeyId, s256[:20]):
		return "sha256", nil
	}
	return "other", nil
}

// opLibX509Fallback: SSL_CERT_FILE names a file holding the root (system:
// "root"), an unrelated certificate ("other") or nothing that exists
// ("none"), SSL_CERT_DIR an empty directory; then, if `fallback` is
// "root", x509.SetFallbackRoots with a pool holding the root; then a leaf
// signed by the root is verified with the default (system) roots. Value:
// the Verify error text, or null.
func opLibX509Fallback(r *runner, w *withArgs) (interface{}, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rt := libTemplate(1)
	rootDER, err := x509.CreateCertificate(rand.Reader, rt, rt, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	lt := libTemplate(2)
	lt.IsCA = false
	leafDER, err := x509.CreateCertificate(rand.Reader, lt, root, leafKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	other, err := libSelfSigned("ecdsa")
	if err != nil {
		return nil, err
	}
	wd, _ := os.Getwd()
	dir := filepath.Join(wd, "rthooks-empty-certs")
	os.MkdirAll(dir, 0o755)
	file := filepath.Join(wd, "rthooks-roots.pem")
	switch sys := w.str("system", "none"); sys {
	case "root":
		os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), 0o644)
	case "other":
		os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Certificate[0]}), 0o644)
	case "none":
		file = filepath.Join(wd, "no-such-roots.pem")
	default:
		badArgs("system must be root, other or none, got %q", sys)
	}
	os.Setenv("SSL_CERT_FILE", file)
	os.Setenv("SSL_CERT_DIR", dir)
	if w.str("fallback", "") == "root" {
		pool := x509.NewCertPool()
		pool.AddCert(root)
		x509.SetFallbackRoots(pool)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "rthooks.test"})
	return libErr(err), nil
}

// opLibRSAGenerate: rsa.GenerateKey(rand.Reader, bits); value {err}.
func opLibRSAGenerate(r *runner, w *withArgs) (interface{}, error) {
	_, err := rsa.GenerateKey(rand.Reader, w.int("bits", 2048))
	return map[string]interface{}{"err": libErr(err)}, nil
}
