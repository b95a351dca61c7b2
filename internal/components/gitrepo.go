package components

import (
	"os"
	"path/filepath"
	"strings"
)

// GitRepo is a bare repository on a GitServer plus a working clone to commit
// in; Commit, Remove, Revert and Tag push to the server right away.
type GitRepo struct {
	// URL is the clone URL over HTTP.
	URL string
	// Bare is the served repository on disk.
	Bare string
	// Work is the working clone.
	Work   string
	branch string
}

// NewRepo creates repository name (served at URL/name.git) on branch main,
// with its working clone at work (which must not exist yet).
func (s *GitServer) NewRepo(name, work string) (*GitRepo, error) {
	bare := filepath.Join(s.Root, name+".git")
	for _, step := range []struct {
		dir  string
		args []string
	}{
		{"", []string{"init", "--quiet", "--bare", "--initial-branch=main", bare}},
		{bare, []string{"config", "http.receivepack", "true"}},
		{"", []string{"init", "--quiet", "--initial-branch=main", work}},
		{work, []string{"remote", "add", "origin", bare}},
	} {
		if _, err := runGit(step.dir, nil, step.args...); err != nil {
			return nil, err
		}
	}
	return &GitRepo{URL: s.URL + "/" + name + ".git", Bare: bare, Work: work, branch: "main"}, nil
}

// Commit writes files (path relative to the repo root → content), commits them
// with message and pushes; it returns the new commit's SHA.
func (r *GitRepo) Commit(message string, files map[string]string) (string, error) {
	for name, content := range files {
		p := filepath.Join(r.Work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := runGit(r.Work, nil, "add", "--all"); err != nil {
		return "", err
	}
	return r.commitAndPush(message)
}

// Remove deletes paths, commits and pushes; it returns the new commit's SHA.
func (r *GitRepo) Remove(message string, paths ...string) (string, error) {
	if _, err := runGit(r.Work, nil, append([]string{"rm", "--quiet", "-r", "--"}, paths...)...); err != nil {
		return "", err
	}
	return r.commitAndPush(message)
}

// Revert reverts a commit, as a user rolling back would, and pushes it.
func (r *GitRepo) Revert(sha string) (string, error) {
	if _, err := runGit(r.Work, nil, "revert", "--no-edit", sha); err != nil {
		return "", err
	}
	if _, err := runGit(r.Work, nil, "push", "--quiet", "origin", r.branch); err != nil {
		return "", err
	}
	return r.Head()
}

// Tag creates a lightweight tag at HEAD and pushes it.
func (r *GitRepo) Tag(name string) error {
	if _, err := runGit(r.Work, nil, "tag", name); err != nil {
		return err
	}
	_, err := runGit(r.Work, nil, "push", "--quiet", "origin", name)
	return err
}

// Head is the SHA of the working clone's HEAD.
func (r *GitRepo) Head() (string, error) {
	out, err := runGit(r.Work, nil, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

func (r *GitRepo) commitAndPush(message string) (string, error) {
	if _, err := runGit(r.Work, nil, "commit", "--quiet", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	if _, err := runGit(r.Work, nil, "push", "--quiet", "origin", r.branch); err != nil {
		return "", err
	}
	return r.Head()
}
