package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CommitZeros commits a file of size zero bytes at path on the repository's
// branch and returns the new commit's SHA. It is for tests of what a client
// does with content that is small in a pack and huge once inflated: 1 GiB of
// zeros packs into about 1 MiB.
//
// Nothing of that size is written or held: a sparse file is hashed straight
// into the served repository (git streams files above core.bigFileThreshold
// into a pack), the commit is made there with plumbing, and the working
// clone borrows the served objects (alternates) and keeps the file out of
// its worktree (skip-worktree), so later Commits keep it in the tree.
func (r *GitRepo) CommitZeros(t testing.TB, path string, size int64) string {
	t.Helper()
	sparse := filepath.Join(t.TempDir(), "zeros")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatalf("testenv: commit zeros: %v", err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatalf("testenv: commit zeros: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("testenv: commit zeros: %v", err)
	}
	blob := strings.TrimSpace(runGit(t, r.Bare, "hash-object", "-w", sparse))

	// A private index builds the tree in the bare repository.
	index := []string{"GIT_INDEX_FILE=" + filepath.Join(t.TempDir(), "index")}
	parent := strings.TrimSpace(runGit(t, r.Bare, "for-each-ref", "--format=%(objectname)", "refs/heads/"+r.branch))
	if parent != "" {
		runGitEnv(t, r.Bare, index, "read-tree", parent)
	}
	runGitEnv(t, r.Bare, index, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+path)
	tree := strings.TrimSpace(runGitEnv(t, r.Bare, index, "write-tree"))
	args := []string{"commit-tree", tree, "-m", "zeros at " + path}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	commit := strings.TrimSpace(runGitEnv(t, r.Bare, index, args...))
	runGit(t, r.Bare, "update-ref", "refs/heads/"+r.branch, commit)

	alternates := filepath.Join(r.Work, ".git", "objects", "info", "alternates")
	if err := os.WriteFile(alternates, []byte(filepath.Join(r.Bare, "objects")+"\n"), 0o644); err != nil {
		t.Fatalf("testenv: commit zeros: %v", err)
	}
	runGit(t, r.Work, "fetch", "--quiet", "origin", r.branch)
	runGit(t, r.Work, "reset", "--quiet", "--mixed", "FETCH_HEAD")
	runGit(t, r.Work, "update-index", "--skip-worktree", path)
	return commit
}
