package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// Ref is the commit branch points to on the server, "" when it does not
// exist: what a test reads to see whether a controller moved it.
func (r *GitRepo) Ref(t testing.TB, branch string) string {
	t.Helper()
	cmd := exec.Command(requireGit(t), "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	cmd.Dir = r.Bare
	out, err := cmd.Output()
	if err != nil {
		return "" // --quiet: a missing ref exits 1 and prints nothing
	}
	return strings.TrimSpace(string(out))
}

// PushCommit commits onto commit onto (same tree, one more commit, as a
// person's hand-made change would be) and pushes it to branch, forcing;
// it returns the new commit.
func (r *GitRepo) PushCommit(t testing.TB, onto, branch, message string) string {
	t.Helper()
	runGit(t, r.Work, "fetch", "--quiet", "origin")
	sha := strings.TrimSpace(runGit(t, r.Work, "commit-tree", onto+"^{tree}", "-p", onto, "-m", message))
	r.ForcePush(t, sha, branch)
	return sha
}

// ForcePush sets branch on the server to sha, whatever it held.
func (r *GitRepo) ForcePush(t testing.TB, sha, branch string) {
	t.Helper()
	runGit(t, r.Work, "push", "--quiet", "--force", "origin", sha+":refs/heads/"+branch)
}
