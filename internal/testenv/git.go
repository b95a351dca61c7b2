package testenv

import (
	"path/filepath"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// GitServer serves bare repositories over smart HTTP on loopback, through the
// real `git http-backend`, the way a Git host serves clones and pushes.
type GitServer struct {
	// URL is the base URL; a repository named "app" is at URL + "/app.git".
	URL string
	srv *components.GitServer
}

// GitServerOption configures StartGitServer.
type GitServerOption func(*components.GitServer)

// WithBasicAuth makes the server require HTTP basic authentication, to test
// clients that carry credentials.
func WithBasicAuth(user, password string) GitServerOption {
	return func(s *components.GitServer) { s.User, s.Password = user, password }
}

// StartGitServer serves an empty directory of repositories on a free port.
func StartGitServer(t testing.TB, opts ...GitServerOption) *GitServer {
	t.Helper()
	s := &components.GitServer{Root: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	started(t, "starting the git server", s.Start())
	t.Cleanup(func() { _ = s.Stop() })
	return &GitServer{URL: s.URL, srv: s}
}

// GitRepo is a bare repository on a GitServer plus a working clone that tests
// commit in; Commit and Remove push to the server right away.
type GitRepo struct {
	// URL is the clone URL over HTTP.
	URL string
	// Bare is the served repository on disk.
	Bare string
	// Work is the working clone tests edit.
	Work string
	repo *components.GitRepo
}

// NewRepo creates repository name (served at URL/name.git) on branch main.
func (s *GitServer) NewRepo(t testing.TB, name string) *GitRepo {
	t.Helper()
	r, err := s.srv.NewRepo(name, filepath.Join(t.TempDir(), name))
	started(t, "creating git repository "+name, err)
	return &GitRepo{URL: r.URL, Bare: r.Bare, Work: r.Work, repo: r}
}

// Commit writes files (path relative to the repo root → content), commits them
// with message and pushes; it returns the new commit's SHA.
func (r *GitRepo) Commit(t testing.TB, message string, files map[string]string) string {
	t.Helper()
	return r.must(t)(r.repo.Commit(message, files))
}

// Remove deletes paths, commits and pushes; it returns the new commit's SHA.
func (r *GitRepo) Remove(t testing.TB, message string, paths ...string) string {
	t.Helper()
	return r.must(t)(r.repo.Remove(message, paths...))
}

// Revert reverts a commit, as a user rolling back would, and pushes it.
func (r *GitRepo) Revert(t testing.TB, sha string) string {
	t.Helper()
	return r.must(t)(r.repo.Revert(sha))
}

// Tag creates a lightweight tag at HEAD and pushes it.
func (r *GitRepo) Tag(t testing.TB, name string) {
	t.Helper()
	if err := r.repo.Tag(name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Head is the SHA of the working clone's HEAD.
func (r *GitRepo) Head(t testing.TB) string {
	t.Helper()
	return r.must(t)(r.repo.Head())
}

// CommitZeros commits a file of size zero bytes at path on the repository's
// branch and returns the new commit's SHA; see components.GitRepo.CommitZeros.
// Nothing of that size is written or held.
func (r *GitRepo) CommitZeros(t testing.TB, path string, size int64) string {
	t.Helper()
	return r.must(t)(r.repo.CommitZeros(path, size, t.TempDir()))
}

// must ends the test on a git error and passes a SHA through.
func (r *GitRepo) must(t testing.TB) func(string, error) string {
	return func(sha string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		return sha
	}
}
