package scanner

import (
	"cmp"
	"slices"
)

// Finding is one plaintext secret. It never holds the secret itself: Secret
// is masked, and Fingerprint is a keyed hash.
type Finding struct {
	RuleID      string `json:"rule"`
	Description string `json:"description"`
	Fix         string `json:"fix"`
	// File is slash-separated and relative to the repository root (see
	// FindRoot), whatever the working directory or path argument.
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	// Commit is set in --git mode: the first commit of the range that
	// introduced the blob.
	Commit string `json:"commit,omitempty"`
	// Secret is the masked value, e.g. "hunt****".
	Secret      string `json:"secret"`
	Fingerprint string `json:"fingerprint"`

	// Length is the secret's length in bytes, for SARIF regions.
	Length int `json:"-"`
	// priority ranks findings on one line: manifest-aware checks explain more
	// than a generic token match.
	priority int
	// plainWord is true when the secret is letters only (documentation
	// examples use words: "secretpassword").
	plainWord bool
}

// sortFindings orders findings by file, commit, line, column and drops all but
// the best finding of each line: two rules seeing the same value are one leak.
func sortFindings(fs []Finding) []Finding {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Commit, b.Commit), cmp.Compare(a.Line, b.Line),
			cmp.Compare(b.priority, a.priority), cmp.Compare(a.Column, b.Column))
	})
	return slices.CompactFunc(fs, func(a, b Finding) bool {
		return a.File == b.File && a.Commit == b.Commit && a.Line == b.Line
	})
}
