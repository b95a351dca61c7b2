package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// Registry is the CNCF distribution registry (the reference OCI registry)
// on loopback, behind a TLS proxy as a registry is reached in production.
type Registry struct {
	// Host is host:port of its https endpoint, as an oci:// reference names it.
	Host string
	// CA verifies it.
	CA []byte
	// Client trusts CA, for pushing and pulling.
	Client *http.Client
}

// StartRegistry starts the registry built by `make tools` with an empty
// storage and stops it when the test ends.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	bin := requireTool(t, "registry", components.RegistryVersion)
	dir := t.TempDir()
	addr := FreeLoopbackAddr(t)
	// Relative URLs: upload locations must go through the TLS proxy.
	config := fmt.Sprintf("version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s, relativeurls: true}\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Dir = dir
	out := &Output{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting the registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: the registry did not answer on %s within 30s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	proxy, ca := StartTLSProxy(t, base)
	u, _ := url.Parse(proxy)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return &Registry{Host: u.Host, CA: ca, Client: client}
}
