package scanner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// ConfigFile is the repository configuration file, read from the scan root.
const ConfigFile = ".latchkey.yaml"

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

// ParseConfig parses .latchkey.yaml content; unknown fields are errors, so a
// typo does not silently disable an exception or a rule.
func ParseConfig(data []byte, name string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	if _, err := c.customRules(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := newPathSet(c.Allow.Paths); err != nil {
		return nil, fmt.Errorf("%s: allow.paths: %w", name, err)
	}
	return &c, nil
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
