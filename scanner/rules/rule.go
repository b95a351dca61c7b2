package rules

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Rule is a pattern for one kind of credential that is recognisable by its
// shape alone, wherever it appears.
type Rule struct {
	ID          string
	Description string
	// Fix tells the user what to do instead of committing the value.
	Fix string
	// Keywords gate the rule: its regex runs only on lines that contain one of
	// them (ASCII case-insensitive). A rule without keywords runs on the whole
	// input, which is slower; built-in rules always have keywords.
	Keywords []string
	Regex    *regexp.Regexp
	// Find replaces Regex for rules whose shape a regular expression
	// matches too slowly on hot keywords: it returns the secret spans in line.
	Find func(line []byte) [][2]int
	// SecretGroup is the regex group that holds the secret; 0 is the whole match.
	SecretGroup int
	// MinEntropy rejects matches whose secret is less random than this (bits per byte).
	MinEntropy float64
	// Literal runs the secret through Literal, so references, templates and
	// placeholders inside the match are not reported.
	Literal bool
	// Check is a last false-positive filter. It sees the whole input and the
	// match span, so it can look past the line (private key bodies), and it
	// may extend the match end (to the end of a PEM block).
	Check func(data []byte, start, end int) (newEnd int, ok bool)
}

// Match is one credential found by a rule: the byte span of the secret.
type Match struct {
	Rule       *Rule
	Start, End int
}

// Validate reports a rule that cannot work.
func (r *Rule) Validate() error {
	switch {
	case r.ID == "":
		return fmt.Errorf("rule without id")
	case r.Regex == nil && r.Find == nil:
		return fmt.Errorf("rule %s: no regex", r.ID)
	case r.Regex != nil && (r.SecretGroup < 0 || r.SecretGroup > r.Regex.NumSubexp()):
		return fmt.Errorf("rule %s: secret group %d out of range (the regex has %d groups)", r.ID, r.SecretGroup, r.Regex.NumSubexp())
	}
	return nil
}

// maxMatchesPerLine bounds the work (and memory) one hostile line can cost.
const maxMatchesPerLine = 1000

// Set is a compiled collection of rules sharing one keyword automaton.
type Set struct {
	rules     []*Rule
	ac        *Automaton
	byKeyword [][]int // keyword index → rule indexes
	unkeyed   []int   // rules without keywords
}

// NewSet compiles rules into a set.
func NewSet(rs []*Rule) (*Set, error) {
	s := &Set{rules: rs}
	var words []string
	for i, r := range rs {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if len(r.Keywords) == 0 {
			s.unkeyed = append(s.unkeyed, i)
			continue
		}
		for _, k := range r.Keywords {
			words = append(words, strings.ToLower(k))
			s.byKeyword = append(s.byKeyword, []int{i})
		}
	}
	s.ac = NewAutomaton(words)
	return s, nil
}

// Rules returns the rules of the set.
func (s *Set) Rules() []*Rule { return s.rules }

// Without returns the set minus the rules whose IDs are listed.
func (s *Set) Without(ids map[string]bool) *Set {
	if len(ids) == 0 {
		return s
	}
	var keep []*Rule
	for _, r := range s.rules {
		if !ids[r.ID] {
			keep = append(keep, r)
		}
	}
	out, _ := NewSet(keep) // the rules were valid already
	return out
}

// With returns the set plus extra rules.
func (s *Set) With(extra []*Rule) (*Set, error) {
	if len(extra) == 0 {
		return s, nil
	}
	return NewSet(append(append([]*Rule(nil), s.rules...), extra...))
}

// Scan reports every match in data, in order of lines. It stops when fn
// returns false.
func (s *Set) Scan(data []byte, fn func(Match) bool) {
	pending := make([]bool, len(s.rules))
	var todo []int
	lineStart, lineEnd := -1, -1
	stopped := false
	flush := func() {
		for _, ri := range todo {
			pending[ri] = false
			if !stopped && !s.match(s.rules[ri], data, lineStart, lineEnd, fn) {
				stopped = true
			}
		}
		todo = todo[:0]
	}
	s.ac.Scan(data, func(kw, end int) bool {
		if end > lineEnd {
			flush()
			if stopped {
				return false
			}
			lineStart, lineEnd = lineBounds(data, end-1)
		}
		for _, ri := range s.byKeyword[kw] {
			if !pending[ri] {
				pending[ri] = true
				todo = append(todo, ri)
			}
		}
		return true
	})
	flush()
	for _, ri := range s.unkeyed {
		if stopped || !s.match(s.rules[ri], data, 0, len(data), fn) {
			return
		}
	}
}

func (s *Set) match(r *Rule, data []byte, from, to int, fn func(Match) bool) bool {
	var spans [][2]int
	if r.Find != nil {
		spans = r.Find(data[from:to])
	} else {
		// A line of a million tokens is a dump; its first thousand make the point.
		for _, m := range r.Regex.FindAllSubmatchIndex(data[from:to], maxMatchesPerLine) {
			if m[2*r.SecretGroup] >= 0 {
				spans = append(spans, [2]int{m[2*r.SecretGroup], m[2*r.SecretGroup+1]})
			}
		}
	}
	for _, sp := range spans {
		start, end := sp[0], sp[1]
		start, end = start+from, end+from
		secret := string(data[start:end])
		if r.MinEntropy > 0 && Entropy(secret) < r.MinEntropy {
			continue
		}
		if r.Literal && !Literal(secret) {
			continue
		}
		if r.Check != nil {
			var ok bool
			if end, ok = r.Check(data, start, end); !ok {
				continue
			}
		}
		if !fn(Match{Rule: r, Start: start, End: end}) {
			return false
		}
	}
	return true
}

// lineBounds returns the line around offset i, without its newline.
func lineBounds(data []byte, i int) (int, int) {
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	end := bytes.IndexByte(data[i:], '\n')
	if end < 0 {
		return start, len(data)
	}
	return start, i + end
}
