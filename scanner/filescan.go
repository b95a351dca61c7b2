package scanner

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// fileScan is the state of scanning one file: its text, a line index for
// turning offsets into positions, and the findings so far.
type fileScan struct {
	sc         *Scanner
	file       *File
	data       []byte
	lineStarts []int // byte offset of the start of each line
	out        []Finding
	// The last position computed: findings come in file order, so most
	// lookups continue from there instead of recounting a (possibly 10 MB)
	// line from its start.
	lastOff, lastLine, lastCol int
}

// maxFindingsPerFile stops a dump of thousands of tokens from flooding the
// report (and the scan): past it, one file has made its point.
const maxFindingsPerFile = 1000

func newFileScan(sc *Scanner, f *File, data []byte) *fileScan {
	return &fileScan{sc: sc, file: f, data: data}
}

func (f *fileScan) index() {
	if f.lineStarts != nil {
		return
	}
	f.lineStarts = make([]int, 1, bytes.Count(f.data, []byte{'\n'})+1)
	for i, c := range f.data {
		if c == '\n' {
			f.lineStarts = append(f.lineStarts, i+1)
		}
	}
}

// pos turns a byte offset into a 1-based line and a 1-based column counted in
// characters, as YAML node positions are.
func (f *fileScan) pos(off int) (int, int) {
	f.index()
	i := sort.Search(len(f.lineStarts), func(i int) bool { return f.lineStarts[i] > off }) - 1
	if f.lastLine == i+1 && f.lastOff <= off {
		f.lastCol += utf8.RuneCount(f.data[f.lastOff:off])
	} else {
		f.lastCol = utf8.RuneCount(f.data[f.lineStarts[i]:off]) + 1
	}
	f.lastOff, f.lastLine = off, i+1
	return f.lastLine, f.lastCol
}

// lineSpan returns the byte span of 1-based line n, without its newline.
func (f *fileScan) lineSpan(n int) (int, int) {
	f.index()
	if n < 1 || n > len(f.lineStarts) {
		return 0, 0
	}
	start := f.lineStarts[n-1]
	end := len(f.data)
	if n < len(f.lineStarts) {
		end = f.lineStarts[n] - 1
	}
	if end > start && f.data[end-1] == '\r' {
		end--
	}
	return start, end
}

// offset turns a 1-based line and character column back into a byte offset.
func (f *fileScan) offset(line, col int) int {
	start, end := f.lineSpan(line)
	off := start
	for c := 1; c < col && off < end; c++ {
		_, size := utf8.DecodeRune(f.data[off:end])
		off += size
	}
	return off
}

// allowMarkers suppress a finding on their line. gitleaks' and
// detect-secrets' markers are honoured so a repository moving to latchkey
// keeps its reviewed exceptions.
var allowMarkers = [][]byte{[]byte("latchkey:allow"), []byte("gitleaks:allow"), []byte("pragma: allowlist secret")}

// nextLineMarker is detect-secrets' previous-line form; a comment line
// holding nothing but any allow marker works the same way.
var nextLineMarker = []byte("pragma: allowlist nextline secret")

func (f *fileScan) allowed(line int) bool {
	start, end := f.lineSpan(line)
	if hasAllowMarker(f.data[start:end]) {
		return true
	}
	if line < 2 {
		return false
	}
	// The previous-line form: "# latchkey:allow" alone on the line above.
	ps, pe := f.lineSpan(line - 1)
	prev := f.data[ps:pe]
	return (hasAllowMarker(prev) || bytes.Contains(prev, nextLineMarker)) && commentOnly(prev)
}

func hasAllowMarker(line []byte) bool {
	for _, m := range allowMarkers {
		if bytes.Contains(line, m) {
			return true
		}
	}
	return false
}

// commentOnly reports a line that is only a comment (#, //, ;, --, <!--, {{/*).
func commentOnly(line []byte) bool {
	t := bytes.TrimLeft(line, " \t")
	for _, p := range []string{"#", "//", ";", "--", "<!--", "{{/*", "{{- /*", "/*", "*", "{#"} {
		if bytes.HasPrefix(t, []byte(p)) {
			return true
		}
	}
	return false
}

