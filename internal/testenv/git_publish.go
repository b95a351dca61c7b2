package testenv

import "testing"

// Ref is the commit branch points to on the server, "" when it does not
// exist: what a test reads to see whether a controller moved it.
func (r *GitRepo) Ref(t testing.TB, branch string) string {
	t.Helper()
	return r.must(t)(r.repo.Ref(branch))
}

// PushCommit commits onto commit onto (same tree, one more commit, as a
// person's hand-made change would be) and pushes it to branch, forcing; it
// returns the new commit.
func (r *GitRepo) PushCommit(t testing.TB, onto, branch, message string) string {
	t.Helper()
	return r.must(t)(r.repo.PushCommit(onto, branch, message))
}

// ForcePush sets branch on the server to sha, whatever it held.
func (r *GitRepo) ForcePush(t testing.TB, sha, branch string) {
	t.Helper()
	if err := r.repo.ForcePush(sha, branch); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
