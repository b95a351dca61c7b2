package source

import (
	"io/fs"
	"path"
	"strings"

	"github.com/latchkey-dev/latchkey/internal/memfs"
)

// Snapshot is the content of one revision of a repository, read-only and
// shared between the Syncs that follow it.
type Snapshot struct {
	// URL is the repository URL, Revision the full commit SHA.
	URL      string
	Revision string
	tree     *memfs.FS
	files    int
	size     int64
}

func newSnapshot(url, revision string, files map[string][]byte) *Snapshot {
	s := &Snapshot{URL: url, Revision: revision, tree: memfs.New(files), files: len(files)}
	for _, data := range files {
		s.size += int64(len(data))
	}
	return s
}

// Size is the total size of the files in bytes.
func (s *Snapshot) Size() int64 { return s.size }

// Len is the number of files.
func (s *Snapshot) Len() int { return s.files }

// FS returns the snapshot as a read-only file system rooted at the
// repository root.
func (s *Snapshot) FS() fs.FS { return s.tree }

// Sub returns the file system rooted at dir ("" or "." for the root).
func (s *Snapshot) Sub(dir string) (fs.FS, error) {
	dir = path.Clean(strings.Trim(dir, "/"))
	if dir == "." || dir == "" {
		return s.FS(), nil
	}
	if !s.tree.IsDir(dir) {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: fs.ErrNotExist}
	}
	return fs.Sub(s.tree, dir)
}
