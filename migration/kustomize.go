package migration

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/scanner/manifest"
)

var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func isKustomizationFile(p string) bool {
	base := path.Base(p)
	for _, n := range kustomizationNames {
		if base == n {
			return true
		}
	}
	return false
}

// generatorRef is what a file read by a secretGenerator belongs to.
type generatorRef struct {
	object Object
	env    bool   // an env file (KEY=VALUE lines), or one file as one key
	key    string // the key of a files= entry
}

// generatorIndex maps root-relative files to the secretGenerator reading them.
type generatorIndex struct {
	files map[string]generatorRef
	// dirNS is the namespace a kustomization sets for its directory's objects.
	dirNS map[string]string
}

type generator struct{ name, namespace string }

// generatorAt is the secretGenerator entry at index "[i]".
func generatorAt(root *yaml.Node, index string) generator {
	list := manifest.Get(root, "secretGenerator")
	i, err := strconv.Atoi(strings.Trim(index, "[]"))
	if list == nil || list.Kind != yaml.SequenceNode || err != nil || i >= len(list.Content) {
		return generator{}
	}
	g := list.Content[i]
	return generator{name: manifest.Scalar(manifest.Get(g, "name")), namespace: manifest.Scalar(manifest.Get(g, "namespace"))}
}

func kustomizationNS(root *yaml.Node) string {
	return manifest.Scalar(manifest.Get(root, "namespace"))
}

// addKustomization records the files the secretGenerators of the
// kustomization at file read.
func (x *generatorIndex) add(file string, data []byte, defaultNS string) {
	docs, _ := manifest.Parse(data)
	if len(docs) != 1 {
		return
	}
	root := docs[0]
	if ns := kustomizationNS(root); ns != "" {
		x.dirNS[path.Dir(file)] = ns
	}
	list := manifest.Get(root, "secretGenerator")
	if list == nil || list.Kind != yaml.SequenceNode {
		return
	}
	dir := path.Dir(file)
	for i := range list.Content {
		g := generatorAt(root, "["+strconv.Itoa(i)+"]")
		ns := g.namespace
		if ns == "" {
			ns = kustomizationNS(root)
		}
		if ns == "" {
			ns = defaultNS
		}
		obj := Object{Kind: "secretGenerator", Namespace: ns, Name: g.name}
		if g.name == "" {
			continue
		}
		entry := list.Content[i]
		var envs []string
		if e := manifest.Get(entry, "env"); e != nil && e.Kind == yaml.ScalarNode {
			envs = append(envs, e.Value)
		}
		if e := manifest.Get(entry, "envs"); e != nil && e.Kind == yaml.SequenceNode {
			for _, n := range e.Content {
				envs = append(envs, n.Value)
			}
		}
		for _, e := range envs {
			if t, ok := within(dir, e); ok {
				x.files[t] = generatorRef{object: obj, env: true}
			}
		}
		if fs := manifest.Get(entry, "files"); fs != nil && fs.Kind == yaml.SequenceNode {
			for _, n := range fs.Content {
				key, p, ok := strings.Cut(n.Value, "=")
				if !ok {
					key, p = path.Base(n.Value), n.Value
				}
				if t, ok := within(dir, p); ok && validEnvKey(key) {
					x.files[t] = generatorRef{object: obj, key: key}
				}
			}
		}
	}
}

// within joins rel to dir, refusing paths that leave the tree.
func within(dir, rel string) (string, bool) {
	if rel == "" || path.IsAbs(rel) {
		return "", false
	}
	t := path.Clean(path.Join(dir, rel))
	return t, t != ".." && !strings.HasPrefix(t, "../")
}

// addResourceEdit returns the edit that appends file to the resources list
// of a kustomization, in the list's own style and indentation, or appends a
// resources list when there is none.
func addResourceEdit(t *text, file string) (edit, error) {
	docs, err := manifest.Parse(t.data)
	if err != nil || len(docs) != 1 {
		return edit{}, fmt.Errorf("the kustomization does not parse as one YAML document")
	}
	nl := t.newline()
	res := manifest.Get(docs[0], "resources")
	switch {
	case res == nil:
		end := len(t.data)
		prefix := ""
		if end > 0 && t.data[end-1] != '\n' {
			prefix = nl
		}
		return edit{start: end, end: end, text: prefix + "resources:" + nl + "- " + file + nl}, nil
	case res.Kind == yaml.SequenceNode && res.Style&yaml.FlowStyle == 0 && len(res.Content) > 0:
		last := res.Content[len(res.Content)-1]
		_, lineEnd := t.lineSpan(last.Line)
		if last.Kind != yaml.ScalarNode || last.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return edit{}, fmt.Errorf("the resources list ends with a value that is not one line")
		}
		// "- file" at the column of the last item's dash.
		dash := t.offset(last.Line, last.Column) - 1
		for dash > 0 && t.data[dash] != '-' {
			dash--
		}
		s, _ := t.lineSpan(last.Line)
		indent := strings.Repeat(" ", max(dash-s, 0))
		return edit{start: lineEnd, end: lineEnd, text: nl + indent + "- " + file}, nil
	}
	return edit{}, fmt.Errorf("the resources field is not a block list")
}