// finding describes one detection before it becomes a Finding.
type finding struct {
	check   check
	ruleID  string // overrides check.id (generic rules)
	fix     string // overrides the check's fix
	why     string
	line    int
	col     int
	keyLine int // the line of the key, also honoured for latchkey:allow
	secret  string
	object  string // name used in fix hints
	key     string // key used in fix hints
}

func (f *fileScan) report(d finding) {
	if d.line < 1 || len(f.out) >= maxFindingsPerFile || f.allowed(d.line) || (d.keyLine > 0 && d.keyLine != d.line && f.allowed(d.keyLine)) {
		return
	}
	id := d.ruleID
	if id == "" {
		id = d.check.id
	}
	fix := d.fix
	if fix == "" {
		obj, key := d.object, d.key
		if obj == "" {
			obj = appName(f.file.Path)
		}
		if key == "" {
			key = "value"
		}
		// Every check's text uses these four by index; a text that used
		// fewer would end in %!(EXTRA ...), which TestFixTextsAreComplete
		// guards against.
		fix = fmt.Sprintf(d.check.fix, hintObject(obj), hintKey(key), f.file.Path, sealedName(f.file.Path))
	}
	if f.sc.disabled[id] {
		return
	}
	// Only built when there are exceptions: a line can be megabytes long.
	if len(f.sc.exceptions) > 0 && f.sc.excepted(Candidate{Rule: id, File: f.file.Path, Commit: f.file.Commit, Line: d.line, Secret: d.secret, LineText: f.lineText(d.line)}) {
		return
	}
	f.out = append(f.out, Finding{
		RuleID:      id,
		Description: d.why,
		Fix:         fix,
		File:        f.file.Path,
		Line:        d.line,
		Column:      d.col,
		Commit:      f.file.Commit,
		Secret:      Mask(d.secret),
		Fingerprint: f.sc.fingerprints.Sum(id, f.file.Path, d.secret),
		Length:      utf8.RuneCountInString(d.secret),
		priority:    d.check.priority,
		plainWord:   lettersOnly(d.secret),
	})
}

// appName guesses a Vault path component for fix hints from the file's
// directory ("apps/billing/secret.yaml" → "billing").
func appName(p string) string {
	dir := path.Base(path.Dir(p))
	if dir == "." || dir == "/" || dir == "templates" || dir == "base" || strings.HasPrefix(dir, "overlay") {
		return "APP"
	}
	return dir
}

// lineText is the text of 1-based line n.
func (f *fileScan) lineText(n int) string {
	s, e := f.lineSpan(n)
	return string(f.data[s:e])
}

// sealedName is where the fix hint puts the sealed form of a Secret file:
// apps/db/secret.yaml → apps/db/secret.sealed.yaml.
func sealedName(p string) string {
	ext := path.Ext(p)
	if ext != ".yaml" && ext != ".yml" && ext != ".json" {
		return p + ".sealed.yaml"
	}
	return strings.TrimSuffix(p, ext) + ".sealed" + ext
}

// hintObject keeps fix hints copy-pasteable: the object name is a Vault path
// segment.
func hintObject(o string) string {
	o = strings.Trim(o, " \"'")
	if o == "" || len(o) > 64 || strings.ContainsAny(o, " #<>%{}$") {
		return "APP"
	}
	return o
}

// hintKey keeps fix hints copy-pasteable: Vault keys are path segments.
func hintKey(k string) string {
	k = strings.Trim(k, " \"'")
	if k == "" || len(k) > 64 || strings.ContainsAny(k, " #<>/") {
		return "KEY"
	}
	return k
}

// generic runs the shape rules over the whole file.
func (f *fileScan) generic() {
	f.sc.rules.Scan(f.data, func(m rules.Match) bool {
		line, col := f.pos(m.Start)
		f.report(finding{
			check:  check{priority: 1},
			ruleID: m.Rule.ID,
			fix:    m.Rule.Fix,
			why:    m.Rule.Description,
			line:   line, col: col,
			secret: string(f.data[m.Start:m.End]),
		})
		return len(f.out) < maxFindingsPerFile
	})
}

func lettersOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if (c < 'a' || c > 'z') && s[i] != '-' && s[i] != '_' {
			return false
		}
	}
	return true
}
