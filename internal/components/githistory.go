package components

import (
	"os"
	"path/filepath"
)

// Put makes directory dir of the repository hold exactly files (paths
// relative to the repository root, all under dir), in one commit pushed to
// the branch: a revision that adds, changes and removes files at once, with
// no intermediate revision a controller could pick up. It returns the new
// commit's SHA.
func (r *GitRepo) Put(message, dir string, files map[string]string) (string, error) {
	if err := r.replace(dir, files); err != nil {
		return "", err
	}
	return r.commitAndPush(message)
}

// Rewrite rewrites history as `git reset --hard onto`, a new commit and
// `git push --force` do: the branch on the server goes from whatever it held
// to a commit on top of onto whose directory dir holds exactly files. The
// commits the branch held after onto are no longer reachable from it. It
// returns the new commit's SHA.
func (r *GitRepo) Rewrite(onto, message, dir string, files map[string]string) (string, error) {
	if _, err := runGit(r.Work, nil, "reset", "--quiet", "--hard", onto); err != nil {
		return "", err
	}
	if err := r.replace(dir, files); err != nil {
		return "", err
	}
	if _, err := runGit(r.Work, nil, "commit", "--quiet", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	sha, err := r.Head()
	if err != nil {
		return "", err
	}
	return sha, r.ForcePush(sha, r.branch)
}

// DeleteBranch deletes branch on the server, as `git push origin :branch`
// does, even the branch the server's HEAD names (which git refuses by
// default, as a host protects its default branch until an admin lifts it);
// the working clone keeps it, so a later Commit or Put recreates it.
func (r *GitRepo) DeleteBranch(branch string) error {
	if _, err := runGit(r.Bare, nil, "config", "receive.denyDeleteCurrent", "ignore"); err != nil {
		return err
	}
	_, err := runGit(r.Work, nil, "push", "--quiet", "origin", "--delete", branch)
	return err
}

// replace stages dir as exactly files.
func (r *GitRepo) replace(dir string, files map[string]string) error {
	if err := os.RemoveAll(filepath.Join(r.Work, filepath.FromSlash(dir))); err != nil {
		return err
	}
	for name, content := range files {
		p := filepath.Join(r.Work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	_, err := runGit(r.Work, nil, "add", "--all")
	return err
}
