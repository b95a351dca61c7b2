package scanner

import (
	"fmt"
	"path"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/scanner/manifest"
	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// object scans one parsed document: the kinds that carry secrets by design
// are checked field by field, and every document is walked for secret-named
// keys with literal values, env-style name/value pairs and embedded text.
func (f *fileScan) object(root *yaml.Node) {
	if root.Kind == yaml.SequenceNode {
		for _, item := range root.Content {
			if item.Kind == yaml.MappingNode {
				f.object(item)
			}
		}
		return
	}
	if root.Kind != yaml.MappingNode {
		return
	}
	kind := manifest.Scalar(manifest.Get(root, "kind"))
	apiVersion := manifest.Scalar(manifest.Get(root, "apiVersion"))
	name := manifest.Scalar(manifest.GetPath(root, "metadata", "name"))
	if strings.Contains(name, "${") {
		name = chartName(f.file.Path) // a templated name: {{ include "app.fullname" . }}
	}
	if strings.HasSuffix(kind, "List") {
		if items := manifest.Get(root, "items"); items != nil && items.Kind == yaml.SequenceNode {
			f.object(items)
			return
		}
	}
	ctx := walkContext{check: checkAssignment, object: name}
	if base := path.Base(f.file.Path); strings.HasPrefix(base, "values") && (strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".json")) {
		ctx.check = checkHelmValues
	}
	if isSOPS(root) {
		ctx.check = checkSOPS
		ctx.skipTop = map[string]bool{"sops": true}
	}
	group, _, _ := strings.Cut(apiVersion, "/")
	switch {
	case kind == "Secret" && !strings.Contains(apiVersion, "."):
		f.secret(root, name)
		ctx.skipTop = addSkip(ctx.skipTop, "data", "stringData")
	case kind == "SealedSecret":
		f.sealedSecret(root, name)
		ctx.skipTop = addSkip(ctx.skipTop, "spec")
	case kind == "ConfigMap" && !strings.Contains(apiVersion, "."):
		ctx.check = checkConfigMap
	case kind == "Kustomization" || manifest.Get(root, "secretGenerator") != nil && (manifest.Get(root, "resources") != nil || kustomizationFile(f.file.Path)):
		f.kustomization(root)
		ctx.skipTop = addSkip(ctx.skipTop, "secretGenerator", "configMapGenerator")
	case strings.HasSuffix(group, "external-secrets.io") || group == "secrets.hashicorp.com" || group == "secrets-store.csi.x-k8s.io":
		// These kinds hold references to secrets by design ("secretKey: db-password"
		// names a key); only the shape rules apply to them.
		return
	case group == "argoproj.io" && (kind == "Application" || kind == "ApplicationSet"):
		ctx.argo = true
	}
	f.walk(root, ctx)
}

// chartName names the chart a template belongs to (charts/billing/templates/x.yaml → billing).
func chartName(p string) string {
	dir := path.Dir(p)
	for path.Base(dir) != "templates" && dir != "." && dir != "/" {
		dir = path.Dir(dir)
	}
	if path.Base(dir) == "templates" {
		if chart := path.Base(path.Dir(dir)); chart != "." && chart != "/" {
			return chart
		}
	}
	return appName(p)
}

