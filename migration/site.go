package migration

import (
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/scanner"
	"github.com/latchkey-dev/latchkey/scanner/manifest"
)

// Form is where a plaintext value sits, which decides its rewrite.
type Form int

// The forms with a safe rewrite.
const (
	SecretStringData Form = iota + 1 // a v1 Secret's stringData value
	SecretData                       // a v1 Secret's data value (base64)
	GeneratorLiteral                 // a kustomize secretGenerator literal KEY=VALUE
	GeneratorEnv                     // a line of an env file a secretGenerator reads
	GeneratorFile                    // a whole file a secretGenerator reads as one key
	WorkloadEnv                      // a container env {name, value} in a workload
	HelmValue                        // a scalar in a Helm chart's values file
)

func (f Form) String() string {
	return [...]string{"", "Secret stringData", "Secret data", "secretGenerator literal", "secretGenerator env file",
		"secretGenerator file", "container env", "Helm value"}[f]
}

// Object names what a value belongs to, for the Vault path template.
type Object struct {
	Kind, Namespace, Name string
}

func (o Object) String() string {
	if o.Namespace != "" {
		return o.Kind + " " + o.Namespace + "/" + o.Name
	}
	return o.Kind + " " + o.Name
}

// Site is one located plaintext value and how its text is replaced.
type Site struct {
	File string // slash-separated, relative to the root
	Line int
	Form Form
	// Object is the Secret, workload, secretGenerator or chart; Key the
	// value's key in it (Secret key, env name, literal key, values path).
	Object Object
	Key    string
	// Container is the container of a WorkloadEnv.
	Container string
	// Committed is set when the value is also in Git history: moving it
	// does not unpublish it, it must be rotated.
	Committed bool

	value      string // the plaintext; never printed
	start, end int    // the bytes replaced
	quote      byte   // the scalar's quote, kept around the reference
	// workloadNS is a WorkloadEnv's namespace as the workload writes it
	// (empty when it names none): the generated Secret's.
	workloadNS string
}

// Values returns the plaintext values of sites, for redaction.
func Values(sites []*Site) []string {
	out := make([]string, 0, len(sites))
	for _, s := range sites {
		out = append(out, s.value)
	}
	return out
}

// replacement is the text that takes the value's place.
func (s *Site) replacement(ref, secretName string) string {
	switch s.Form {
	case SecretData:
		return quoted(base64.StdEncoding.EncodeToString([]byte(ref)), s.quote)
	case WorkloadEnv:
		return fmt.Sprintf("valueFrom: {secretKeyRef: {name: %s, key: %s}}", secretName, s.Key)
	}
	return quoted(ref, s.quote)
}

func quoted(s string, q byte) string {
	if q == 0 {
		return s
	}
	return string(q) + s + string(q)
}

// Skip is a finding left alone, with the reason.
type Skip struct {
	File   string
	Line   int
	Commit string
	Rule   string
	Reason string
}

// Reasons for leaving a finding alone.
const (
	reasonInside      = "the secret is part of a larger value (a configuration file, JSON, a URL): move the whole value by hand, or seal the Secret with --fix seal"
	reasonTemplate    = "a Helm template: move the value into values.yaml, then run --fix again"
	reasonNotParsed   = "the file does not parse as YAML: fix it first"
	reasonUnsupported = "no safe rewrite for a value here (%s): move it to a Secret by hand"
	reasonNoSpan      = "the value's text could not be matched byte for byte (escapes or folding): edit it by hand"
)

// locator finds the sites of one file's findings.
type locator struct {
	file       string
	t          *text
	docs       []*yaml.Node
	parseErr   error
	generators *generatorIndex
	defaultNS  string
}

// document is a parsed document with what the walk needs about it.
type document struct {
	root            *yaml.Node
	kind, namespace string
	name            string
	secret          bool // a v1 Secret
	kustomization   bool
}

func describeDoc(root *yaml.Node, file string) document {
	d := document{root: root}
	d.kind = manifest.Scalar(manifest.Get(root, "kind"))
	apiVersion := manifest.Scalar(manifest.Get(root, "apiVersion"))
	d.name = manifest.Scalar(manifest.GetPath(root, "metadata", "name"))
	d.namespace = manifest.Scalar(manifest.GetPath(root, "metadata", "namespace"))
	d.secret = d.kind == "Secret" && !strings.Contains(apiVersion, ".")
	d.kustomization = d.kind == "Kustomization" || isKustomizationFile(file)
	return d
}

