//go:build go1.22 && rthooks_lib

package main

// Library GODEBUG probes that need Go 1.22 API (x509.OID, Certificate.Policies).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"sort"
)

func init() {
	registerOp("lib.x509.policies", opLibX509Policies)
}

// opLibX509Policies: CreateCertificate with PolicyIdentifiers [1.2.3.4] and
// Policies [1.2.3.5]; value: the policy OIDs of the parsed result, sorted.
func opLibX509Policies(r *runner, w *withArgs) (interface{}, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	t := libTemplate(127)
	t.PolicyIdentifiers = []asn1.ObjectIdentifier{{1, 2, 3, 4}}
	oid, err := x509.OIDFromInts([]uint64{1, 2, 3, 5})
	if err != nil {
		return nil, err
	}
	t.Policies = []x509.OID{oid}
	der, err := x509.CreateCertificate(rand.Reader, t, t, key.Public(), key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, p := range c.PolicyIdentifiers {
		out = append(out, p.String())
	}
	sort.Strings(out)
	return out, nil
}
