package memfs

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

// The tree passes the standard library's conformance test of file systems
// (Open, ReadFile, ReadDir, Stat, directory reads in pieces).
func TestTreeIsAConformingFileSystem(t *testing.T) {
	m := New(map[string][]byte{
		"README.md":                    []byte("# app\n"),
		"apps/shop/kustomization.yaml": []byte("resources: [db.yaml]\n"),
		"apps/shop/db.yaml":            []byte("kind: Secret\n"),
		"charts/web/Chart.yaml":        []byte("name: web\n"),
		"charts/web/templates/a.yaml":  nil,
	})
	if err := fstest.TestFS(m, "README.md", "apps/shop/db.yaml", "apps/shop/kustomization.yaml", "charts/web/templates/a.yaml"); err != nil {
		t.Fatal(err)
	}
	if !m.IsDir("apps/shop") || m.IsDir("apps/shop/db.yaml") || m.IsDir("missing") {
		t.Error("IsDir answers wrong")
	}
}

func TestReadFileReturnsACopy(t *testing.T) {
	m := New(map[string][]byte{"a": []byte("value")})
	b, _ := m.ReadFile("a")
	b[0] = 'X'
	if again, _ := fs.ReadFile(m, "a"); string(again) != "value" {
		t.Fatalf("a reader changed the tree: %q", again)
	}
}
