package scanner

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// nameKeywords prefilter the line scan: an assignment can only have a
// secret-like name if the line contains one of these.
var nameKeywords = rules.NewAutomaton([]string{
	"pass", "pwd", "token", "secret", "key", "credential", "creds", "auth", "dsn", "jwt", "bearer", "connection", "connstr", "sas",
})

// lineContext says how to read the lines of a region.
type lineContext struct {
	check check
	// secretContext: every name that is not known to be public is a secret
	// (a kustomize secretGenerator env file).
	secretContext bool
	// quotedOnly: only quoted string literals are values (source code, where
	// "password = get_password()" is not a literal).
	quotedOnly bool
	// directives: "name value" separated by blanks is an assignment too
	// (redis.conf, haproxy.cfg, keepalived.conf, named.conf, .netrc).
	directives bool
}

// scanLines scans the byte region [from, to) line by line for assignments
// ("name: value", "NAME=value", "--name=value", `"name": "value"`) whose name
// says secret, and for "- name: X_PASSWORD" followed by "value: literal".
// It is how Helm templates, .env and properties files, and multi-line
// strings embedded in manifests are read.
func (f *fileScan) scanLines(from, to int, lc lineContext) {
	region := f.data[from:to]
	if lc.secretContext {
		f.allLines(from, to, lc)
		return
	}
	done := -1 // start of the last key token handled, to visit each once
	nameKeywords.Scan(region, func(_, end int) bool {
		hit := from + end - 1
		start := tokenStart(f.data, hit)
		if start <= done {
			return true
		}
		done = start
		if start > 0 && (f.data[start-1] == '$' || f.data[start-1] == '@') || start > 1 && f.data[start-1] == '{' && f.data[start-2] == '$' {
			return true // a template or shell variable being set or expanded: $password := ..., ${PASSWORD:=x}
		}
		if commentLine(f.data, start) {
			return true // prose and commented-out examples; shape rules still see them
		}
		f.assignment(start, lc)
		return true
	})
}

// allLines treats every assignment of the region as a candidate.
func (f *fileScan) allLines(from, to int, lc lineContext) {
	for off := from; off < to; {
		end := bytes.IndexByte(f.data[off:to], '\n')
		if end < 0 {
			end = to - off
		}
		line := f.data[off : off+end]
		if i := firstNonSpace(line); i >= 0 && line[i] != '#' && line[i] != ';' {
			f.assignment(off+i, lc)
		}
		off += end + 1
	}
}

func tokenStart(data []byte, i int) int {
	for i > 0 && isTokenByte(data[i-1]) {
		i--
	}
	return i
}

func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/'
}

// assignment reads "name <sep> value" starting at the key token at start.
func (f *fileScan) assignment(start int, lc lineContext) {
	data := f.data
	end := start
	for end < len(data) && isTokenByte(data[end]) {
		end++
	}
	name := string(data[start:end])
	if start > 0 && data[start-1] == '<' && end < len(data) && data[end] == '>' {
		f.xmlElement(name, start, end+1, lc) // <db.password>value</db.password>
		return
	}
	quoted := start > 0 && end < len(data) && (data[start-1] == '"' || data[start-1] == '\'') && data[end] == data[start-1]
	i := end
	if i < len(data) && (data[i] == '"' || data[i] == '\'') {
		i++ // "name": value
	}
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	if i >= len(data) {
		return
	}
	sep := data[i]
	if lc.directives && i > end && !quoted && sep != ':' && sep != '=' && sep != '\n' && sep != '\r' && sep != '{' {
		// requirepass VALUE, secret "VALUE";, machine h login u password VALUE
		if vs, ve, ok := readValue(data, i, '='); ok {
			f.judgeAssignment(name, start, vs, ve, lc)
		}
		return
	}
	if sep == ',' && quoted && callArgument(data, start-1) {
		// define('AUTH_KEY', 'value'), setenv("TOKEN", "value")
		if vs, ve, ok := readValue(data, i+1, ','); ok {
			f.judgeAssignment(name, start, vs, ve, lc)
		}
		return
	}
	if sep == '\n' || sep == '\r' || sep == '"' || sep == '\'' || sep == ',' || sep == '}' {
		// "- name: DB_PASSWORD" with the value on a later line (or in flow style).
		switch {
		case keyPrefix(data, start, "name"):
			f.namedValue(start, start)
		case data[start] == '/' && keyPrefix(data, start, "path"):
			// "path: /data/DB_PASSWORD" of a JSON patch operation.
			f.patchPath(start, start)
		}
		return
	}
	switch {
	case sep == ':' && i+1 < len(data) && data[i+1] == '=':
		i += 2
	case sep == ':' && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\t' || data[i+1] == '"' || data[i+1] == '\'' || data[i+1] == '\n' || data[i+1] == '\r'):
		i++
	case sep == '=' && (i+1 == len(data) || data[i+1] != '=' && data[i+1] != '>' && data[i+1] != '~'):
		if i > 0 && (data[i-1] == '!' || data[i-1] == '<' || data[i-1] == '>') {
			return
		}
		i++
	case sep == '=' && data[i+1] == '>' && (quoted || lc.quotedOnly):
		i += 2 // 'password' => 'value' (PHP arrays, Ruby and Perl hashes)
	default:
		return
	}
	if name == "name" || name == "-name" {
		f.namedValue(start, i)
		return
	}
	vs, ve, ok := readValue(data, i, sep)
	if !ok {
		return
	}
	f.judgeAssignment(name, start, vs, ve, lc)
}

