package scanner

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// emptyTree is Git's well-known empty tree, the parent of a first commit.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// Staged is the index of a Git repository: the staged content of every added
// or modified file, whole (so YAML context is right), read from the index
// rather than the working tree. Only the changed files are read, so the cost
// does not depend on the size of the repository.
type Staged struct {
	// Repo is the top-level directory of the work tree.
	Repo string
}

// Files implements Source.
func (s *Staged) Files(ctx context.Context, yield func(*File) error) error {
	base := "HEAD"
	if _, err := git(ctx, s.Repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"); err != nil {
		base = emptyTree // the first commit
	}
	out, err := git(ctx, s.Repo, "diff-index", "--cached", "--raw", "-z", "--no-renames", "--diff-filter=AMT", base)
	if err != nil {
		return fmt.Errorf("listing staged changes: %w", err)
	}
	changes := parseRaw(out, "")
	return readBlobs(ctx, s.Repo, changes, func(c change) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) { return git(ctx, s.Repo, "cat-file", "blob", ":"+p) }
	}, yield)
}

// History is the commits of a revision range (or of all refs): every blob
// added or modified by them, each distinct blob scanned once and reported
// with the first commit of the range that introduced it.
type History struct {
	Repo  string
	Range string // e.g. origin/main..HEAD; ignored when All
	All   bool
}

// Files implements Source.
func (h *History) Files(ctx context.Context, yield func(*File) error) error {
	args := []string{"log", "--no-renames", "--diff-merges=first-parent", "--diff-filter=AMT", "--raw", "--no-abbrev",
		"-z", "--format=%x01%H", "--reverse", "--no-textconv"}
	switch {
	case h.All:
		args = append(args, "--all")
	case h.Range == "":
		return errors.New("no revision range given")
	case strings.HasPrefix(h.Range, "-"):
		return fmt.Errorf("revision range %q looks like an option", h.Range)
	default:
		args = append(args, h.Range)
	}
	args = append(args, "--")
	if !h.All && Shallow(ctx, h.Repo) {
		if err := h.checkBoundary(ctx); err != nil {
			return err
		}
	}
	out, err := git(ctx, h.Repo, args...)
	if err != nil {
		if Shallow(ctx, h.Repo) {
			return fmt.Errorf("listing commits of %s: %w: this is a shallow clone without them; scan the changed files with "+
				"--diff BASE (it fetches the base at depth 1), or fetch the history (git fetch --unshallow; actions/checkout fetch-depth: 0)", h.describe(), err)
		}
		return fmt.Errorf("listing commits of %s: %w", h.describe(), err)
	}
	return readBlobs(ctx, h.Repo, parseRaw(out, ""), func(c change) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) { return git(ctx, h.Repo, "cat-file", "blob", c.commit+":"+p) }
	}, yield)
}

// checkBoundary refuses a range of a shallow clone that reaches its
// boundary: the boundary commit's parents are missing, so it would look as
// if it added every file of the tree, and old findings would be reported as
// new.
func (h *History) checkBoundary(ctx context.Context) error {
	p, err := git(ctx, h.Repo, "rev-parse", "--git-path", "shallow")
	if err != nil {
		return nil
	}
	file := strings.TrimSpace(string(p))
	if !filepath.IsAbs(file) {
		file = filepath.Join(h.Repo, file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	boundary := map[string]bool{}
	for _, c := range strings.Fields(string(data)) {
		boundary[c] = true
	}
	out, err := git(ctx, h.Repo, "rev-list", h.Range, "--")
	if err != nil {
		return fmt.Errorf("listing commits of %s: %w: this is a shallow clone without them; scan the changed files with "+
			"--diff BASE (it fetches the base at depth 1), or fetch the history (git fetch --unshallow; actions/checkout fetch-depth: 0)", h.Range, err)
	}
	for _, c := range strings.Fields(string(out)) {
		if boundary[c] {
			return fmt.Errorf("%s reaches the boundary of this shallow clone (commit %.12s, whose parents it does not have), so "+
				"every file would look added: scan the changed files with --diff BASE, or fetch the history "+
				"(git fetch --unshallow; actions/checkout fetch-depth: 0)", h.Range, c)
		}
	}
	return nil
}

func (h *History) describe() string {
	if h.All {
		return "all refs"
	}
	return h.Range
}

// change is one blob added or modified at a path by a commit (or staged).
type change struct {
	commit, path, blob string
}

// parseRaw reads `git diff --raw -z` or `git log --raw -z --format=%x01%H`
// output, keeping regular files only (no submodules or symlinks), and the
// first appearance of each blob.
func parseRaw(out []byte, commit string) []change {
	var changes []change
	seen := map[string]bool{}
	tokens := bytes.Split(out, []byte{0})
	for i := 0; i < len(tokens); i++ {
		t := bytes.TrimLeft(tokens[i], "\n")
		switch {
		case len(t) > 0 && t[0] == 1:
			commit = string(t[1:])
		case len(t) > 0 && t[0] == ':' && i+1 < len(tokens):
			i++
			f := strings.Fields(string(t[1:]))
			if len(f) < 5 {
				continue
			}
			mode, blob := f[1], f[3]
			if !strings.HasPrefix(mode, "100") || seen[blob] || strings.Trim(blob, "0") == "" {
				continue
			}
			seen[blob] = true
			changes = append(changes, change{commit: commit, path: string(tokens[i]), blob: blob})
		}
	}
	return changes
}

// readBlobs streams the blobs through one `git cat-file --batch` process.
func readBlobs(ctx context.Context, repo string, changes []change, sibling func(change) func(string) ([]byte, error), yield func(*File) error) error {
	if len(changes) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "git", "-C", repo, "cat-file", "--batch")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting git cat-file: %w", err)
	}
	go func() {
		w := bufio.NewWriter(stdin)
		for _, c := range changes {
			if _, err := w.WriteString(c.blob + "\n"); err != nil {
				break
			}
		}
		w.Flush()
		stdin.Close()
	}()
	r := bufio.NewReaderSize(stdout, 1<<16)
	var readErr error
	for _, c := range changes {
		header, err := r.ReadString('\n')
		if err != nil {
			readErr = fmt.Errorf("reading blob %s (%s): %w", c.blob, c.path, err)
			break
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			continue // "<sha> missing": a shallow or partial clone
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			readErr = fmt.Errorf("bad cat-file header %q", strings.TrimSpace(header))
			break
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(r, data); err != nil {
			readErr = fmt.Errorf("reading blob %s (%s): %w", c.blob, c.path, err)
			break
		}
		if err := yield(&File{Path: c.path, Commit: c.commit, Data: data[:size], Sibling: sibling(c)}); err != nil {
			readErr = err
			break
		}
	}
	if readErr != nil {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	if readErr != nil {
		return readErr
	}
	if waitErr != nil {
		return fmt.Errorf("git cat-file: %w: %s", waitErr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// git runs a git command in repo and returns its stdout.
func git(ctx context.Context, repo string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("git %s: %w", args[0], err)
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out, nil
}

// RepoRoot returns the top-level directory of the Git work tree containing
// dir.
func RepoRoot(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
