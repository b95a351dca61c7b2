package scanner

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// GitleaksIgnoreFile is gitleaks' list of accepted findings, honoured at the
// repository root so a repository moving from gitleaks keeps its exceptions.
const GitleaksIgnoreFile = ".gitleaksignore"

// GitleaksIgnore is a .gitleaksignore: one finding fingerprint per line,
// "file:rule:line" or "commit:file:rule:line". gitleaks' rule IDs are not
// latchkey's, so an entry accepts whatever latchkey finds at that file and
// line (and commit, when given).
type GitleaksIgnore struct {
	entries map[string]bool // "commit\x00file\x00line", commit "" for any
}

// LoadGitleaksIgnore reads a .gitleaksignore; a missing file is nil.
func LoadGitleaksIgnore(path string) (*GitleaksIgnore, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	g := &GitleaksIgnore{entries: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Parse from the right: file names may hold colons, the line number
		// and rule ID do not.
		i := strings.LastIndexByte(line, ':')
		lineNo, err := strconv.Atoi(line[i+1:])
		j := strings.LastIndexByte(line[:max(i, 0)], ':')
		if i < 0 || err != nil || j < 0 {
			return nil, fmt.Errorf("%s:%d: %q is not a gitleaks fingerprint (file:rule-id:line or commit:file:rule-id:line)", path, n, line)
		}
		file, commit := line[:j], ""
		if c, rest, ok := strings.Cut(file, ":"); ok && len(c) >= 7 && isHex(c) {
			commit, file = c, rest
		}
		g.entries[commit+"\x00"+file+"\x00"+strconv.Itoa(lineNo)] = true
	}
	return g, sc.Err()
}

// Allows implements Exception.
func (g *GitleaksIgnore) Allows(c Candidate) bool {
	if g == nil {
		return false
	}
	line := strconv.Itoa(c.Line)
	if g.entries["\x00"+c.File+"\x00"+line] {
		return true
	}
	if c.Commit == "" {
		return false
	}
	for _, n := range []int{len(c.Commit), 7, 12} { // full or abbreviated IDs
		if n <= len(c.Commit) && g.entries[c.Commit[:n]+"\x00"+c.File+"\x00"+line] {
			return true
		}
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdef", rune(s[i]|0x20)) {
			return false
		}
	}
	return true
}

// gitleaksConfig is the part of a gitleaks.toml latchkey imports: the global
// allowlists, in their old ([allowlist]) and current ([[allowlists]]) forms.
// Rules and their own allowlists are gitleaks' detection, not exceptions to
// latchkey's.
type gitleaksConfig struct {
	Allowlist  *gitleaksAllowlist  `toml:"allowlist"`
	Allowlists []gitleaksAllowlist `toml:"allowlists"`
}

type gitleaksAllowlist struct {
	Description string   `toml:"description"`
	Condition   string   `toml:"condition"`
	Commits     []string `toml:"commits"`
	Paths       []string `toml:"paths"`
	RegexTarget string   `toml:"regexTarget"`
	Regexes     []string `toml:"regexes"`
	StopWords   []string `toml:"stopwords"`
	TargetRules []string `toml:"targetRules"`

	paths, regexes []*regexp.Regexp
}

// GitleaksAllowlists is the global allowlists of a gitleaks.toml.
type GitleaksAllowlists struct {
	lists []*gitleaksAllowlist
}

// LoadGitleaksConfig reads the allowlists of a gitleaks.toml.
func LoadGitleaksConfig(path string) (*GitleaksAllowlists, error) {
	var c gitleaksConfig
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return nil, fmt.Errorf("reading gitleaks config %s: %w", path, err)
	}
	_ = md // rules, extend and title are gitleaks' own and ignored
	var out GitleaksAllowlists
	lists := c.Allowlists
	if c.Allowlist != nil {
		lists = append([]gitleaksAllowlist{*c.Allowlist}, lists...)
	}
	for i := range lists {
		a := &lists[i]
		if len(a.TargetRules) > 0 {
			// Scoped to gitleaks rules, which latchkey does not have.
			continue
		}
		switch strings.ToUpper(a.Condition) {
		case "", "OR", "AND":
		default:
			return nil, fmt.Errorf("gitleaks config %s: allowlist condition %q (want OR or AND)", path, a.Condition)
		}
		switch a.RegexTarget {
		case "", "secret", "match", "line":
		default:
			return nil, fmt.Errorf("gitleaks config %s: regexTarget %q (want secret, match or line)", path, a.RegexTarget)
		}
		for _, p := range a.Paths {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("gitleaks config %s: allowlist path %q: %w", path, p, err)
			}
			a.paths = append(a.paths, re)
		}
		for _, p := range a.Regexes {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("gitleaks config %s: allowlist regex %q: %w", path, p, err)
			}
			a.regexes = append(a.regexes, re)
		}
		for j, w := range a.StopWords {
			a.StopWords[j] = strings.ToLower(w)
		}
		out.lists = append(out.lists, a)
	}
	return &out, nil
}

// Allows implements Exception with gitleaks' semantics: by default any one
// criterion allows a finding; with condition AND all the criteria given must.
func (g *GitleaksAllowlists) Allows(c Candidate) bool {
	for _, a := range g.lists {
		if a.allows(c) {
			return true
		}
	}
	return false
}

func (a *gitleaksAllowlist) allows(c Candidate) bool {
	var results []bool
	if len(a.Commits) > 0 {
		ok := false
		for _, x := range a.Commits {
			ok = ok || (c.Commit != "" && x == c.Commit)
		}
		results = append(results, ok)
	}
	if len(a.paths) > 0 {
		ok := false
		for _, re := range a.paths {
			ok = ok || re.MatchString(c.File)
		}
		results = append(results, ok)
	}
	if len(a.regexes) > 0 {
		target := c.Secret
		if a.RegexTarget == "line" {
			target = c.LineText
		}
		// "match" is the text the rule matched; latchkey's closest is the
		// secret itself.
		ok := false
		for _, re := range a.regexes {
			ok = ok || re.MatchString(target)
		}
		results = append(results, ok)
	}
	if len(a.StopWords) > 0 {
		ok := false
		lower := strings.ToLower(c.Secret)
		for _, w := range a.StopWords {
			ok = ok || strings.Contains(lower, w)
		}
		results = append(results, ok)
	}
	if len(results) == 0 {
		return false
	}
	and := strings.EqualFold(a.Condition, "AND")
	for _, r := range results {
		if r && !and {
			return true
		}
		if !r && and {
			return false
		}
	}
	return and
}