// kustomizationFile is a file kustomize reads as a kustomization, where
// "kind: Kustomization" and "resources" are optional.
func kustomizationFile(p string) bool {
	switch path.Base(p) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

func addSkip(m map[string]bool, keys ...string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// walkContext is what the generic walk knows about the document.
type walkContext struct {
	check   check
	object  string
	skipTop map[string]bool
	argo    bool
}

// walk looks at every value of a document for secret-named keys holding
// literals, env-style name/value pairs, and multi-line text.
func (f *fileScan) walk(root *yaml.Node, ctx walkContext) {
	if root.Kind == yaml.MappingNode {
		// An item of a JSON patch file is a document of its own.
		f.patchOperation(root, manifest.Get(root, "value"), ctx)
	}
	manifest.Walk(root, func(p []string, k, v *yaml.Node) bool {
		if len(p) == 1 && ctx.skipTop[p[0]] {
			return false
		}
		switch v.Kind {
		case yaml.MappingNode:
			f.nameValue(v, p, ctx)
		case yaml.SequenceNode:
			f.flagArguments(v, p, ctx)
		case yaml.ScalarNode:
			f.scalar(k, v, p, ctx)
		}
		return true
	})
}

// scalar judges one scalar value by its key's name.
func (f *fileScan) scalar(k, v *yaml.Node, p []string, ctx walkContext) {
	if v.Tag == "!!binary" {
		return
	}
	if strings.Contains(v.Value, "\n") {
		if k != nil && proseKeys[k.Value] {
			return
		}
		if ctx.argo && k != nil && k.Value == "values" {
			f.embedded(v, lineContext{check: checkHelmValues})
			return
		}
		f.embedded(v, lineContext{check: ctx.check})
		return
	}
	if k == nil {
		f.item(v, p, ctx)
		return
	}
	value := v.Value
	if numericTag(v) {
		return
	}
	at := atKey
	if len(p) >= 2 && secretMap(p[len(p)-2]) {
		// Under "secrets:" or "secretEnv:" the parent names what its entries are.
		at = underSecrets
	}
	why := "%s holds a literal value; its name says it is a secret"
	switch judge(k.Value, value, at) {
	case notSecret:
		return
	case byPlace:
		why = "%s holds a literal value under a key that declares secrets"
	}
	line, col := f.valuePos(v)
	f.report(finding{
		check: ctx.check,
		why:   fmt.Sprintf(why, FieldPath(p)),
		line:  line, col: col, keyLine: k.Line,
		secret: value, object: ctx.object, key: k.Value,
	})
}

// item judges a scalar list item: an argument ("--db-password=hunter2"), or
// an element of a list whose name says what its items are ("apiKeys:",
// "tokens:"), judged as if each item were under the singular name.
func (f *fileScan) item(v *yaml.Node, p []string, ctx walkContext) {
	if strings.ContainsAny(v.Value, "=:") && len(v.Value) < 4096 {
		f.embedded(v, lineContext{check: ctx.check})
		return
	}
	if len(p) < 2 || strings.HasPrefix(p[len(p)-2], "[") || numericTag(v) {
		return
	}
	list := p[len(p)-2]
	if judge(singular(list), v.Value, inList) == notSecret {
		return
	}
	line, col := f.valuePos(v)
	f.report(finding{
		check: ctx.check,
		why:   fmt.Sprintf("%s is a literal value in a list of credentials", FieldPath(p)),
		line:  line, col: col,
		secret: v.Value, object: ctx.object, key: list,
	})
}

// flagArguments handles command lines split into items, a flag whose name
// says secret followed by its value: args: ["--token", "d8Fk2LmQ..."].
func (f *fileScan) flagArguments(seq *yaml.Node, p []string, ctx walkContext) {
	for i := 0; i+1 < len(seq.Content); i++ {
		flag, value := seq.Content[i], seq.Content[i+1]
		if flag.Kind != yaml.ScalarNode || value.Kind != yaml.ScalarNode || !strings.HasPrefix(flag.Value, "-") ||
			strings.HasPrefix(value.Value, "-") || strings.ContainsAny(flag.Value, "= ") || len(flag.Value) > 64 {
			continue
		}
		name := strings.TrimLeft(flag.Value, "-")
		if name == "" || judge(name, value.Value, atEnv) == notSecret {
			continue
		}
		line, col := f.valuePos(value)
		f.report(finding{
			check: ctx.check,
			why:   fmt.Sprintf("argument %s of %s is followed by a literal value; its name says it is a secret", flag.Value, FieldPath(p)),
			line:  line, col: col, keyLine: flag.Line,
			secret: value.Value, object: ctx.object, key: name,
		})
		i++
	}
}

// secretMap reports a mapping key whose entries are secrets by declaration:
// secrets, credentials, secretEnv, extraSecretEnvVars, secretData...
func secretMap(key string) bool {
	if !containsFold(key, "secret") && !containsFold(key, "cred") && !containsFold(key, "sensitive") {
		return false // most keys: decided without splitting the name
	}
	switch w := rules.SplitName(key); {
	case len(w) == 0:
		return false
	case len(w) == 1:
		return w[0] == "secrets" || w[0] == "secret" || w[0] == "credentials" || w[0] == "creds" || w[0] == "sensitive"
	default:
		last, prev := w[len(w)-1], w[len(w)-2]
		return (prev == "secret" || prev == "secrets") && (last == "env" || last == "vars" || last == "data" || last == "values" || last == "environment") ||
			prev == "env" && last == "secrets" || last == "vars" && len(w) >= 3 && w[len(w)-3] == "secret"
	}
}

// containsFold reports whether s contains the lower-case word w in any case,
// without allocating.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}

// singular turns the name of a list into the name of one of its items:
// "apiKeys" → "apiKey", "ADMIN_TOKENS" → "ADMIN_TOKEN".
func singular(name string) string {
	if len(name) > 3 && (name[len(name)-1] == 's' || name[len(name)-1] == 'S') && name[len(name)-2] != 's' && name[len(name)-2] != 'S' {
		return name[:len(name)-1]
	}
	return name
}

// proseKeys hold documentation, whose examples are not configuration.
var proseKeys = map[string]bool{"description": true, "message": true, "help": true, "summary": true, "text": true,
	"comment": true, "comments": true, "note": true, "notes": true, "usage": true, "title": true}

// numericTag is true for YAML ints and floats: "token: 3600" is a setting.
func numericTag(v *yaml.Node) bool {
	return v.Style == 0 && (v.Tag == "!!int" || v.Tag == "!!float" || v.Tag == "!!bool" || v.Tag == "!!null")
}

// nameValue handles {name: X_PASSWORD, value: literal}: container env in any
// pod template (Pods, Deployments, Jobs, CRDs) and Argo CD Helm parameters;
// and {key: X-Api-Key, value: literal}: HTTP headers (Argo Rollouts
// analysis, probes) and other key/value lists.
func (f *fileScan) nameValue(m *yaml.Node, p []string, ctx walkContext) {
	nameNode, valueNode := manifest.Get(m, "name"), manifest.Get(m, "value")
	if nameNode == nil {
		nameNode = manifest.Get(m, "key")
	}
	if nameNode == nil || valueNode == nil || nameNode.Kind != yaml.ScalarNode || valueNode.Kind != yaml.ScalarNode {
		f.patchOperation(m, valueNode, ctx)
		return
	}
	value := valueNode.Value
	if numericTag(valueNode) || judge(nameNode.Value, value, atEnv) == notSecret {
		return
	}
	c, what := checkEnv, "env variable"
	if ctx.argo || slices.Contains(p, "parameters") {
		c, what = checkArgoParameter, "Helm parameter"
	}
	line, col := f.valuePos(valueNode)
	f.report(finding{
		check: c,
		why:   fmt.Sprintf("%s %q has a literal value; its name says it is a secret", what, nameNode.Value),
		line:  line, col: col, keyLine: nameNode.Line,
		secret: value, object: ctx.object, key: nameNode.Value,
	})
}

// patchOperation handles a JSON patch operation {op, path: /data/X_PASSWORD,
// value: literal} (a patch file, or patches inline in Argo CD or Flux): the
// value is named by the last segment of the pointer.
func (f *fileScan) patchOperation(m, valueNode *yaml.Node, ctx walkContext) {
	pathNode := manifest.Get(m, "path")
	if valueNode == nil || valueNode.Kind != yaml.ScalarNode || manifest.Get(m, "op") == nil ||
		pathNode == nil || pathNode.Kind != yaml.ScalarNode || !strings.HasPrefix(pathNode.Value, "/") || numericTag(valueNode) {
		return
	}
	name := jsonPointerKey(pathNode.Value)
	if judge(name, valueNode.Value, atEnv) == notSecret {
		return
	}
	line, col := f.valuePos(valueNode)
	f.report(finding{
		check: checkEnv, // as the line reader reports it in an inline patch
		why:   fmt.Sprintf("patch of %s sets a literal value; its name says it is a secret", pathNode.Value),
		line:  line, col: col, keyLine: pathNode.Line,
		secret: valueNode.Value, object: ctx.object, key: name,
	})
}

// embedded scans a multi-line string value. Block scalars (| and >) are
// verbatim in the file, so their lines are scanned in place and findings keep
// exact positions; other strings are scanned as text and reported at the value.
func (f *fileScan) embedded(v *yaml.Node, lc lineContext) {
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		if from, to := f.blockRegion(v.Line); to > from {
			f.scanLines(from, to, lc)
		}
		return
	}
	if !strings.Contains(v.Value, "\n") {
		// A single-line scalar is in the file as written, unless quoting
		// escaped something in it.
		col := v.Column
		if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			col++
		}
		start := f.offset(v.Line, col)
		if end := start + len(v.Value); end <= len(f.data) && string(f.data[start:end]) == v.Value {
			f.scanLines(start, end, lc)
			return
		}
	}
	sub := &fileScan{sc: f.sc, file: f.file, data: []byte(v.Value)}
	sub.scanLines(0, len(sub.data), lc)
	for _, d := range sub.out {
		d.Line, d.Column = f.valuePos(v)
		f.out = append(f.out, d)
	}
}