// judgeAssignment decides about name=value where the value is data[vs:ve].
func (f *fileScan) judgeAssignment(name string, keyOff, vs, ve int, lc lineContext) {
	value := string(f.data[vs:ve])
	if lc.quotedOnly && !wholeStringLiteral(f.data, vs, ve) {
		return
	}
	if name == "default" {
		// variable "db_password" { default = "..." }: the default is the
		// value of the variable the block declares.
		label, ok := blockLabel(f.data, keyOff)
		if !ok {
			return
		}
		name = label
	}
	at := atKey
	if lc.secretContext {
		at = inSecretData
	}
	why := "%q is assigned a literal value; its name says it is a secret"
	switch judge(name, value, at) {
	case notSecret:
		return
	case byPlace:
		why = "%q is assigned a literal value that becomes Secret data"
	}
	line, col := f.pos(vs)
	keyLine, _ := f.pos(keyOff)
	f.report(finding{
		check: lc.check,
		why:   fmt.Sprintf(why, name),
		line:  line, col: col, keyLine: keyLine,
		secret: value,
		key:    name,
	})
}

// namedValue handles "name: X" (an env entry, a Helm parameter) whose value
// sits on one of the next lines as "value: literal".
func (f *fileScan) namedValue(keyStart, valStart int) {
	data := f.data
	if valStart > 0 && (data[valStart-1] == '"' || data[valStart-1] == '\'') {
		valStart--
	}
	vs, ve, ok := readValue(data, valStart, ':')
	if !ok {
		return
	}
	name := string(data[vs:ve])
	if !namesCredential(name) {
		return
	}
	f.laterValue(name, keyStart, ve)
}

// patchPath handles a JSON patch operation ("path: /data/DB_PASSWORD" with
// "value: literal" on a later line: kustomize patches, Argo CD and Flux
// patches): the value is named by the last segment of the pointer.
func (f *fileScan) patchPath(keyStart, valStart int) {
	data := f.data
	if valStart > 0 && (data[valStart-1] == '"' || data[valStart-1] == '\'') {
		valStart--
	}
	vs, ve, ok := readValue(data, valStart, ':')
	if !ok || data[vs] != '/' {
		return
	}
	if name := jsonPointerKey(string(data[vs:ve])); namesCredential(name) {
		f.laterValue(name, keyStart, ve)
	}
}

// jsonPointerKey is the last reference token of a JSON pointer, unescaped
// (RFC 6901: ~1 is '/', ~0 is '~').
func jsonPointerKey(p string) string {
	k := p[strings.LastIndexByte(p, '/')+1:]
	return strings.ReplaceAll(strings.ReplaceAll(k, "~1", "/"), "~0", "~")
}

