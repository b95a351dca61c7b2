package source

import (
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TreeFiles reads the regular files of commit's tree into memory (identical
// files share their bytes): what a Sync renders, and what `latchkey promote`
// reads of a revision. More than limit bytes in all is a *LimitError naming
// the revision, found from the tree's sizes before the excess is read.
func TreeFiles(commit *object.Commit, limit int64) (map[string][]byte, error) {
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", commit.Hash, err)
	}
	files := map[string][]byte{}
	byBlob := map[plumbing.Hash][]byte{}
	var total int64
	err = tree.Files().ForEach(func(file *object.File) error {
		if !file.Mode.IsFile() {
			return nil // symlinks and submodules are not manifests
		}
		if total += file.Size; total > limit {
			return &LimitError{What: "revision " + commit.Hash.String(), Limit: limit, Flag: flagMaxBytes}
		}
		if data, ok := byBlob[file.Hash]; ok {
			files[file.Name] = data
			return nil
		}
		r, err := file.Reader()
		if err != nil {
			return fmt.Errorf("reading %s: %w", file.Name, err)
		}
		defer r.Close()
		// The size is known and bounded: one allocation, not ReadAll's doubling.
		data := make([]byte, file.Size)
		if _, err := io.ReadFull(r, data); err != nil {
			return fmt.Errorf("reading %s: %w", file.Name, err)
		}
		files[file.Name] = data
		byBlob[file.Hash] = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}