// at locates the value a finding at line:col reports.
func (l *locator) at(line, col int) (*Site, string) {
	if strings.Contains("/"+l.file, "/templates/") {
		return nil, reasonTemplate
	}
	if l.docs == nil {
		if g, ok := l.generators.files[l.file]; ok {
			return l.generatorFile(g, line)
		}
		if l.parseErr != nil {
			return nil, reasonNotParsed
		}
		return nil, fmt.Sprintf(reasonUnsupported, "not a manifest, nor a file a secretGenerator reads")
	}
	for _, root := range l.docs {
		d := describeDoc(root, l.file)
		var site *Site
		var reason string
		found := false
		manifest.Walk(root, func(p []string, k, v *yaml.Node) bool {
			if found {
				return false
			}
			if v.Kind == yaml.MappingNode {
				if s, r, ok := l.envEntry(d, p, v, line, col); ok {
					site, reason, found = s, r, true
				}
				return !found
			}
			if v.Kind != yaml.ScalarNode || v.Line > line || !l.covers(v, line, col) {
				return true
			}
			found = true
			site, reason = l.scalar(d, p, v, line, col)
			return false
		})
		if found {
			return site, reason
		}
	}
	return nil, reasonInside
}

// covers reports whether the finding at line:col is in scalar v's text.
func (l *locator) covers(v *yaml.Node, line, col int) bool {
	if v.Line == line && col >= v.Column {
		return v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || col <= v.Column+len([]rune(v.Value))+2
	}
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && line > v.Line {
		end := l.t.blockEnd(v.Line)
		return line <= l.t.line(max(end-1, 0))
	}
	return false
}

// whole is true when line:col is where the value's text starts (the whole
// value is the finding, not a part of it).
func (l *locator) whole(v *yaml.Node, line, col int) bool {
	switch {
	case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		s, e := l.t.lineSpan(v.Line + 1)
		i := strings.IndexFunc(string(l.t.data[s:e]), func(r rune) bool { return r != ' ' })
		return line == v.Line+1 && col == len([]rune(string(l.t.data[s:s+max(i, 0)])))+1
	case v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		return line == v.Line && col == v.Column+1
	}
	return line == v.Line && col == v.Column
}

func (l *locator) scalar(d document, p []string, v *yaml.Node, line, col int) (*Site, string) {
	site := &Site{File: l.file, Line: line, value: v.Value}
	if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		site.quote = l.t.data[l.t.offset(v.Line, v.Column)]
	}
	switch {
	case d.secret && len(p) == 2 && (p[0] == "stringData" || p[0] == "data"):
		if !l.whole(v, line, col) {
			return nil, reasonInside
		}
		site.Form, site.Key = SecretStringData, p[1]
		if p[0] == "data" {
			dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v.Value), ""))
			if err != nil {
				return nil, fmt.Sprintf(reasonUnsupported, "a data value that is not base64")
			}
			site.Form, site.value = SecretData, string(dec)
		}
		site.Object = Object{Kind: "Secret", Namespace: l.ns(d.namespace), Name: d.name}
	case d.kustomization && len(p) == 4 && p[0] == "secretGenerator" && p[2] == "literals":
		return l.literal(d, p, v, site)
	case d.kind == "" && isValuesFile(l.file):
		if !l.whole(v, line, col) {
			return nil, reasonInside
		}
		site.Form, site.Key = HelmValue, scanner.FieldPath(p)
		site.Object = Object{Kind: "chart", Namespace: l.defaultNS, Name: chartName(l.file)}
	default:
		what := "a " + d.kind + " field"
		if d.kind == "" {
			what = "a file that is neither a manifest nor a Helm values file"
		}
		if d.secret {
			what = "a Secret field other than data or stringData"
		}
		return nil, fmt.Sprintf(reasonUnsupported, what)
	}
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		site.quote = 0
	}
	var ok bool
	if site.start, site.end, ok = l.t.scalarSpan(v); !ok {
		return nil, reasonNoSpan
	}
	if site.Object.Name == "" {
		return nil, fmt.Sprintf(reasonUnsupported, "an object without metadata.name")
	}
	return site, ""
}

// literal locates the VALUE of a secretGenerator literal "KEY=VALUE" inside
// its scalar; kustomize strips one pair of quotes around VALUE.
func (l *locator) literal(d document, p []string, v *yaml.Node, site *Site) (*Site, string) {
	key, raw, ok := strings.Cut(v.Value, "=")
	if !ok || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return nil, fmt.Sprintf(reasonUnsupported, "a secretGenerator literal that is not KEY=VALUE on one line")
	}
	start, end, ok := l.t.scalarSpan(v)
	if !ok {
		return nil, reasonNoSpan
	}
	inner := string(l.t.data[start:end])
	if site.quote != 0 {
		inner = inner[1 : len(inner)-1]
		start++
	}
	if inner != v.Value {
		return nil, reasonNoSpan // escapes in the quoted literal
	}
	gen := generatorAt(d.root, p[1])
	site.Form, site.Key, site.quote = GeneratorLiteral, key, 0
	site.value = unquote(raw)
	site.start, site.end = start+len(key)+1, start+len(v.Value)
	site.Object = Object{Kind: "secretGenerator", Namespace: l.ns(gen.namespace, kustomizationNS(d.root)), Name: gen.name}
	if gen.name == "" {
		return nil, fmt.Sprintf(reasonUnsupported, "a secretGenerator without a name")
	}
	return site, ""
}

