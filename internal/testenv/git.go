package testenv

import (
	"bytes"
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GitServer serves bare repositories over smart HTTP on loopback, through the
// real `git http-backend`, the way a Git host serves clones and pushes.
type GitServer struct {
	// URL is the base URL; a repository named "app" is at URL + "/app.git".
	URL  string
	root string
}

// GitServerOption configures StartGitServer.
type GitServerOption func(*gitServerConfig)

type gitServerConfig struct{ user, password string }

// WithBasicAuth makes the server require HTTP basic authentication, to test
// clients that carry credentials.
func WithBasicAuth(user, password string) GitServerOption {
	return func(c *gitServerConfig) { c.user, c.password = user, password }
}

// StartGitServer serves an empty directory of repositories on a free port.
func StartGitServer(t testing.TB, opts ...GitServerOption) *GitServer {
	t.Helper()
	gitBin := requireGit(t)
	var cfg gitServerConfig
	for _, o := range opts {
		o(&cfg)
	}
	root := t.TempDir()
	var h http.Handler = &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			// http-backend refuses pushes from anonymous users unless told otherwise.
			"REMOTE_USER=testenv",
		},
	}
	if cfg.user != "" {
		h = basicAuth(h, cfg.user, cfg.password)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: git server listen: %v", err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &GitServer{URL: "http://" + ln.Addr().String(), root: root}
}

func basicAuth(next http.Handler, user, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="testenv"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// GitRepo is a bare repository on a GitServer plus a working clone that tests
// commit in; Commit and Remove push to the server right away.
type GitRepo struct {
	// URL is the clone URL over HTTP.
	URL string
	// Bare is the served repository on disk.
	Bare string
	// Work is the working clone tests edit.
	Work   string
	branch string
}

// NewRepo creates repository name (served at URL/name.git) on branch main.
func (s *GitServer) NewRepo(t testing.TB, name string) *GitRepo {
	t.Helper()
	bare := filepath.Join(s.root, name+".git")
	work := filepath.Join(t.TempDir(), name)
	runGit(t, "", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	runGit(t, bare, "config", "http.receivepack", "true")
	runGit(t, "", "init", "--quiet", "--initial-branch=main", work)
	runGit(t, work, "remote", "add", "origin", bare)
	return &GitRepo{URL: s.URL + "/" + name + ".git", Bare: bare, Work: work, branch: "main"}
}

// Commit writes files (path relative to the repo root → content), commits them
// with message and pushes; it returns the new commit's SHA.
func (r *GitRepo) Commit(t testing.TB, message string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("testenv: git commit: %v", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatalf("testenv: git commit: %v", err)
		}
	}
	runGit(t, r.Work, "add", "--all")
	return r.commitAndPush(t, message)
}

// Remove deletes paths, commits and pushes; it returns the new commit's SHA.
func (r *GitRepo) Remove(t testing.TB, message string, paths ...string) string {
	t.Helper()
	runGit(t, r.Work, append([]string{"rm", "--quiet", "-r", "--"}, paths...)...)
	return r.commitAndPush(t, message)
}

// Revert reverts a commit, as a user rolling back would, and pushes it.
func (r *GitRepo) Revert(t testing.TB, sha string) string {
	t.Helper()
	runGit(t, r.Work, "revert", "--no-edit", sha)
	runGit(t, r.Work, "push", "--quiet", "origin", r.branch)
	return r.Head(t)
}

// Tag creates a lightweight tag at HEAD and pushes it.
func (r *GitRepo) Tag(t testing.TB, name string) {
	t.Helper()
	runGit(t, r.Work, "tag", name)
	runGit(t, r.Work, "push", "--quiet", "origin", name)
}

// Head is the SHA of the working clone's HEAD.
func (r *GitRepo) Head(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(runGit(t, r.Work, "rev-parse", "HEAD"))
}

func (r *GitRepo) commitAndPush(t testing.TB, message string) string {
	t.Helper()
	runGit(t, r.Work, "commit", "--quiet", "--allow-empty", "-m", message)
	runGit(t, r.Work, "push", "--quiet", "origin", r.branch)
	return r.Head(t)
}

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return runGitEnv(t, dir, nil, args...)
}

// runGitEnv is runGit with extra environment variables.
func runGitEnv(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(requireGit(t), args...)
	cmd.Dir = dir
	// A fixed identity and no user or system config, so tests behave the same
	// on every machine.
	cmd.Env = append(append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=testenv", "GIT_AUTHOR_EMAIL=testenv@latchkey.invalid",
		"GIT_COMMITTER_NAME=testenv", "GIT_COMMITTER_EMAIL=testenv@latchkey.invalid",
	), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testenv: git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func requireGit(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		Unavailable(t, "git is not installed (apt-get install git; .ci/run installs it)")
	}
	return p
}
