package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"
)

// StartTLSProxy serves target over TLS on loopback until the test ends, as
// a TLS-terminating load balancer in front of it would. The Vault dev
// server only speaks plain HTTP, so this is how tests reach a real Vault
// over TLS with a CA they control. It returns the proxy's https URL and the
// PEM certificate that verifies it.
func StartTLSProxy(t testing.TB, target string) (proxyURL string, caPEM []byte) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("TLS proxy target %q: %v", target, err)
	}
	return ServeTLS(t, httputil.NewSingleHostReverseProxy(u))
}

// ServeTLS serves h over TLS on loopback until the test ends and returns
// its https URL and the PEM certificate that verifies it. Failed handshakes
// are not logged: tests that check a client refuses the server cause them
// on purpose.
func ServeTLS(t testing.TB, h http.Handler) (serverURL string, caPEM []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// UnrelatedCA is a PEM self-signed CA certificate for 127.0.0.1 that signed
// no server a test starts: a client that trusts only it must refuse them.
func UnrelatedCA(t testing.TB) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "a CA that signed nothing here"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
