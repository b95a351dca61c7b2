package promotion

import (
	"fmt"
	"sort"
	"strings"

	"github.com/latchkey-dev/latchkey/resolver"
)

// NextSteps are the Vault CLI commands that add the missing keys, one per
// key, grouped by secret in a stable order. Values are never on the
// command line (where shell history and process listings keep them):
// KEY=- makes `vault kv` read the value from standard input.
//
// A missing secret is created with `vault kv put` and its other keys added
// with `vault kv patch` (KV v2), since put replaces the whole secret. KV v1
// has no patch: its put reads a JSON object from standard input, which
// must repeat the secret's other keys. A
// pinned version that does not exist is not fixed by a write: its step
// says to pin another version or undelete it.
func NextSteps(missing []Missing) []string {
	type secret struct {
		loc     resolver.Location
		exists  bool
		keys    []string
		pinned  []Missing
		keySeen map[string]bool
	}
	byLoc := map[resolver.Location]*secret{}
	var order []resolver.Location
	for _, m := range missing {
		loc := m.Location.Key()
		s, ok := byLoc[loc]
		if !ok {
			s = &secret{loc: loc, exists: true, keySeen: map[string]bool{}}
			byLoc[loc] = s
			order = append(order, loc)
		}
		switch m.Reason {
		case VersionMissing:
			s.pinned = append(s.pinned, m)
			continue
		case SecretMissing:
			s.exists = false
		}
		if m.Key != "" && !s.keySeen[m.Key] {
			s.keySeen[m.Key] = true
			s.keys = append(s.keys, m.Key)
		}
	}
	sort.Slice(order, func(a, b int) bool { return order[a].String() < order[b].String() })

	var steps []string
	for _, loc := range order {
		s := byLoc[loc]
		sort.Strings(s.keys)
		mount := strings.TrimSuffix(loc.Mount, "/")
		target := fmt.Sprintf("-mount=%s %s", shellWord(mount), shellWord(loc.Path))
		if loc.KVVersion == 1 && len(s.keys) > 0 {
			// KV v1 has no patch, and put replaces the secret: one put
			// with a JSON object on standard input.
			note := "a JSON object with the keys " + strings.Join(s.keys, ", ")
			if s.exists {
				note += " and every key the secret already has (put replaces it)"
			}
			steps = append(steps, fmt.Sprintf("vault kv put %s -   # standard input: %s", target, note))
		} else {
			for i, k := range s.keys {
				verb := "patch"
				if !s.exists && i == 0 {
					verb = "put"
				}
				steps = append(steps, fmt.Sprintf("vault kv %s %s %s=-", verb, target, shellWord(k)))
			}
		}
		for _, m := range s.pinned {
			steps = append(steps, fmt.Sprintf("# %s (%s): version %s of %s does not exist: pin a version that does, or undelete it: vault kv undelete %s -versions=%s",
				m.Ref, where(m), m.Version, loc, target, shellWord(m.Version)))
		}
	}
	return steps
}

func where(m Missing) string {
	if m.Line > 0 {
		return fmt.Sprintf("%s:%d", m.File, m.Line)
	}
	return m.File
}

// shellWord quotes s for a POSIX shell when it holds anything but the
// characters Vault paths and keys usually have. Paths and keys come from
// the repository: quoting keeps a crafted one from being a command.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@:+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
