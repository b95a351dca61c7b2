// Package memfs is a read-only file tree held in memory. A fetched Git
// revision (reconcile/source) and the files a render worker receives
// (render/sandbox) are served from it, so repository content never touches
// a disk, and it is built once per revision and shared, read-only, by every
// Sync that renders it.
package memfs

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"
)

// FS is a file tree; it implements fs.FS, fs.ReadFileFS and fs.ReadDirFS.
type FS struct {
	files map[string][]byte        // slash-separated paths, no leading slash
	dirs  map[string][]fs.DirEntry // directory → entries sorted by name
}

// New returns the tree of files, whose directories are implied by their
// paths. It keeps files (the bytes are not copied): the caller must not
// change them afterwards.
func New(files map[string][]byte) *FS {
	m := &FS{files: files, dirs: map[string][]fs.DirEntry{".": nil}}
	seen := map[string]bool{}
	add := func(dir string, e fs.DirEntry) {
		key := dir + "\x00" + e.Name()
		if !seen[key] {
			seen[key] = true
			m.dirs[dir] = append(m.dirs[dir], e)
		}
	}
	for name, data := range files {
		add(path.Dir(name), fs.FileInfoToDirEntry(info{name: path.Base(name), size: int64(len(data))}))
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if _, ok := m.dirs[d]; !ok {
				m.dirs[d] = nil
			}
			add(path.Dir(d), fs.FileInfoToDirEntry(info{name: path.Base(d), dir: true}))
		}
	}
	for _, entries := range m.dirs {
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	}
	return m
}

// IsDir reports whether name is a directory of the tree.
func (m *FS) IsDir(name string) bool {
	_, ok := m.dirs[name]
	return ok
}

// Open implements fs.FS.
func (m *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if data, ok := m.files[name]; ok {
		return &file{info: info{name: path.Base(name), size: int64(len(data))}, Reader: bytes.NewReader(data)}, nil
	}
	if entries, ok := m.dirs[name]; ok {
		return &dir{info: info{name: path.Base(name), dir: true}, entries: entries}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadFile implements fs.ReadFileFS. It returns a copy: the tree is shared
// by concurrent renders, and a renderer that edits what it read must not
// change what the next one reads.
func (m *FS) ReadFile(name string) ([]byte, error) {
	if data, ok := m.files[name]; ok {
		return bytes.Clone(data), nil
	}
	return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrNotExist}
}

// ReadDir implements fs.ReadDirFS.
func (m *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	if entries, ok := m.dirs[name]; ok {
		return append([]fs.DirEntry(nil), entries...), nil
	}
	if _, ok := m.files[name]; ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
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

type file struct {
	info
	*bytes.Reader
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Close() error               { return nil }

type dir struct {
	info
	entries []fs.DirEntry
	off     int
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dir) Close() error               { return nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}

// ReadDir implements fs.ReadDirFile.
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	d.off += len(rest)
	return append([]fs.DirEntry(nil), rest...), nil
}
