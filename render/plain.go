package render

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// renderPlain decodes every .yaml, .yml and .json file under the directory,
// in lexical order, as argocd-vault-plugin and `kubectl apply -R` read it.
// Directories whose name starts with a dot (.git, .github) are skipped.
func renderPlain(ctx context.Context, fsys fs.FS) (*Result, error) {
	res := &Result{Mode: Plain}
	files := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch path.Ext(p) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		files++
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		return decodeFile(res, p, data)
	})
	if err != nil {
		return nil, err
	}
	if files == 0 {
		return nil, ErrNoManifests
	}
	return res, nil
}

// Stream renders a YAML or JSON stream (`latchkey render -`); name is used
// in messages.
func Stream(r io.Reader, name string) (*Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	res := &Result{Mode: Plain}
	if err := decodeFile(res, name, data); err != nil {
		return nil, err
	}
	return res, nil
}
