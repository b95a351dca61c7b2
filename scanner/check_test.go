package scanner

import (
	"fmt"
	"os"
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

func TestGitleaksAllowlists(t *testing.T) {
	path := t.TempDir() + "/gitleaks.toml"
	cfg := `[allowlist]
paths = ['''^vendor/''']

[[allowlists]]
condition = "AND"
regexTarget = "line"
regexes = ['''# test fixture''']
paths = ['''_test\.go$''']

[[allowlists]]
targetRules = ["generic-api-key"]
stopwords = ["anything"]

[[allowlists]]
regexes = ['''^EXAMPLE''']
commits = ["0123456789abcdef0123456789abcdef01234567"]
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := LoadGitleaksConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    Candidate
		want bool
	}{
		{Candidate{File: "vendor/x.env", Secret: "s3cr3t-value"}, true},
		{Candidate{File: "a_test.go", Secret: "s3cr3t-value", LineText: `key := "s3cr3t-value" # test fixture`}, true},
		{Candidate{File: "a_test.go", Secret: "s3cr3t-value", LineText: `key := "s3cr3t-value"`}, false}, // AND: both needed
		{Candidate{File: "a.go", Secret: "s3cr3t-value", LineText: `x # test fixture`}, false},
		{Candidate{File: "a.env", Secret: "anything-goes"}, false}, // targetRules: gitleaks' rules only
		{Candidate{File: "a.env", Secret: "EXAMPLEKEY123"}, true},
		{Candidate{File: "a.env", Secret: "real", Commit: "0123456789abcdef0123456789abcdef01234567"}, true},
	} {
		if got := g.Allows(tc.c); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.c, got, tc.want)
		}
	}
	if err := os.WriteFile(path, []byte("[[allowlists]]\ncondition = \"XOR\"\npaths = ['''x''']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadGitleaksConfig(path); err == nil || !strings.Contains(err.Error(), "want OR or AND") {
		t.Errorf("bad condition: %v", err)
	}
}
