package scanner

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Worktree is a directory tree on disk, read the way Git sees it: .git is
// skipped and .gitignore files (and .git/info/exclude) are honoured. Symbolic
// links are not followed.
type Worktree struct {
	// Root is the repository root (FindRoot); file paths are reported
	// relative to it, and Paths narrow the scan.
	Root string
	// Paths limits the scan to these root-relative files or directories.
	Paths []string
}

// Files implements Source.
func (w *Worktree) Files(ctx context.Context, yield func(*File) error) error {
	root := filepath.Clean(w.Root)
	info, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("scan root: %w", err)
	}
	if !info.IsDir() {
		// A single file: its own name is its path.
		return yield(w.file(filepath.Dir(root), filepath.Base(root)))
	}
	base := ignoreList{}
	if data, err := os.ReadFile(filepath.Join(root, ".git", "info", "exclude")); err == nil {
		base = parseIgnore(data, "")
	}
	starts := w.Paths
	if len(starts) == 0 {
		starts = []string{""}
	}
	for _, start := range starts {
		start = path.Clean(filepath.ToSlash(start))
		if start == "." {
			start = ""
		}
		// The .gitignore files of the parents of start apply too.
		ign := readIgnore(base, root, "")
		if start != "" {
			parts := strings.Split(path.Dir(start), "/")
			for i := range parts {
				if parts[0] != "." {
					ign = readIgnore(ign, root, strings.Join(parts[:i+1], "/"))
				}
			}
			st, err := os.Lstat(filepath.Join(root, filepath.FromSlash(start)))
			if err != nil {
				return fmt.Errorf("scan path %s: %w", start, err)
			}
			if !st.IsDir() {
				if err := yield(w.file(root, start)); err != nil {
					return err
				}
				continue
			}
			ign = readIgnore(ign, root, start)
		}
		if err := w.walk(ctx, root, start, ign, yield); err != nil {
			return err
		}
	}
	return nil
}

func (w *Worktree) walk(ctx context.Context, root, dir string, ign ignoreList, yield func(*File) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		rel := name
		if dir != "" {
			rel = dir + "/" + name
		}
		switch {
		case e.IsDir():
			if name == ".git" || ign.ignored(rel, true) {
				continue
			}
			if err := w.walk(ctx, root, rel, readIgnore(ign, root, rel), yield); err != nil {
				return err
			}
		case e.Type()&fs.ModeType != 0:
			continue // symlinks, devices, sockets
		default:
			if ign.ignored(rel, false) {
				continue
			}
			if err := yield(w.file(root, rel)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *Worktree) file(root, rel string) *File {
	full := filepath.Join(root, filepath.FromSlash(rel))
	return &File{
		Path: rel,
		Read: func() ([]byte, error) { return os.ReadFile(full) },
		Sibling: func(p string) ([]byte, error) {
			return os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		},
	}
}
