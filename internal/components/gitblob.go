package components

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CommitZeros commits a file of size zero bytes at path on the repository's
// branch and returns the new commit's SHA, using scratch (an existing empty
// directory) for its temporary files. It is for tests of what a client does
// with content that is small in a pack and huge once inflated: 1 GiB of
// zeros packs into about 1 MiB.
//
// Nothing of that size is written or held: a sparse file is hashed straight
// into the served repository (git streams files above core.bigFileThreshold
// into a pack), the commit is made there with plumbing, and the working
// clone borrows the served objects (alternates) and keeps the file out of
// its worktree (skip-worktree), so later Commits keep it in the tree.
func (r *GitRepo) CommitZeros(path string, size int64, scratch string) (string, error) {
	sparse := filepath.Join(scratch, "zeros")
	if err := sparseFile(sparse, size); err != nil {
		return "", fmt.Errorf("commit zeros: %w", err)
	}
	out, err := runGit(r.Bare, nil, "hash-object", "-w", sparse)
	if err != nil {
		return "", err
	}
	blob := strings.TrimSpace(out)

	// A private index builds the tree in the bare repository.
	index := []string{"GIT_INDEX_FILE=" + filepath.Join(scratch, "index")}
	out, err = runGit(r.Bare, nil, "for-each-ref", "--format=%(objectname)", "refs/heads/"+r.branch)
	if err != nil {
		return "", err
	}
	parent := strings.TrimSpace(out)
	if parent != "" {
		if _, err := runGit(r.Bare, index, "read-tree", parent); err != nil {
			return "", err
		}
	}
	if _, err := runGit(r.Bare, index, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+path); err != nil {
		return "", err
	}
	out, err = runGit(r.Bare, index, "write-tree")
	if err != nil {
		return "", err
	}
	args := []string{"commit-tree", strings.TrimSpace(out), "-m", "zeros at " + path}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	out, err = runGit(r.Bare, index, args...)
	if err != nil {
		return "", err
	}
	commit := strings.TrimSpace(out)
	if _, err := runGit(r.Bare, nil, "update-ref", "refs/heads/"+r.branch, commit); err != nil {
		return "", err
	}
	return commit, r.borrowBareObjects(path)
}

// borrowBareObjects points the working clone at the served objects, resets
// it to the served branch and keeps path out of its worktree.
func (r *GitRepo) borrowBareObjects(path string) error {
	alternates := filepath.Join(r.Work, ".git", "objects", "info", "alternates")
	if err := os.WriteFile(alternates, []byte(filepath.Join(r.Bare, "objects")+"\n"), 0o644); err != nil {
		return fmt.Errorf("commit zeros: %w", err)
	}
	for _, args := range [][]string{
		{"fetch", "--quiet", "origin", r.branch},
		{"reset", "--quiet", "--mixed", "FETCH_HEAD"},
		{"update-index", "--skip-worktree", path},
	} {
		if _, err := runGit(r.Work, nil, args...); err != nil {
			return err
		}
	}
	return nil
}

func sparseFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
