package render

import "testing"

// The host of every form of remote reference kustomize and Helm accept is
// found and checked against the allowlist; what names no host is refused.
func TestHostsCheck(t *testing.T) {
	allow := Hosts{"github.com", "charts.example.com", "127.0.0.1:8080"}
	tests := []struct {
		ref     string
		allowed bool
	}{
		{"https://github.com/org/repo//base?ref=v1", true},
		{"git::https://github.com/org/repo", true},
		{"git@github.com:org/repo.git", true},
		{"github.com/org/repo/base", true},
		{"ssh://git@gitlab.com/org/repo", false},
		{"https://charts.example.com/stable", true},
		{"https://charts.example.com:8443/stable", true}, // a host name allows its ports
		{"http://127.0.0.1:8080/charts", true},
		{"http://127.0.0.1:9090/charts", false}, // a host:port entry allows that port only
		{"https://evil.example.com/", false},
		{"not a url", false},
	}
	for _, tt := range tests {
		if err := allow.Check(tt.ref, "test"); (err == nil) != tt.allowed {
			t.Errorf("%s: allowed %t, want %t (%v)", tt.ref, err == nil, tt.allowed, err)
		}
	}
	if (Hosts{"*"}).Check("https://anything.example/x", "test") != nil {
		t.Error("* allows no host")
	}
	if (Hosts{}).Check("https://github.com/x", "test") == nil {
		t.Error("an empty list allows a host")
	}
}
