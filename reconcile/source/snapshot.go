package source

import (
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// Snapshot is the content of one revision of a repository, read-only and
// shared between the Syncs that follow it.
type Snapshot struct {
	// URL is the repository URL, Revision the full commit SHA.
	URL      string
	Revision string
	// files maps slash-separated paths (no leading slash) to content.
	files map[string][]byte
	dirs  map[string][]string // directory → sorted entry names
	size  int64
}

func newSnapshot(url, revision string, files map[string][]byte) *Snapshot {
	s := &Snapshot{URL: url, Revision: revision, files: files, dirs: map[string][]string{".": nil}}
	seen := map[string]bool{}
	for name, data := range files {
		s.size += int64(len(data))
		for child := name; child != "."; {
			dir := path.Dir(child)
			key := dir + "\x00" + path.Base(child)
			if !seen[key] {
				seen[key] = true
				s.dirs[dir] = append(s.dirs[dir], path.Base(child))
			}
			child = dir
		}
	}
	for _, entries := range s.dirs {
		sort.Strings(entries)
	}
	return s
}

// Size is the total size of the files in bytes.
func (s *Snapshot) Size() int64 { return s.size }

// Len is the number of files.
func (s *Snapshot) Len() int { return len(s.files) }

// FS returns the snapshot as a read-only file system rooted at the
// repository root.
func (s *Snapshot) FS() fs.FS { return snapshotFS{s} }

// Sub returns the file system rooted at dir ("" or "." for the root).
func (s *Snapshot) Sub(dir string) (fs.FS, error) {
	dir = path.Clean(strings.Trim(dir, "/"))
	if dir == "." || dir == "" {
		return s.FS(), nil
	}
	if _, ok := s.dirs[dir]; !ok {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: fs.ErrNotExist}
	}
	return fs.Sub(s.FS(), dir)
}

type snapshotFS struct{ s *Snapshot }

func (f snapshotFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if data, ok := f.s.files[name]; ok {
		return &file{info: info{name: path.Base(name), size: int64(len(data))}, data: data}, nil
	}
	if entries, ok := f.s.dirs[name]; ok {
		d := &dir{info: info{name: path.Base(name), dir: true}}
		for _, e := range entries {
			child := path.Join(name, e)
			_, isDir := f.s.dirs[child]
			d.entries = append(d.entries, info{name: e, dir: isDir, size: int64(len(f.s.files[child]))})
		}
		return d, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadFile avoids a copy through Open for the common case.
func (f snapshotFS) ReadFile(name string) ([]byte, error) {
	if data, ok := f.s.files[name]; ok {
		return append([]byte(nil), data...), nil
	}
	return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrNotExist}
}

type info struct {
	name string
	size int64
	dir  bool
}

func (i info) Name() string       { return i.name }
func (i info) Size() int64        { return i.size }
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.dir }
func (i info) Sys() any           { return nil }
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i info) Type() fs.FileMode          { return i.Mode().Type() }
func (i info) Info() (fs.FileInfo, error) { return i, nil }

type file struct {
	info
	data []byte
	off  int
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Close() error               { return nil }
func (f *file) Read(p []byte) (int, error) {
	if f.off >= len(f.data) {
		return 0, io.EOF
	}
	n := copy(p, f.data[f.off:])
	f.off += n
	return n, nil
}

type dir struct {
	info
	entries []info
	off     int
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dir) Close() error               { return nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}

func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && len(rest) > n {
		rest = rest[:n]
	}
	d.off += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i := range rest {
		out[i] = rest[i]
	}
	return out, nil
}
