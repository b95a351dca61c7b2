package scanner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBaselineSurvivesUnrelatedEdits(t *testing.T) {
	salt := NewSalt()
	fp := SaltFingerprinter(salt, nil)
	sc, err := New(Options{Fingerprints: fp})
	if err != nil {
		t.Fatal(err)
	}
	before := sc.ScanFile(&File{Path: "values.yaml"}, []byte("password: Base-8s7d6f5g\n"))
	after := sc.ScanFile(&File{Path: "values.yaml"}, []byte("# a new comment\nreplicas: 3\npassword: Base-8s7d6f5g\ntoken: New-8s7d6f5g\n"))
	if len(before) != 1 || len(after) != 2 {
		t.Fatalf("findings before %d, after %d; want 1 and 2", len(before), len(after))
	}
	path := filepath.Join(t.TempDir(), "baseline.json")
	if err := NewBaseline(salt, false, fp, before).Write(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "Base-8s7d6f5g") || strings.Contains(string(data), "8s7d") {
		t.Fatalf("baseline carries the secret:\n%s", data)
	}
	b, err := ReadBaseline(path)
	if err != nil {
		t.Fatal(err)
	}
	// The salt in the file is the key: no repository identity is needed.
	if _, err := b.Fingerprinter(path, Identity{Missing: "no Git"}, nil); err != nil {
		t.Fatal(err)
	}
	left := b.Filter(after)
	if len(left) != 1 || left[0].Line != 4 {
		t.Fatalf("after the baseline: %+v, want only the new token on line 4", left)
	}

	// Another LATCHKEY_FINGERPRINT_KEY is refused, not silently mismatched, and named as the cause.
	if _, err := b.Fingerprinter(path, Identity{ID: "root"}, []byte("ci-key")); err == nil || !strings.Contains(err.Error(), "LATCHKEY_FINGERPRINT_KEY, and it is set") {
		t.Fatalf("baseline loaded with a different fingerprint key: %v", err)
	}
}

func TestBaselineVersion1NamesTheMissingRootCommit(t *testing.T) {
	fp := NewFingerprinter("root-commit", nil)
	b := &Baseline{Version: 1, KeyID: fp.KeyID()}
	if got, err := b.Fingerprinter("b.json", Identity{ID: "root-commit"}, nil); err != nil || got.KeyID() != fp.KeyID() {
		t.Fatalf("version 1 baseline in its own repository: %v", err)
	}
	_, err := b.Fingerprinter("b.json", Identity{Missing: "this is a shallow clone (git clone --depth), which does not have the root commit"}, nil)
	if err == nil || !strings.Contains(err.Error(), "shallow clone") || strings.Contains(err.Error(), "check LATCHKEY_FINGERPRINT_KEY") {
		t.Fatalf("version 1 baseline in a shallow clone: %v", err)
	}
	if _, err := b.Fingerprinter("b.json", Identity{ID: "other-root"}, nil); err == nil {
		t.Fatal("version 1 baseline accepted in another repository")
	}
}

func TestFingerprintIsKeyed(t *testing.T) {
	a := NewFingerprinter("repo-a", nil).Sum("r", "f", "hunter2")
	b := NewFingerprinter("repo-b", nil).Sum("r", "f", "hunter2")
	c := NewFingerprinter("repo-a", []byte("k")).Sum("r", "f", "hunter2")
	if a == b || a == c || b == c {
		t.Fatalf("fingerprints do not depend on the key: %s %s %s", a, b, c)
	}
	if a != NewFingerprinter("repo-a", nil).Sum("r", "f", "hunter2") {
		t.Fatal("fingerprint is not stable")
	}
	if a == NewFingerprinter("repo-a", nil).Sum("r", "g", "hunter2") {
		t.Fatal("fingerprint ignores the file")
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hunter2", "*****"},
		{"ghp_0123456789abcdefghij", "ghp_*****"},
		{"Sh0p-8s7d6f", "Sh*****"},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIE", "----*****"},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8-tail", "*****"}, // one ? for the invalid run: too short to show
	} {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
