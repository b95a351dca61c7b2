package scanner

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/latchkey-dev/latchkey/scanner/manifest"
	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// File is one file to scan.
type File struct {
	// Path is slash-separated, relative to the repository root (FindRoot).
	Path string
	// Commit is the commit that introduced this content (--git mode).
	Commit string
	// Data is the content; when nil, Read is called (by a worker, so reads
	// run in parallel).
	Data []byte
	Read func() ([]byte, error)
	// Sibling reads another file of the same tree by root-relative path; a
	// kustomization uses it to follow secretGenerator envs and files.
	Sibling func(path string) ([]byte, error)
}

// Source produces the files of one scan.
type Source interface {
	// Files calls yield for every file; it stops at the first error.
	Files(ctx context.Context, yield func(*File) error) error
}

// Options configure a Scanner.
type Options struct {
	Config *Config
	// Fingerprints keys the fingerprints of findings; nil uses an unkeyed-repo default.
	Fingerprints *Fingerprinter
	// Workers is the number of files scanned in parallel (default GOMAXPROCS).
	Workers int
	// MaxFileSize skips larger files (default 64 MiB).
	MaxFileSize int
	// Exceptions are imported allowlists (.gitleaksignore, gitleaks.toml).
	Exceptions []Exception
}

// Scanner finds plaintext secrets. It is safe for concurrent use.
type Scanner struct {
	rules        *rules.Set
	disabled     map[string]bool
	allow        *pathSet
	fingerprints *Fingerprinter
	workers      int
	maxSize      int
	exceptions   []Exception
}

// New builds a scanner from options.
func New(opts Options) (*Scanner, error) {
	cfg := opts.Config
	if cfg == nil {
		cfg = &Config{}
	}
	set := rules.Builtin()
	custom, err := cfg.customRules()
	if err != nil {
		return nil, err
	}
	if set, err = set.With(custom); err != nil {
		return nil, fmt.Errorf("compiling custom rules: %w", err)
	}
	disabled := map[string]bool{}
	for _, id := range cfg.Disable {
		disabled[id] = true
	}
	allow, err := newPathSet(cfg.Allow.Paths)
	if err != nil {
		return nil, fmt.Errorf("allow.paths: %w", err)
	}
	s := &Scanner{
		rules:        set.Without(disabled),
		disabled:     disabled,
		allow:        allow,
		fingerprints: opts.Fingerprints,
		workers:      opts.Workers,
		maxSize:      opts.MaxFileSize,
		exceptions:   opts.Exceptions,
	}
	if s.fingerprints == nil {
		s.fingerprints = NewFingerprinter("", nil)
	}
	if s.workers <= 0 {
		s.workers = runtime.GOMAXPROCS(0)
	}
	if s.maxSize <= 0 {
		s.maxSize = 64 << 20
	}
	return s, nil
}

// Result is the outcome of a scan.
type Result struct {
	Findings []Finding
	// Files is the number of files scanned; Bytes their total size.
	Files int
	Bytes int64
	// Skipped lists files that were not scanned and why (too large, binary,
	// unreadable).
	Skipped []string
}

