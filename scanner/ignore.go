package scanner

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"regexp"
	"strings"
)

// ignoreRule is one .gitignore line.
type ignoreRule struct {
	re      *regexp.Regexp
	base    string // directory of the .gitignore, root-relative ("" for the root)
	negate  bool
	dirOnly bool
}

// ignoreList holds the .gitignore rules in effect, in the order Git applies
// them: outer files first, later lines win.
type ignoreList []ignoreRule

// parseIgnore reads .gitignore content for directory base.
func parseIgnore(data []byte, base string) ignoreList {
	var out ignoreList
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if !strings.HasSuffix(line, `\ `) {
			line = strings.TrimRight(line, " \t")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{base: base}
		if strings.HasPrefix(line, "!") {
			r.negate, line = true, line[1:]
		}
		line = strings.TrimPrefix(line, `\`)
		if strings.HasSuffix(line, "/") {
			r.dirOnly = true
		}
		anchored := strings.Contains(strings.TrimSuffix(line, "/"), "/")
		re, err := compileGlob(line, anchored)
		if err != nil {
			continue // Git ignores lines it cannot use, and so do we
		}
		r.re = re
		out = append(out, r)
	}
	return out
}

// ignored reports whether root-relative path p is excluded.
func (l ignoreList) ignored(p string, isDir bool) bool {
	for i := len(l) - 1; i >= 0; i-- {
		r := l[i]
		if r.dirOnly && !isDir {
			continue
		}
		rel := p
		if r.base != "" {
			if !strings.HasPrefix(p, r.base+"/") {
				continue
			}
			rel = p[len(r.base)+1:]
		}
		if r.re.MatchString(rel) {
			return !r.negate
		}
	}
	return false
}

// readIgnore loads dir/.gitignore (root-relative dir) on top of l.
func readIgnore(l ignoreList, root, dir string) ignoreList {
	data, err := os.ReadFile(path.Join(root, dir, ".gitignore"))
	if err != nil {
		return l
	}
	return append(l[:len(l):len(l)], parseIgnore(data, dir)...)
}
