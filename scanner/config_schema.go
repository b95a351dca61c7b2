package scanner

import (
	"fmt"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// shape describes what a config key holds, so that a typo or a value of the
// wrong kind is reported with the key, its line and what is valid, instead
// of a decoder's Go type names.
type shape struct {
	kind    yaml.Kind
	example string           // how a valid value is written
	fields  map[string]shape // for mappings
	items   *shape           // for sequences
}

var (
	stringShape = func(ex string) shape { return shape{kind: yaml.ScalarNode, example: ex} }
	listShape   = func(ex string) shape {
		s := stringShape("")
		return shape{kind: yaml.SequenceNode, example: ex, items: &s}
	}
	ruleShape = shape{kind: yaml.MappingNode, example: "- {id: acme-api-key, regex: 'acme_([a-z0-9]{32})'}", fields: map[string]shape{
		"id":          stringShape("id: acme-api-key"),
		"description": stringShape("description: ACME API key"),
		"regex":       stringShape("regex: 'acme_([a-z0-9]{32})'"),
		"keywords":    listShape("keywords: [acme_]"),
		"secretGroup": stringShape("secretGroup: 1"),
		"entropy":     stringShape("entropy: 3.0"),
		"fix":         stringShape("fix: reference it from Vault"),
	}}
	configSchema = shape{kind: yaml.MappingNode, example: "allow: {paths: [...]}", fields: map[string]shape{
		"allow": {kind: yaml.MappingNode, example: `allow: {paths: ["**/testdata/**"]}`, fields: map[string]shape{
			"paths": listShape(`paths: ["**/testdata/**", "docs/examples/*.yaml"]`),
		}},
		"disable":  listShape("disable: [jwt]"),
		"rules":    {kind: yaml.SequenceNode, example: "rules: [{id: ..., regex: ...}]", items: &ruleShape},
		"baseline": stringShape("baseline: .latchkey-baseline.json"),
		"gitleaks": stringShape("gitleaks: .gitleaks.toml"),
	}}
)

var kindNames = map[yaml.Kind]string{yaml.ScalarNode: "a single value", yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping"}

// checkShape walks n against s; at is the dotted path of n for messages.
func checkShape(n *yaml.Node, s shape, at string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && s.kind != yaml.ScalarNode {
		return nil // "allow:" with nothing under it
	}
	if n.Kind != s.kind {
		name := at
		if name == "" {
			name = "the file"
		}
		return fmt.Errorf("line %d: %s must be %s, e.g. %s", n.Line, name, kindNames[s.kind], s.example)
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			sub, ok := s.fields[k.Value]
			if !ok {
				valid := make([]string, 0, len(s.fields))
				for f := range s.fields {
					valid = append(valid, f)
				}
				sort.Strings(valid)
				where := "at the top level"
				if at != "" {
					where = "under " + at
				}
				hint := ""
				if near := nearest(k.Value, valid); near != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", near)
				}
				return fmt.Errorf("line %d: unknown key %q %s%s; valid keys: %s", k.Line, k.Value, where, hint, strings.Join(valid, ", "))
			}
			if err := checkShape(n.Content[i+1], sub, join(at, k.Value)); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if err := checkShape(item, *s.items, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// nearest returns the valid key closest to a typo (edit distance at most 2,
// or a case difference).
func nearest(typo string, valid []string) string {
	best, bestD := "", 3
	for _, v := range valid {
		if strings.EqualFold(v, typo) {
			return v
		}
		if d := editDistance(strings.ToLower(typo), strings.ToLower(v)); d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