// laterValue looks for the "value:" of an entry named name, on the line
// that ends at ve (flow style) or on the next few lines.
func (f *fileScan) laterValue(name string, keyStart, ve int) {
	data := f.data
	// Same line (flow style): name: X, value: Y
	lineEnd := bytes.IndexByte(data[ve:], '\n')
	if lineEnd < 0 {
		lineEnd = len(data) - ve
	}
	search := data[ve : ve+lineEnd]
	base := ve
	if bytes.Contains(search, []byte("value")) {
		f.valueKey(name, keyStart, base, search)
		return
	}
	// The next lines, up to the next list item or three lines on.
	off := ve + lineEnd + 1
	for n := 0; n < 3 && off < len(data); n++ {
		e := bytes.IndexByte(data[off:], '\n')
		if e < 0 {
			e = len(data) - off
		}
		line := data[off : off+e]
		t := bytes.TrimLeft(line, " \t")
		if bytes.HasPrefix(t, []byte("- ")) || bytes.HasPrefix(t, []byte("{{")) && bytes.Contains(t, []byte("end")) {
			return
		}
		if bytes.HasPrefix(t, []byte("value:")) || bytes.HasPrefix(t, []byte(`"value":`)) {
			f.valueKey(name, keyStart, off, line)
			return
		}
		off += e + 1
	}
}

func (f *fileScan) valueKey(name string, keyStart, base int, line []byte) {
	i := bytes.Index(line, []byte("value"))
	j := i + len("value")
	if j < len(line) && line[j] == '"' {
		j++
	}
	for j < len(line) && line[j] == ' ' {
		j++
	}
	if j >= len(line) || line[j] != ':' {
		return
	}
	vs, ve, ok := readValue(f.data, base+j+1, ':')
	if !ok {
		return
	}
	value := string(f.data[vs:ve])
	if judge(name, value, atEnv) == notSecret {
		return
	}
	line1, col := f.pos(vs)
	keyLine, _ := f.pos(keyStart)
	f.report(finding{
		check: checkEnv,
		why:   fmt.Sprintf("env/parameter %q has a literal value; its name says it is a secret", name),
		line:  line1, col: col, keyLine: keyLine,
		secret: value,
		object: "APP", key: name,
	})
}

// readValue reads the value after a separator: quoted (to the closing quote),
// or bare (to the end of the line, or to whitespace after '=', without a
// trailing comment or JSON comma). Block indicators, anchors and nested
// structures are not values.
func readValue(data []byte, i int, sep byte) (int, int, bool) {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	if i >= len(data) || data[i] == '\n' || data[i] == '\r' {
		return 0, 0, false
	}
	if data[i] == '\\' && i+1 < len(data) && (data[i+1] == '"' || data[i+1] == '\'') {
		// An escaped quote inside a string: password=\"$SASL_PASSWORD\"
		j := i + 2
		for j+1 < len(data) && data[j] != '\n' && !(data[j] == '\\' && data[j+1] == data[i+1]) {
			j++
		}
		return i + 2, j, j > i+2
	}
	switch c := data[i]; c {
	case '"', '\'', '`':
		j := i + 1
		for j < len(data) && data[j] != c && data[j] != '\n' {
			if data[j] == '\\' && c == '"' {
				j++
			}
			j++
		}
		if j > len(data) {
			j = len(data)
		}
		return i + 1, j, j > i+1
	case '|', '>', '&', '*', '{', '[', '!':
		if c == '{' && i+1 < len(data) && data[i+1] == '{' {
			return 0, 0, false // a template expression
		}
		return 0, 0, false
	}
	j := i
	for j < len(data) && data[j] != '\n' && data[j] != '\r' {
		if sep == '=' && (data[j] == ' ' || data[j] == '\t' || data[j] == ';') {
			break
		}
		if data[j] == '#' && j > i && (data[j-1] == ' ' || data[j-1] == '\t') {
			break
		}
		j++
	}
	for j > i && (data[j-1] == ' ' || data[j-1] == '\t' || data[j-1] == ',' || data[j-1] == '}') {
		j--
	}
	return i, j, j > i
}

func firstNonSpace(b []byte) int {
	for i, c := range b {
		if c != ' ' && c != '\t' {
			return i
		}
	}
	return -1
}

// commentLine reports whether the line holding offset i starts with a
// comment marker (#, //, ;).
func commentLine(data []byte, i int) bool {
	s := bytes.LastIndexByte(data[:i], '\n') + 1
	t := bytes.TrimLeft(data[s:i], " \t")
	if npmrcScope(t) {
		return false // "//registry.npmjs.org/:_authToken=..." is an .npmrc setting
	}
	return len(t) > 0 && (t[0] == '#' || t[0] == ';' || bytes.HasPrefix(t, []byte("//")))
}

// npmrcScope reports an .npmrc line scoped to a registry: //host/path/:key=.
func npmrcScope(t []byte) bool {
	if !bytes.HasPrefix(t, []byte("//")) || len(t) < 3 || t[2] == ' ' || t[2] == '/' {
		return false
	}
	i := bytes.Index(t, []byte("/:"))
	return i > 2 && bytes.IndexByte(t[:i], ' ') < 0
}

