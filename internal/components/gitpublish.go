package components

import (
	"errors"
	"os/exec"
	"strings"
)

// Ref is the commit branch points to on the server, "" when it does not
// exist: what a test reads to see whether a controller moved it.
func (r *GitRepo) Ref(branch string) (string, error) {
	out, err := runGit(r.Bare, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return "", nil // --quiet: a missing ref exits 1 and prints nothing
	}
	return strings.TrimSpace(out), err
}

// PushCommit commits onto commit onto (same tree, one more commit, as a
// person's hand-made change would be) and pushes it to branch, forcing; it
// returns the new commit.
func (r *GitRepo) PushCommit(onto, branch, message string) (string, error) {
	if _, err := runGit(r.Work, nil, "fetch", "--quiet", "origin"); err != nil {
		return "", err
	}
	out, err := runGit(r.Work, nil, "commit-tree", onto+"^{tree}", "-p", onto, "-m", message)
	if err != nil {
		return "", err
	}
	sha := strings.TrimSpace(out)
	return sha, r.ForcePush(sha, branch)
}

// ForcePush sets branch on the server to sha, whatever it held.
func (r *GitRepo) ForcePush(sha, branch string) error {
	_, err := runGit(r.Work, nil, "push", "--quiet", "--force", "origin", sha+":refs/heads/"+branch)
	return err
}
