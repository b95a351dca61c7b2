package manifest

import (
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// MaxDepth bounds recursion; deeper subtrees are skipped.
const MaxDepth = 512

// Visitor is called for every mapping entry and sequence item. path holds the
// keys (and "[i]" indexes) from the root to the value; it is reused between
// calls, so copy it to keep it. key is nil for sequence items. Returning false
// skips the value's children.
type Visitor func(path []string, key, value *yaml.Node) bool

// Walk visits n depth-first. Alias nodes are passed to the visitor but never
// followed, so an alias bomb costs no more than its text.
func Walk(n *yaml.Node, visit Visitor) {
	path := make([]string, 0, 16)
	walk(n, visit, path, 0)
}

func walk(n *yaml.Node, visit Visitor, path []string, depth int) {
	if n == nil || depth > MaxDepth {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walk(c, visit, path, depth+1)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := append(path, k.Value)
			if visit(p, k, v) && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) {
				walk(v, visit, p, depth+1)
			}
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := append(path, "["+strconv.Itoa(i)+"]")
			if visit(p, nil, v) && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) {
				walk(v, visit, p, depth+1)
			}
		}
	}
}

// Get returns the value under key in mapping m, or nil. It does not follow
// aliases or merge keys.
func Get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// GetPath follows keys through nested mappings.
func GetPath(m *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if m = Get(m, k); m == nil {
			return nil
		}
	}
	return m
}

// Scalar returns the value of a scalar node, "" for anything else.
func Scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// Entries calls fn for each key/value pair of mapping m whose key is a scalar.
func Entries(m *yaml.Node, fn func(key, value *yaml.Node)) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode {
			fn(m.Content[i], m.Content[i+1])
		}
	}
}
