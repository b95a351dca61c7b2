package scanner

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Root is where a scan is anchored: reported paths, .latchkey.yaml,
// allow.paths, the baseline and fingerprints are all relative to it, so a
// scan gives the same answer whatever the working directory or path
// argument.
type Root struct {
	// Dir is the absolute root directory.
	Dir string
	// Git is true when Dir is the top level of a Git work tree.
	Git bool
}

// FindRoot anchors a scan of path (a file or directory): the top level of
// the Git work tree holding it; outside Git, the nearest directory at or
// above it holding a .latchkey.yaml (or .latchkey.yml), else the directory
// itself.
func FindRoot(ctx context.Context, path string) (Root, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Root{}, err
	}
	dir := abs
	if st, err := os.Stat(abs); err != nil {
		return Root{}, err
	} else if !st.IsDir() {
		dir = filepath.Dir(abs)
	}
	if top, err := RepoRoot(ctx, dir); err == nil && top != "" {
		// Git prints the real path; keep the caller's spelling of it when
		// that is the same directory (symlinked temp dirs), so relative
		// paths computed from either agree.
		return Root{Dir: samePath(top, dir), Git: true}, nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		for _, name := range []string{ConfigFile, ConfigFileAlt} {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				return Root{Dir: d}, nil
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return Root{Dir: dir}, nil
}

// samePath returns the ancestor of dir (or dir) that is the same directory as
// top, or top.
func samePath(top, dir string) string {
	ts, err := os.Stat(top)
	if err != nil {
		return top
	}
	for d := dir; ; d = filepath.Dir(d) {
		if ds, err := os.Stat(d); err == nil && os.SameFile(ts, ds) {
			return d
		}
		if filepath.Dir(d) == d {
			return top
		}
	}
}

// Rel returns path (absolute or relative to the working directory) as a
// slash-separated path relative to the root, or false when it is outside.
func (r Root) Rel(path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(r.Dir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		// Symbolic links in the path: compare real paths.
		ra, err1 := filepath.EvalSymlinks(abs)
		rd, err2 := filepath.EvalSymlinks(r.Dir)
		if err1 != nil || err2 != nil {
			return "", false
		}
		if rel, err = filepath.Rel(rd, ra); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", false
		}
	}
	if rel == "." {
		return "", true
	}
	return filepath.ToSlash(rel), true
}

// Identity is what the default fingerprint key is derived from: the
// repository's root commit(s).
type Identity struct {
	// ID is the sorted root commit IDs, "" when unavailable.
	ID string
	// Missing says why ID is unavailable, for error messages.
	Missing string
}

// RepoIdentity reads the root commits of the repository at dir. A shallow
// clone does not have them (its oldest commit is the shallow boundary, not a
// root), and neither does a copy without .git: Missing says which.
func RepoIdentity(ctx context.Context, dir string) Identity {
	out, err := git(ctx, dir, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return Identity{Missing: "this directory is not in a Git repository"}
	}
	if strings.TrimSpace(string(out)) == "true" {
		return Identity{Missing: "this is a shallow clone (git clone --depth), which does not have the root commit"}
	}
	out, err = git(ctx, dir, "rev-list", "--max-parents=0", "HEAD")
	if err != nil {
		return Identity{Missing: "the repository has no commit yet"}
	}
	roots := strings.Fields(string(out))
	sort.Strings(roots)
	return Identity{ID: strings.Join(roots, ",")}
}
