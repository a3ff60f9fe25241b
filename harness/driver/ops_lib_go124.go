//go:build go1.24 && rthooks_lib

package main

// Library GODEBUG probes that need Go 1.24 API: crypto/fips140.

import (
	"crypto/ecdh"
	"crypto/fips140"
	"crypto/rand"
	"os"
)

func init() {
	registerOp("lib.fips.enabled", opLibFIPSEnabled)
	registerOp("lib.fips.x25519", opLibFIPSX25519)
}

// opLibFIPSEnabled: crypto/fips140.Enabled(), after putting
// `setenv_godebug` (if given) into the GODEBUG environment variable.
func opLibFIPSEnabled(r *runner, w *withArgs) (interface{}, error) {
	if w.has("setenv_godebug") {
		os.Setenv("GODEBUG", w.str("setenv_godebug", ""))
	}
	return fips140.Enabled(), nil
}

// opLibFIPSX25519: ecdh.X25519().GenerateKey(rand.Reader), a non-approved
// algorithm; value {err}.
func opLibFIPSX25519(r *runner, w *withArgs) (interface{}, error) {
	_, err := ecdh.X25519().GenerateKey(rand.Reader)
	return map[string]interface{}{"err": libErr(err)}, nil
}