// Run scans every file of src with a pool of workers.
func (s *Scanner) Run(ctx context.Context, src Source) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	files := make(chan *File, 2*s.workers)
	type partial struct {
		findings []Finding
		files    int
		bytes    int64
		skipped  []string
	}
	results := make([]partial, s.workers)
	var wg sync.WaitGroup
	for w := 0; w < s.workers; w++ {
		wg.Add(1)
		go func(r *partial) {
			defer wg.Done()
			for f := range files {
				data := f.Data
				if data == nil && f.Read != nil {
					var err error
					if data, err = f.Read(); err != nil {
						r.skipped = append(r.skipped, fmt.Sprintf("%s: %v", f.Path, err))
						continue
					}
				}
				switch {
				case len(data) > s.maxSize:
					r.skipped = append(r.skipped, fmt.Sprintf("%s: larger than %d bytes", f.Path, s.maxSize))
					continue
				case isBinary(data):
					continue
				}
				r.files++
				r.bytes += int64(len(data))
				r.findings = append(r.findings, s.ScanFile(f, data)...)
			}
		}(&results[w])
	}
	err := src.Files(ctx, func(f *File) error {
		if s.allow.match(f.Path) {
			return nil
		}
		select {
		case files <- f:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(files)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, r := range results {
		res.Findings = append(res.Findings, r.findings...)
		res.Files += r.files
		res.Bytes += r.bytes
		res.Skipped = append(res.Skipped, r.skipped...)
	}
	kept := res.Findings[:0]
	for _, f := range res.Findings {
		if !s.allow.match(f.File) {
			kept = append(kept, f)
		}
	}
	res.Findings = sortFindings(kept)
	return res, nil
}

// ScanFile scans one file's content. It never panics: a bug tripped by a
// hostile input loses that file's manifest checks, not the scan.
func (s *Scanner) ScanFile(f *File, data []byte) (out []Finding) {
	fs := newFileScan(s, f, data)
	defer func() {
		if r := recover(); r != nil {
			out = fs.out
			fs.generic()
			out = fs.out
		}
	}()
	fs.generic()
	doc := docFile(f.Path)
	fs.out = slices.DeleteFunc(fs.out, func(x Finding) bool {
		return documentationExample(x) && (doc || fs.allowedComment(x.Line))
	})
	switch classify(f.Path, data) {
	case kindManifest:
		if longestLine(data) > maxParsedLine {
			// Nobody writes a manifest with a megabyte line; parsing one costs
			// many times its size, reading it line by line does not.
			fs.scanLines(0, len(data), lineContext{check: checkAssignment})
		} else if fs.needsParse() {
			docs, err := manifest.Parse(data)
			for _, d := range docs {
				fs.object(d)
			}
			if err != nil && len(docs) == 0 && !referenceKinds(data) {
				// Not YAML after all (a template outside templates/): read its lines.
				fs.scanLines(0, len(data), lineContext{check: checkAssignment})
			}
		}
	case kindTemplate:
		if !referenceKinds(data) {
			fs.scanLines(0, len(data), lineContext{check: checkAssignment})
			if longestLine(data) <= maxParsedLine && fs.needsParse() {
				fs.templateObjects()
			}
		}
	case kindEnv:
		fs.scanLines(0, len(data), lineContext{check: checkDotenv, directives: directiveFile(f.Path)})
	case kindCredentials:
		fs.credentialLines()
	case kindText:
		fs.keyFile()
	case kindCode:
		lc := lineContext{check: checkAssignment, quotedOnly: true}
		fs.scanLines(0, len(data), lc)
		if ext := path.Ext(f.Path); ext == ".tf" || ext == ".hcl" {
			fs.variableDefaults(lc)
		}
	}
	return sortFindings(fs.out)
}

type fileKind int

const (
	kindText        fileKind = iota // generic shape rules only
	kindManifest                    // YAML or JSON, parsed
	kindTemplate                    // YAML with template actions, read line by line
	kindEnv                         // .env, properties, ini and shell: assignments
	kindCode                        // source code: assignments of quoted string literals
	kindCredentials                 // a file of credentials by its format: .pgpass, htpasswd, rsyncd.secrets
)

func classify(p string, data []byte) fileKind {
	base := path.Base(p)
	ext := strings.ToLower(path.Ext(base))
	switch ext {
	case ".yaml", ".yml", ".json":
		// Values files and manifests may quote {{ }} expressions and still be
		// YAML; they are parsed first and read line by line only if that fails.
		if strings.Contains("/"+p, "/templates/") {
			return kindTemplate
		}
		return kindManifest
	case ".tpl", ".gotmpl", ".tmpl":
		return kindTemplate
	case ".env", ".properties", ".ini", ".cfg", ".conf", ".cnf", ".toml", ".sh", ".bash", ".zsh", ".envrc", ".tfvars", ".npmrc", ".pypirc", ".netrc":
		return kindEnv
	}
	switch ext {
	case ".py", ".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx", ".go", ".rb", ".java", ".php", ".cs", ".kt", ".kts",
		".scala", ".rs", ".swift", ".groovy", ".gradle", ".tf", ".hcl", ".jsonnet", ".libsonnet", ".cue", ".dhall",
		".pl", ".pm", ".lua", ".xml":
		return kindCode
	}
	if credentialFormat(base) != nil {
		return kindCredentials
	}
	if base == "Jenkinsfile" || strings.HasPrefix(base, "Jenkinsfile.") {
		return kindCode
	}
	if base == ".env" || strings.HasPrefix(base, ".env.") || base == "Dockerfile" || strings.HasPrefix(base, "Dockerfile.") || base == ".npmrc" || base == ".pypirc" || base == ".netrc" {
		return kindEnv
	}
	if sniffedExt[ext] && looksLikeManifest(data) {
		// Standard input, "secret" with no extension, secret.yaml.j2: what
		// a file holds, not its name, makes it a manifest.
		if bytes.Contains(data, []byte("{{")) || bytes.Contains(data, []byte("{%")) {
			return kindTemplate
		}
		return kindManifest
	}
	return kindText
}

// sniffedExt are the extensions whose files are read as manifests when their
// content is one: none, Jinja and other template suffixes, plain text.
var sniffedExt = map[string]bool{"": true, ".j2": true, ".jinja": true, ".jinja2": true, ".txt": true, ".template": true,
	".tpl-yaml": true, ".in": true, ".dist": true, ".example": true, ".sample": true, ".orig": true, ".bak": true, ".manifest": true}

// looksLikeManifest reports Kubernetes objects: a YAML document (or JSON
// object) with both apiVersion and kind at the top level.
func looksLikeManifest(data []byte) bool {
	data = data[:min(len(data), 1<<20)]
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 1 && (t[0] == '{' || t[0] == '[') && !bytes.ContainsAny(t[1:2], "{%#") {
		return bytes.Contains(data, []byte(`"apiVersion"`)) && bytes.Contains(data, []byte(`"kind"`))
	}
	return topLevelKey(data, "apiVersion:") && topLevelKey(data, "kind:")
}

// topLevelKey reports a line starting with key (YAML top level, or the
// first key of a list item of a List).
func topLevelKey(data []byte, key string) bool {
	k := []byte(key)
	for off := 0; off < len(data); {
		line := data[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
			off += i + 1
		} else {
			off = len(data)
		}
		if bytes.HasPrefix(line, k) || bytes.HasPrefix(bytes.TrimLeft(line, " -"), k) && bytes.HasPrefix(bytes.TrimLeft(line, " "), []byte("- ")) {
			return true
		}
	}
	return false
}

// allowedComment reports a comment line: a commented-out example.
func (f *fileScan) allowedComment(line int) bool {
	_, e := f.lineSpan(line)
	return commentLine(f.data, e)
}

// referenceKinds reports files of External Secrets Operator and Vault
// Secrets Operator objects, which name secrets and keys by design
// ("secretKey: db-password") and are read with the shape rules only.
func referenceKinds(data []byte) bool {
	return bytes.Contains(data, []byte("external-secrets.io/")) || bytes.Contains(data, []byte("secrets.hashicorp.com/"))
}

// maxParsedLine is the longest line a file may have and still be parsed as YAML.
const maxParsedLine = 1 << 20

func longestLine(data []byte) int {
	longest := 0
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		longest = max(longest, i)
		data = data[min(i+1, len(data)):]
	}
	return longest
}

// docFile is prose: its examples use made-up credentials.
func docFile(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".md", ".markdown", ".rst", ".adoc", ".txt", ".html":
		return true
	}
	return false
}

