package promotion

import (
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/resolver"
)

func TestNextStepsQuoteWhatTheRepositoryNames(t *testing.T) {
	// Paths and keys come from the repository: a crafted one must stay
	// one shell word, not become a command.
	loc := resolver.Location{Mount: "secret/", Path: "shop/$(touch pwned)", KVVersion: 2}
	steps := NextSteps([]Missing{
		{Location: loc, Key: "a'; rm -rf / #", Reason: SecretMissing},
		{Location: loc, Key: "plain_key-1.x", Reason: KeyMissing},
	})
	want := []string{
		`vault kv put -mount=secret 'shop/$(touch pwned)' 'a'\''; rm -rf / #'=-`,
		`vault kv patch -mount=secret 'shop/$(touch pwned)' plain_key-1.x=-`,
	}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
}

func TestNextStepsNameEachKeyOnce(t *testing.T) {
	loc := resolver.Location{Mount: "team/kv/", Path: "db", KVVersion: 2}
	// The same key referenced from two objects is written once.
	steps := NextSteps([]Missing{
		{File: "a.yaml", Location: loc, Key: "password", Reason: KeyMissing},
		{File: "b.yaml", Location: loc, Key: "password", Reason: KeyMissing},
	})
	if want := "vault kv patch -mount=team/kv db password=-"; len(steps) != 1 || steps[0] != want {
		t.Errorf("steps %q; want [%q]", steps, want)
	}
}
