package scanner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// ConfigFile is the repository configuration file, read from the repository
// root (ConfigFileAlt is accepted too, but not both).
const (
	ConfigFile    = ".latchkey.yaml"
	ConfigFileAlt = ".latchkey.yml"
)

// Config is .latchkey.yaml: repository-specific rules and exceptions.
//
//	allow:
//	  paths: ["scanner/testdata/**", "docs/examples/*.yaml"]
//	disable: [jwt]
//	rules:
//	  - id: acme-api-key
//	    description: ACME API key
//	    regex: 'acme_[a-z0-9]{32}'
//	    keywords: [acme_]
type Config struct {
	Allow struct {
		// Paths are globs over slash-separated root-relative paths; "**"
		// matches any number of directories.
		Paths []string `yaml:"paths"`
	} `yaml:"allow"`
	// Disable lists rule IDs that are not reported.
	Disable []string     `yaml:"disable"`
	Rules   []CustomRule `yaml:"rules"`
	// Baseline is the baseline file (root-relative) every scan of the
	// repository honours, --staged and the hooks included.
	Baseline string `yaml:"baseline"`
	// Gitleaks is a gitleaks.toml (root-relative) whose allowlists apply.
	Gitleaks string `yaml:"gitleaks"`
}

// CustomRule is a shape rule defined by the repository.
type CustomRule struct {
	ID          string   `yaml:"id"`
	Description string   `yaml:"description"`
	Regex       string   `yaml:"regex"`
	Keywords    []string `yaml:"keywords"`
	// SecretGroup selects the capture group holding the secret (default: the
	// whole match, or group 1 when the regex has groups).
	SecretGroup *int    `yaml:"secretGroup"`
	Entropy     float64 `yaml:"entropy"`
	Fix         string  `yaml:"fix"`
}

// FindConfig returns the config file of the repository rooted at root:
// .latchkey.yaml or .latchkey.yml, "" when there is none. Both at once is an
// error, so an edit to the ignored one is never silently lost.
func FindConfig(root string) (string, error) {
	var found []string
	for _, name := range []string{ConfigFile, ConfigFileAlt} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return filepath.Join(root, found[0]), nil
	}
	return "", fmt.Errorf("both %s and %s exist in %s: merge them into %s and delete %s", ConfigFile, ConfigFileAlt, root, ConfigFile, ConfigFileAlt)
}

// LoadConfig reads a config file; a missing file is an empty config.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading scanner config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig parses .latchkey.yaml content; unknown keys and values of the
// wrong shape are errors naming the key and what is valid, so a typo does
// not silently disable an exception or a rule.
func ParseConfig(data []byte, name string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %w", name, err)
	}
	if len(root.Content) == 0 {
		return &Config{}, nil
	}
	if err := checkShape(root.Content[0], configSchema, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var c Config
	if err := root.Content[0].Decode(&c); err != nil {
		// Shapes are checked above; what is left is a scalar of the wrong
		// type, which the decoder names in Go terms.
		msg := strings.NewReplacer("yaml: unmarshal errors:\n  ", "", "into float64", "into a number (entropy: 3.0)",
			"into int", "into a group number (secretGroup: 1)").Replace(err.Error())
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	if _, err := c.customRules(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := newPathSet(c.Allow.Paths); err != nil {
		return nil, fmt.Errorf("%s: allow.paths: %w", name, err)
	}
	if err := c.checkDisable(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// checkDisable rejects rule IDs that no rule has: a misspelt ID would
// otherwise disable nothing, silently.
func (c *Config) checkDisable() error {
	known := map[string]bool{}
	for _, id := range RuleIDs() {
		known[id] = true
	}
	for _, r := range c.Rules {
		known[r.ID] = true
	}
	for _, id := range c.Disable {
		if !known[id] {
			return fmt.Errorf("disable: unknown rule ID %q; valid IDs: %s", id, strings.Join(sortedKeys(known), ", "))
		}
	}
	return nil
}

// RuleIDs lists the built-in rule IDs, sorted.
func RuleIDs() []string {
	ids := map[string]bool{}
	for id := range checkDescriptions {
		ids[id] = true
	}
	for _, r := range rules.Builtin().Rules() {
		ids[r.ID] = true
	}
	return sortedKeys(ids)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *Config) customRules() ([]*rules.Rule, error) {
	var out []*rules.Rule
	seen := map[string]bool{}
	for _, r := range rules.Builtin().Rules() {
		seen[r.ID] = true
	}
	for i, cr := range c.Rules {
		if cr.ID == "" || cr.Regex == "" {
			return nil, fmt.Errorf("rules[%d]: id and regex are required", i)
		}
		if seen[cr.ID] {
			return nil, fmt.Errorf("rules[%d]: id %q is already defined", i, cr.ID)
		}
		seen[cr.ID] = true
		re, err := regexp.Compile(cr.Regex)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", cr.ID, err)
		}
		group := 0
		if re.NumSubexp() > 0 {
			group = 1
		}
		if cr.SecretGroup != nil {
			group = *cr.SecretGroup
		}
		desc, fix := cr.Description, cr.Fix
		if desc == "" {
			desc = "matches custom rule " + cr.ID
		}
		if fix == "" {
			fix = "remove the value, rotate it, and reference it from Vault: <path:secret/data/APP#KEY>"
		}
		r := &rules.Rule{ID: cr.ID, Description: desc, Fix: fix, Keywords: cr.Keywords, Regex: re, SecretGroup: group, MinEntropy: cr.Entropy, Literal: true}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// pathSet matches root-relative paths against gitignore-like globs.
type pathSet struct{ res []*regexp.Regexp }

func newPathSet(globs []string) (*pathSet, error) {
	ps := &pathSet{}
	for _, g := range globs {
		re, err := globRegexp(g)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", g, err)
		}
		ps.res = append(ps.res, re)
	}
	return ps, nil
}

func (ps *pathSet) match(p string) bool {
	if ps == nil {
		return false
	}
	for _, re := range ps.res {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}

// globRegexp compiles a glob: "*" and "?" stay within a path segment, "**"
// spans segments, a pattern without "/" matches a base name at any depth, and
// a pattern naming a directory matches everything below it.
func globRegexp(g string) (*regexp.Regexp, error) {
	g = strings.TrimPrefix(g, "./")
	return compileGlob(g, strings.Contains(strings.TrimSuffix(g, "/"), "/"))
}

func compileGlob(g string, anchored bool) (*regexp.Regexp, error) {
	g = strings.TrimPrefix(strings.TrimSuffix(g, "/"), "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case c == '*' && i+1 < len(g) && g[i+1] == '*':
			i++
			if i+1 < len(g) && g[i+1] == '/' {
				i++
				b.WriteString("(?:.*/)?")
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(g[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unclosed [")
			}
			b.WriteString(g[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("(?:/.*)?$")
	return regexp.Compile(b.String())
}
