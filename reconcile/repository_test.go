package reconcile

import "testing"

func TestSameRepository(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"https://github.com/org/app.git", "https://github.com/org/app", true},
		{"https://github.com/Org/App.git", "https://github.com/org/app/", true},
		{"https://github.com/org/app.git", "git@github.com:org/app.git", true},
		{"https://github.com/org/app.git", "ssh://git@github.com/org/app.git", true},
		{"https://github.com/org/app.git", "https://github.com/org/other.git", false},
		{"http://127.0.0.1:8080/app.git", "http://127.0.0.1:9090/app.git", false},
		{"https://gitlab.com/org/app.git", "https://github.com/org/app.git", false},
	}
	for _, tc := range tests {
		if got := sameRepository(tc.a, tc.b); got != tc.same {
			t.Errorf("sameRepository(%q, %q) = %t, want %t", tc.a, tc.b, got, tc.same)
		}
	}
}
