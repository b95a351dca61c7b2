package scanner

import (
	"fmt"
	"strings"
	"testing"
)

// Every check's fix text takes the same four arguments (object, key, file,
// sealed file): one that used fewer would print %!(EXTRA string=...).
func TestFixTextsAreComplete(t *testing.T) {
	for _, c := range []check{checkSecret, checkDockerConfig, checkEnv, checkConfigMap, checkHelmValues, checkArgoParameter,
		checkKustomize, checkSealed, checkSOPS, checkAssignment, checkDotenv} {
		got := fmt.Sprintf(c.fix, "db", "password", "apps/db/secret.yaml", "apps/db/secret.sealed.yaml")
		if strings.Contains(got, "%!") {
			t.Errorf("%s: %s", c.id, got)
		}
	}
}

func TestGitleaksIgnoreEntries(t *testing.T) {
	g := &GitleaksIgnore{entries: map[string]bool{}}
	for _, e := range []string{"\x00apps/a.env\x007", "abcdef1\x00b.yaml\x003"} {
		g.entries[e] = true
	}
	for _, tc := range []struct {
		c    Candidate
		want bool
	}{
		{Candidate{File: "apps/a.env", Line: 7}, true},
		{Candidate{File: "apps/a.env", Line: 8}, false},
		{Candidate{File: "b.yaml", Line: 3, Commit: "abcdef1234567890"}, true},
		{Candidate{File: "b.yaml", Line: 3}, false},
	} {
		if got := g.Allows(tc.c); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.c, got, tc.want)
		}
	}
}
