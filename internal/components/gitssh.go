package components

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// GitSSHServer serves the bare repositories under Root over SSH on
// loopback, the way a Git host's sshd does: a client authenticated by its
// key opens a session and execs `git-upload-pack '/name.git'` (a fetch) or
// `git-receive-pack '/name.git'` (a push), which run the real git binary on
// the repository. Its host key is generated at each Start, so only a client
// given KnownHosts after Start can verify it.
type GitSSHServer struct {
	// Root holds the served repositories; it must exist. A GitServer's
	// Root serves the same repositories over HTTP and SSH.
	Root string
	// AuthorizedKey is the one client public key accepted (any user name,
	// as Git hosts accept "git").
	AuthorizedKey ssh.PublicKey

	// Set by Start.
	// Addr is host:port; HostKey the key the server proves itself with.
	Addr    string
	HostKey ssh.PublicKey

	listener net.Listener
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// NewSSHIdentity generates an ed25519 key pair: the private key as the PEM
// a Git credentials Secret's identity holds, and its public half for
// AuthorizedKey.
func NewSSHIdentity() (identity []byte, public ssh.PublicKey, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "latchkey test identity")
	if err != nil {
		return nil, nil, err
	}
	public, err = ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), public, nil
}

// Start generates a host key, listens on a free loopback port and serves
// until Stop.
func (s *GitSSHServer) Start() error {
	gitBin, err := gitPath()
	if err != nil {
		return err
	}
	if s.AuthorizedKey == nil {
		return errors.New("git ssh server: AuthorizedKey is required (components.NewSSHIdentity makes one)")
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("git ssh server: host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return fmt.Errorf("git ssh server: host key: %w", err)
	}
	authorized := s.AuthorizedKey.Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) != string(authorized) {
				return nil, errors.New("unauthorized key")
			}
			return nil, nil
		},
	}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("git ssh server: listening on loopback: %w", err)
	}
	s.listener, s.Addr, s.HostKey = ln, ln.Addr().String(), signer.PublicKey()
	s.conns = map[net.Conn]struct{}{}
	go s.accept(ln, cfg, gitBin)
	return nil
}

// URL is the ssh:// clone URL of repository name.
func (s *GitSSHServer) URL(name string) string {
	return "ssh://git@" + s.Addr + "/" + name + ".git"
}

// KnownHosts is the known_hosts line that verifies this server.
func (s *GitSSHServer) KnownHosts() string {
	return knownhosts.Line([]string{s.Addr}, s.HostKey) + "\n"
}

// Stop closes the listener and every connection.
func (s *GitSSHServer) Stop() error {
	if s.listener == nil {
		return nil
	}
	err := s.listener.Close()
	s.listener = nil
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("stopping the git ssh server: %w", err)
	}
	return nil
}

func (s *GitSSHServer) accept(ln net.Listener, cfg *ssh.ServerConfig, gitBin string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			s.serve(c, cfg, gitBin)
		}()
	}
}

func (s *GitSSHServer) serve(c net.Conn, cfg *ssh.ServerConfig, gitBin string) {
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return // a refused key or a client that gave up on our host key
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go s.session(ch, requests, gitBin)
	}
}

// session answers the first exec request of a session and ignores the rest
// (env, pty: Git needs none).
func (s *GitSSHServer) session(ch ssh.Channel, requests <-chan *ssh.Request, gitBin string) {
	defer ch.Close()
	for req := range requests {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		service, dir, err := s.command(payload.Command)
		if err != nil {
			_ = req.Reply(true, nil)
			fmt.Fprintf(ch.Stderr(), "%v\n", err)
			exit(ch, 128)
			return
		}
		_ = req.Reply(true, nil)
		exit(ch, s.run(ch, gitBin, service, dir))
		return
	}
}

// command parses `git-upload-pack '/name.git'` into the git subcommand and
// the repository's directory under Root.
func (s *GitSSHServer) command(line string) (service, dir string, err error) {
	name, arg, _ := strings.Cut(line, " ")
	switch name {
	case "git-upload-pack", "git-receive-pack":
	default:
		return "", "", fmt.Errorf("git ssh server: %q is not a git command", name)
	}
	arg = strings.TrimSuffix(strings.TrimPrefix(arg, "'"), "'")
	rel := strings.TrimPrefix(path.Clean("/"+arg), "/")
	if strings.Contains(arg, "'") || !filepath.IsLocal(rel) {
		return "", "", fmt.Errorf("git ssh server: %q is not a repository path", arg)
	}
	dir = filepath.Join(s.Root, filepath.FromSlash(rel))
	if _, err := os.Stat(dir); err != nil {
		return "", "", fmt.Errorf("git ssh server: no repository %s", arg)
	}
	return strings.TrimPrefix(name, "git-"), dir, nil
}

// run runs `git <service> <dir>` with the channel as its standard streams
// and returns its exit status.
func (s *GitSSHServer) run(ch ssh.Channel, gitBin, service, dir string) int {
	cmd := exec.Command(gitBin, service, dir)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	// Not cmd.Stdin = ch: Wait would wait for the client to close its side,
	// and the client waits for our exit status.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 128
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(ch.Stderr(), "git ssh server: %v\n", err)
		return 128
	}
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return exitErr.ExitCode()
		}
		return 128
	}
	return 0
}

func exit(ch ssh.Channel, status int) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}
