package testenv

import (
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// GitSSHServer serves a GitServer's repositories over SSH too, to one
// client identity, with a host key generated for this test.
type GitSSHServer struct {
	// Addr is host:port.
	Addr string
	// Identity is the PEM private key the server accepts: what a Git
	// credentials Secret's identity holds.
	Identity []byte
	// KnownHosts is the known_hosts line that verifies the server.
	KnownHosts string
	srv        *components.GitSSHServer
}

// ServeSSH starts an SSH server on a free loopback port over the same
// repositories as s; it stops when the test ends.
func (s *GitServer) ServeSSH(t testing.TB) *GitSSHServer {
	t.Helper()
	identity, public, err := components.NewSSHIdentity()
	started(t, "generating an SSH identity", err)
	srv := &components.GitSSHServer{Root: s.srv.Root, AuthorizedKey: public}
	started(t, "starting the git ssh server", srv.Start())
	t.Cleanup(func() { stopped(t, "the git ssh server", srv.Stop()) })
	return &GitSSHServer{Addr: srv.Addr, Identity: identity, KnownHosts: srv.KnownHosts(), srv: srv}
}

// URL is the ssh:// clone URL of repository name.
func (s *GitSSHServer) URL(name string) string { return s.srv.URL(name) }