// envEntry recognises a container env entry {name: X, value: literal} whose
// value the finding reports.
func (l *locator) envEntry(d document, p []string, m *yaml.Node, line, col int) (*Site, string, bool) {
	if len(p) < 2 || p[len(p)-2] != "env" || !strings.HasPrefix(p[len(p)-1], "[") {
		return nil, "", false
	}
	var keyNode, valueNode *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "value" {
			keyNode, valueNode = m.Content[i], m.Content[i+1]
		}
	}
	name := manifest.Scalar(manifest.Get(m, "name"))
	if valueNode == nil || valueNode.Kind != yaml.ScalarNode || !l.covers(valueNode, line, col) {
		return nil, "", false
	}
	containers := len(p) >= 4 && (p[len(p)-4] == "containers" || p[len(p)-4] == "initContainers")
	switch {
	case !containers || d.kind == "" || d.name == "":
		return nil, fmt.Sprintf(reasonUnsupported, "an env list outside a named workload's containers"), true
	case !l.whole(valueNode, line, col):
		return nil, reasonInside, true
	case !validEnvKey(name):
		return nil, fmt.Sprintf(reasonUnsupported, "an env name that is not a valid Secret key"), true
	}
	container := manifest.Scalar(manifest.Get(parentContainer(d.root, p), "name"))
	start := l.t.offset(keyNode.Line, keyNode.Column)
	_, end, ok := l.t.scalarSpan(valueNode)
	if start < 0 || !ok || valueNode.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return nil, reasonNoSpan, true
	}
	return &Site{
		File: l.file, Line: line, Form: WorkloadEnv, Key: name, Container: container, value: valueNode.Value,
		start: start, end: end, workloadNS: d.namespace,
		Object: Object{Kind: d.kind, Namespace: l.ns(d.namespace), Name: d.name},
	}, "", true
}

// parentContainer is the container mapping an env path is in.
func parentContainer(root *yaml.Node, p []string) *yaml.Node {
	n := root
	for _, k := range p[:len(p)-2] {
		if strings.HasPrefix(k, "[") {
			var i int
			fmt.Sscanf(k, "[%d]", &i)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			continue
		}
		if n = manifest.Get(n, k); n == nil {
			return nil
		}
	}
	return n
}

// generatorFile locates a finding in a file a secretGenerator reads.
func (l *locator) generatorFile(g generatorRef, line int) (*Site, string) {
	site := &Site{File: l.file, Line: line, Object: g.object}
	if !g.env {
		// The whole file is the value of one key.
		site.Form, site.Key, site.value = GeneratorFile, g.key, string(l.t.data)
		site.start, site.end = 0, len(l.t.data)
		return site, ""
	}
	s, e := l.t.lineSpan(line)
	text := strings.TrimLeft(string(l.t.data[s:e]), " \t")
	if line == 1 {
		text = strings.TrimPrefix(text, "\xef\xbb\xbf")
	}
	key, value, ok := strings.Cut(text, "=")
	if !ok || key == "" || strings.HasPrefix(text, "#") {
		return nil, fmt.Sprintf(reasonUnsupported, "an env file line that is not KEY=VALUE")
	}
	site.Form, site.Key, site.value = GeneratorEnv, key, value
	site.end = e
	site.start = e - len(value)
	return site, ""
}

func (l *locator) ns(candidates ...string) string {
	for _, c := range candidates {
		if c != "" {
			return c
		}
	}
	if ns := l.generators.dirNS[path.Dir(l.file)]; ns != "" {
		return ns
	}
	return l.defaultNS
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// validEnvKey is a Secret data key (and so a Vault key and a reference key).
func validEnvKey(k string) bool {
	if k == "" || len(k) > 253 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isValuesFile(p string) bool {
	base := path.Base(p)
	return strings.HasPrefix(base, "values") && (strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml"))
}

// chartName is the chart a values file belongs to: its directory's name.
func chartName(p string) string {
	dir := path.Base(path.Dir(p))
	if dir == "." || dir == "/" {
		return "chart"
	}
	return dir
}