// keyPrefix reports whether the token at start is the value of key on its
// line ("- name: X", "{name: X", `"path": "/data/X"`).
func keyPrefix(data []byte, start int, key string) bool {
	s := bytes.LastIndexByte(data[:start], '\n') + 1
	before := bytes.TrimRight(data[s:start], " \t\"'")
	if !bytes.HasSuffix(before, []byte(":")) {
		return false
	}
	before = bytes.TrimRight(before[:len(before)-1], " \t\"'")
	if !bytes.HasSuffix(before, []byte(key)) {
		return false
	}
	head := before[:len(before)-len(key)]
	return len(head) == 0 || strings.IndexByte(" \t-{,\"'", head[len(head)-1]) >= 0
}

// wholeStringLiteral reports whether data[vs:ve] is a complete quoted string
// in source code: quoted, and followed by the end of the expression rather
// than by "+ rand.Text()" or ".format(...)".
func wholeStringLiteral(data []byte, vs, ve int) bool {
	if vs == 0 || ve >= len(data) {
		return false
	}
	q := data[vs-1]
	if (q != '"' && q != '\'' && q != '`') || data[ve] != q || bytes.ContainsAny(data[vs:ve], "(+") {
		return false
	}
	i := ve + 1
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	return i >= len(data) || bytes.IndexByte([]byte(",;)}]\r\n#/"), data[i]) >= 0
}

// callArgument reports a quoted name that is the first argument of a call
// that defines a named value: define('NAME', ...), setenv("NAME", ...),
// System.setProperty("NAME", ...), ENV.store("NAME", ...). q is the offset
// of its quote. Other calls with two strings (a table of rule IDs and
// titles, a log line) name nothing that holds the second.
func callArgument(data []byte, q int) bool {
	i := q - 1
	for i >= 0 && (data[i] == ' ' || data[i] == '\t') {
		i--
	}
	if i <= 0 || data[i] != '(' || !isTokenByte(data[i-1]) {
		return false
	}
	fn := strings.ToLower(string(data[tokenStart(data, i):i]))
	if j := strings.LastIndexAny(fn, "./"); j >= 0 {
		fn = fn[j+1:]
	}
	return definingCall.MatchString(fn)
}

// definingCall is the name of a call that gives a name a value.
var definingCall = regexp.MustCompile(`define|env|^set|^put|^store|^add|property|secret|password|credential`)

// xmlElement judges <name>text</name>: the element's text is its value.
func (f *fileScan) xmlElement(name string, keyOff, vs int, lc lineContext) {
	data := f.data
	ve := vs
	for ve < len(data) && data[ve] != '<' && data[ve] != '\n' {
		ve++
	}
	if ve+1 >= len(data) || data[ve] != '<' || data[ve+1] != '/' || ve == vs {
		return
	}
	lc.quotedOnly = false // the element's text is the whole value
	f.judgeAssignment(name, keyOff, vs, ve, lc)
}

// blockLabel finds the label of the HCL block around offset off
// (variable "db_password" {), looking a few lines up.
func blockLabel(data []byte, off int) (string, bool) {
	end := bytes.LastIndexByte(data[:off], '\n')
	for n := 0; n < 12 && end > 0; n++ {
		start := bytes.LastIndexByte(data[:end], '\n') + 1
		line := bytes.TrimSpace(data[start:end])
		if bytes.HasPrefix(line, []byte("}")) {
			return "", false
		}
		if m := hclBlock.FindSubmatch(line); m != nil {
			return string(m[1]), true
		}
		end = start - 1
	}
	return "", false
}

var hclBlock = regexp.MustCompile(`^(?:variable|output|locals?)\s+"([^"]+)"\s*\{`)

// hclDefault finds the defaults of declared variables, whose line has no
// secret-like word of its own: the variable's name is a few lines up.
var hclDefault = regexp.MustCompile(`(?m)^[ \t]*default[ \t]*=`)

// variableDefaults judges every "default = value" of a Terraform or HCL file
// by the name of the variable it belongs to.
func (f *fileScan) variableDefaults(lc lineContext) {
	if !bytes.Contains(f.data, []byte("variable")) {
		return
	}
	for _, m := range hclDefault.FindAllIndex(f.data, -1) {
		f.assignment(m[0]+firstNonSpace(f.data[m[0]:m[1]]), lc)
	}
}