// documentationExample drops URL, connection-string and command-line passwords in prose
// that are plain words ("--set password=secretpassword",
// "mongodb://user:mypass@host"), keeping anything that looks generated.
func documentationExample(f Finding) bool {
	return (f.RuleID == "url-password" || f.RuleID == "connection-string-password" || f.RuleID == "command-line-password") && f.plainWord
}

// isBinary uses Git's rule: a NUL byte in the first 8000 bytes.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0
}

// kindTriggers mark documents whose kind has its own checks.
var kindTriggers = rules.NewAutomaton([]string{"secret", "configmap", "secretgenerator", "configmapgenerator", "sops", "argoproj.io"})

// needsParse is the manifest prefilter: parsing is the expensive part of a
// scan, and only documents of a checked kind, or with a secret-like name
// next to a value, can produce a finding the shape rules have not.
func (f *fileScan) needsParse() bool {
	need := false
	kindTriggers.Scan(f.data, func(kw, end int) bool {
		switch kindTriggers.Keyword(kw) {
		case "secret", "configmap":
			// Only "kind: Secret", not every description that mentions one.
			s, e := lineAround(f.data, end-1)
			if bytes.Contains(f.data[s:e], []byte("kind")) {
				need = true
			}
		default:
			need = true
		}
		return !need
	})
	if need {
		return true
	}
	nameKeywords.Scan(f.data, func(_, end int) bool {
		s, e := lineAround(f.data, end-1)
		line := f.data[end:e]
		if i := bytes.IndexAny(line, ":="); i >= 0 {
			rest := bytes.TrimLeft(line[i+1:], " \t\"'")
			if len(rest) > 0 && !emptyValue(rest) {
				need = true
			} else if len(rest) == 0 && (nextLineIsItem(f.data, e) || secretMap(string(keyToken(f.data, end-1)))) {
				need = true // "apiKeys:" followed by a list, "secrets:" followed by entries
			}
		}
		// "- name: DB_PASSWORD" announces a value on the next line, as does
		// "path: /data/DB_PASSWORD" of a JSON patch; "--token" an argument
		// in the next item.
		head := bytes.TrimLeft(f.data[s:end], " \t-{\"")
		if bytes.HasPrefix(head, []byte("name")) || bytes.HasPrefix(head, []byte("path")) && f.data[tokenStart(f.data, end-1)] == '/' || bytes.HasPrefix(f.data[tokenStart(f.data, end-1):end], []byte("--")) && !commentLine(f.data, end-1) {
			need = true
		}
		return !need
	})
	return need
}

