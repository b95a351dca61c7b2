package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStartTLSProxy: the proxy forwards to its target, and only the CA it
// returns verifies it.
func TestStartTLSProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "behind the proxy: "+r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	proxyURL, caPEM := StartTLSProxy(t, backend.URL)

	tests := []struct {
		name    string
		ca      []byte
		wantErr string // "" when the request must reach the backend
	}{
		{name: "the returned CA verifies the proxy", ca: caPEM},
		{name: "an unrelated CA does not", ca: UnrelatedCA(t), wantErr: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(tc.ca) {
				t.Fatal("the CA is not PEM")
			}
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			resp, err := c.Get(proxyURL + "/v1/sys/health")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if !strings.HasPrefix(proxyURL, "https://") || string(body) != "behind the proxy: /v1/sys/health" {
				t.Errorf("%s answered %q", proxyURL, body)
			}
		})
	}
}
