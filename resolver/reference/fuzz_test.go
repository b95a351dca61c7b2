package reference

import (
	"strings"
	"testing"
)

// FuzzParse checks the grammar never panics, spans are in bounds and ordered,
// and every reference it returns re-parses to itself from its own text.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"<path:secret/data/db#password>",
		"<path:a#b#3 | jsonPath {.x} | base64encode>",
		"ref+vault://secret/app?version=2#/k+",
		"<token | indent 2>",
		"<path:", "ref+vault://", "<<path:a#b>>", "\xff<path:\x00#\x00>",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, generic := range []bool{false, true} {
			refs, _ := scan(s, generic)
			prev := 0
			for _, r := range refs {
				if r.Start < prev || r.End > len(s) || r.Start >= r.End {
					t.Fatalf("bad span %d..%d (prev end %d, len %d)", r.Start, r.End, prev, len(s))
				}
				prev = r.End
				again, err := scan(s[r.Start:r.End], generic)
				if err != nil || len(again) != 1 || again[0].Path != r.Path || again[0].Key != r.Key {
					t.Fatalf("reference %q does not re-parse to itself: %+v, %v", s[r.Start:r.End], again, err)
				}
			}
		}
		_ = Contains(s)
		_ = IsGeneric(strings.TrimSpace(s))
	})
}