// blockRegion is the byte span of the content of a block scalar whose
// indicator is on line: YAML's own rule, the lines indented at least as much
// as the first content line, blank lines included.
func (f *fileScan) blockRegion(line int) (int, int) {
	f.index()
	from, _ := f.lineSpan(line + 1)
	to, indent := from, -1
	for n := line + 1; n <= len(f.lineStarts); n++ {
		s, e := f.lineSpan(n)
		i := firstNonSpace(f.data[s:e])
		if i < 0 {
			continue // blank lines belong to the block
		}
		if indent < 0 {
			indent = i
		} else if i < indent {
			break
		}
		to = e
	}
	return from, to
}

// valuePos is where a scalar's text starts: inside the quotes for quoted
// scalars, on the first content line for block scalars.
func (f *fileScan) valuePos(v *yaml.Node) (int, int) {
	switch {
	case v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		return v.Line, v.Column + 1
	case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		start, end := f.lineSpan(v.Line + 1)
		i := firstNonSpace(f.data[start:end])
		if i < 0 {
			i = 0
		}
		return v.Line + 1, i + 1
	}
	return v.Line, v.Column
}

// FieldPath writes a YAML path as findings name fields: keys joined by dots,
// list indexes as [i] (spec.containers[0].env).
func FieldPath(p []string) string {
	var b strings.Builder
	for _, s := range p {
		if strings.HasPrefix(s, "[") {
			b.WriteString(s)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// isSOPS recognises a document encrypted by SOPS: a top-level "sops" mapping
// with its metadata.
func isSOPS(root *yaml.Node) bool {
	s := manifest.Get(root, "sops")
	return s != nil && s.Kind == yaml.MappingNode && (manifest.Get(s, "mac") != nil || manifest.Get(s, "lastmodified") != nil || manifest.Get(s, "version") != nil)
}
