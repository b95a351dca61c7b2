package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// AuditLog is a file audit device on the server: every request Vault handles
// after it is enabled is appended to Path as one JSON line. Counting requests
// at the server is how benchmarks and tests see what a client really sent
// (cache hits, retries, batching) rather than what it meant to send.
type AuditLog struct {
	// Path is the audit file. Secret values in it are HMAC'd by Vault, as in
	// any production audit log; it is removed with the test's temp dir.
	Path string
}

// AuditRequest is one request as Vault's audit device recorded it.
type AuditRequest struct {
	// Operation is Vault's logical operation: read, update, list, delete...
	Operation string
	// Path is the request path without the /v1/ prefix, e.g.
	// "secret/data/app/db" or "auth/approle/login".
	Path string
	// MountType is the engine serving the path ("kv", "approle", "token").
	MountType string
}

// EnableAuditFile enables the file audit device, writing to a file in the
// server's temp dir, and returns it. Only requests made after it returns are
// in the log.
func (v *Vault) EnableAuditFile(t testing.TB) *AuditLog {
	t.Helper()
	path := filepath.Join(v.dir, "audit.log")
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := v.Client().Sys().EnableAuditWithOptionsWithContext(ctx, "file", &vaultapi.EnableAuditOptions{
		Type:    "file",
		Options: map[string]string{"file_path": path},
	})
	if err != nil {
		t.Fatalf("testenv: enabling the vault file audit device: %v", err)
	}
	return &AuditLog{Path: path}
}

// Requests returns every request in the log so far, in the order Vault
// received them. Vault writes a request's entry before handling it, so a
// request whose response the client has seen is always in the log.
func (a *AuditLog) Requests(t testing.TB) []AuditRequest {
	t.Helper()
	f, err := os.Open(a.Path)
	if err != nil {
		t.Fatalf("testenv: reading vault audit log: %v", err)
	}
	defer f.Close()
	var reqs []AuditRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Operation string `json:"operation"`
				Path      string `json:"path"`
				MountType string `json:"mount_type"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("testenv: vault audit log %s: malformed entry: %v", a.Path, err)
		}
		// Each request also gets a "response" entry; count requests once.
		if e.Type != "request" {
			continue
		}
		reqs = append(reqs, AuditRequest{Operation: e.Request.Operation, Path: e.Request.Path, MountType: e.Request.MountType})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("testenv: reading vault audit log: %v", err)
	}
	return reqs
}

// Count returns how many requests for exactly path the log holds.
func (a *AuditLog) Count(t testing.TB, path string) int {
	t.Helper()
	n := 0
	for _, r := range a.Requests(t) {
		if r.Path == path {
			n++
		}
	}
	return n
}