// keyToken is the name token around offset i.
func keyToken(data []byte, i int) []byte {
	s, e := tokenStart(data, i), i
	for e < len(data) && isTokenByte(data[e]) {
		e++
	}
	return data[s:e]
}

// nextLineIsItem reports whether the line after offset e is a scalar YAML
// list item ("- 8ea2fa12..."), not a mapping ("- name: x").
func nextLineIsItem(data []byte, e int) bool {
	if e >= len(data) {
		return false
	}
	next := data[e+1:]
	if i := bytes.IndexByte(next, '\n'); i >= 0 {
		next = next[:i]
	}
	item, ok := bytes.CutPrefix(bytes.TrimLeft(next, " \t"), []byte("- "))
	return ok && !bytes.Contains(item, []byte(": ")) && !bytes.HasSuffix(bytes.TrimRight(item, " \t\r"), []byte(":"))
}

func emptyValue(rest []byte) bool {
	rest = bytes.TrimRight(rest, " \t\r\",'")
	return len(rest) == 0 || bytes.Equal(rest, []byte("{}")) || bytes.Equal(rest, []byte("[]")) || bytes.Equal(rest, []byte("~")) ||
		bytes.Equal(rest, []byte("null")) || bytes.Equal(rest, []byte("true")) || bytes.Equal(rest, []byte("false"))
}

func lineAround(data []byte, i int) (int, int) {
	s := bytes.LastIndexByte(data[:i], '\n') + 1
	e := bytes.IndexByte(data[i:], '\n')
	if e < 0 {
		return s, len(data)
	}
	return s, i + e
}
