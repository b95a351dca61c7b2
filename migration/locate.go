package migration

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/latchkey-dev/latchkey/scanner"
	"github.com/latchkey-dev/latchkey/scanner/manifest"
)

// maxFileSize bounds the files a migration reads and rewrites; the scanner
// bounds what it reports the same way.
const maxFileSize = 64 << 20

// Locate finds the site of every finding of a working-tree scan of root,
// or the reason it has none. Findings of one value are one site.
func Locate(root string, findings []scanner.Finding, defaultNS string) ([]*Site, []Skip, error) {
	gens, err := indexGenerators(root, defaultNS)
	if err != nil {
		return nil, nil, err
	}
	byFile := map[string][]scanner.Finding{}
	for _, f := range findings {
		byFile[f.File] = append(byFile[f.File], f)
	}
	var sites []*Site
	var skipped []Skip
	files := slices.Sorted(func(yield func(string) bool) {
		for f := range byFile {
			if !yield(f) {
				return
			}
		}
	})
	for _, file := range files {
		data, err := readFile(root, file)
		if err != nil {
			for _, f := range byFile[file] {
				skipped = append(skipped, Skip{File: f.File, Line: f.Line, Rule: f.RuleID, Reason: "unreadable: " + err.Error()})
			}
			continue
		}
		l := &locator{file: file, t: newText(data), generators: gens, defaultNS: defaultNS}
		if _, isGenFile := gens.files[file]; !isGenFile && isYAML(file) {
			l.docs, l.parseErr = manifest.Parse(data)
		}
		seen := map[int]bool{}
		for _, f := range byFile[file] {
			site, reason := l.at(f.Line, f.Column)
			if site == nil {
				skipped = append(skipped, Skip{File: f.File, Line: f.Line, Rule: f.RuleID, Reason: reason})
				continue
			}
			if seen[site.start] {
				continue // two rules, one value
			}
			seen[site.start] = true
			sites = append(sites, site)
		}
	}
	slices.SortFunc(sites, func(a, b *Site) int { return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.start, b.start)) })
	return sites, skipped, nil
}

func isYAML(p string) bool {
	switch filepath.Ext(p) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// readFile reads a root-relative file, refusing symbolic links (a link in
// the repository must not make the migration read or rewrite elsewhere).
func readFile(root, rel string) ([]byte, error) {
	p, err := inside(root, rel)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fs.ErrInvalid
	}
	if fi.Size() > maxFileSize {
		return nil, fs.ErrInvalid
	}
	return os.ReadFile(p)
}

// indexGenerators finds every kustomization under root and the files its
// secretGenerators read.
func indexGenerators(root, defaultNS string) (*generatorIndex, error) {
	x := &generatorIndex{files: map[string]generatorRef{}, dirNS: map[string]string{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are not migrated
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && isKustomizationFile(d.Name()) {
			rel, _ := filepath.Rel(root, p)
			if data, err := readFile(root, filepath.ToSlash(rel)); err == nil {
				x.add(filepath.ToSlash(rel), data, defaultNS)
			}
		}
		return nil
	})
	return x, err
}

// inside joins a root-relative path to root and refuses one that leaves it,
// through ".." or through a symbolic link to a directory elsewhere.
func inside(root, rel string) (string, error) {
	p := filepath.Join(root, filepath.FromSlash(rel))
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	realDir, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return "", err
	}
	if r, err := filepath.Rel(realRoot, realDir); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside %s (a symbolic link?): left alone", rel, root)
	}
	return p, nil
}
