package components

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"strings"
	"time"
)

// GitServer serves the bare repositories under Root over smart HTTP on
// loopback, through the real `git http-backend`, the way a Git host serves
// clones and pushes.
type GitServer struct {
	// Root holds the served repositories; it must exist.
	Root string
	// User and Password, when User is set, make the server require HTTP
	// basic authentication, for clients that carry credentials.
	User, Password string

	// URL is the base URL, set by Start; a repository named "app" is at
	// URL + "/app.git".
	URL string

	srv *http.Server
}

// Start listens on a free loopback port and serves until Stop.
func (s *GitServer) Start() error {
	gitBin, err := gitPath()
	if err != nil {
		return err
	}
	var h http.Handler = &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			// http-backend refuses pushes from anonymous users unless told otherwise.
			"REMOTE_USER=latchkey",
		},
	}
	if s.User != "" {
		h = basicAuth(h, s.User, s.Password)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("git server: listening on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	s.URL = "http://" + ln.Addr().String()
	return nil
}

// Stop closes the listener and every connection.
func (s *GitServer) Stop() error {
	if s.srv == nil {
		return nil
	}
	srv := s.srv
	s.srv = nil
	if err := srv.Close(); err != nil {
		return fmt.Errorf("stopping the git server: %w", err)
	}
	return nil
}

func basicAuth(next http.Handler, user, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="latchkey"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func gitPath() (string, error) {
	p, err := exec.LookPath("git")
	if err != nil {
		return "", unavailable("git is not installed (apt-get install git; .ci/run installs it)")
	}
	return p, nil
}

// runGit runs git in dir with a fixed identity and no user or system
// config, so it behaves the same on every machine, and returns its stdout.
func runGit(dir string, env []string, args ...string) (string, error) {
	gitBin, err := gitPath()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(gitBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=latchkey", "GIT_AUTHOR_EMAIL=latchkey@latchkey.invalid",
		"GIT_COMMITTER_NAME=latchkey", "GIT_COMMITTER_EMAIL=latchkey@latchkey.invalid",
	), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}
