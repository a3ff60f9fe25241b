//go:build rthooks_lib && !go1.21

package main

// Below Go 1.21 (gccgo-12 builds at Go 1.18 level) the library probes of
// ops_lib_*.go are left out: they use Go 1.21 library API. Each op still
// answers, saying why it cannot run here.
func init() {
	for _, name := range []string{
		"lib.gocmd", "lib.http.proto", "lib.http.cookies", "lib.http.contentlength", "lib.http.mux",
		"lib.http.servecontent", "lib.url.parsequery", "lib.url.parse", "lib.multipart.part",
		"lib.multipart.form", "lib.tar.next", "lib.zip.open", "lib.template.exec", "lib.exec.lookpath",
		"lib.net.mptcp", "lib.net.lookup", "lib.net.edns0", "lib.crypto.customrand", "lib.tls.rawclient",
		"lib.tls.rawserver", "lib.tls.hello", "lib.tls.handshake", "lib.tls.keypair", "lib.x509.negserial",
		"lib.x509.rsacrt", "lib.x509.sha1", "lib.x509.skid", "lib.x509.fallback", "lib.rsa.generate",
	} {
		name := name
		registerOp(name, func(r *runner, w *withArgs) (interface{}, error) {
			unsupported("op %s needs Go 1.21 library API; this driver was built at an older Go level", name)
			return nil, nil
		})
	}
}
