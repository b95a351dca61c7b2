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

// Put makes directory dir hold exactly files in one commit pushed to the
// branch, and returns it; see components.GitRepo.Put.
func (r *GitRepo) Put(t testing.TB, message, dir string, files map[string]string) string {
	t.Helper()
	return r.must(t)(r.repo.Put(message, dir, files))
}

// Rewrite force-pushes a commit on top of onto whose directory dir holds
// exactly files, and returns it; see components.GitRepo.Rewrite.
func (r *GitRepo) Rewrite(t testing.TB, onto, message, dir string, files map[string]string) string {
	t.Helper()
	return r.must(t)(r.repo.Rewrite(onto, message, dir, files))
}

// DeleteBranch deletes branch on the server.
func (r *GitRepo) DeleteBranch(t testing.TB, branch string) {
	t.Helper()
	if err := r.repo.DeleteBranch(branch); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
