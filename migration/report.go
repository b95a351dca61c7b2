package migration

import (
	"fmt"
	"io"

	"github.com/latchkey-dev/latchkey/resolver/vault"
)

// Print writes the plan: file:line → Vault path#key, what happens to the
// key, and the findings left alone with their reasons. It never prints a
// value.
func (p *VaultPlan) Print(w io.Writer) {
	moved := 0
	for _, st := range p.Steps {
		if st.Conflict == "" {
			moved++
		}
	}
	fmt.Fprintf(w, "latchkey scan --fix vault: %d value(s) to move to Vault, %d left alone\n", moved, len(p.Skipped)+len(p.Steps)-moved)
	for _, st := range p.Steps {
		fmt.Fprintf(w, "  %s:%d → %s#%s (%s", st.File, st.Line, st.Path, st.Key, st.Form)
		switch {
		case st.Conflict != "":
			fmt.Fprintf(w, "): SKIPPED: %s\n", st.Conflict)
			continue
		case st.Unchecked:
			fmt.Fprint(w, "; not checked in Vault")
		case st.State == vault.KeyEqual:
			fmt.Fprint(w, "; Vault holds the same value: reused")
		default:
			fmt.Fprint(w, "; new key")
		}
		if st.SecretName != "" {
			fmt.Fprintf(w, "; env becomes secretKeyRef %s in %s", st.SecretName, st.SecretFile)
		}
		if st.Committed {
			fmt.Fprint(w, "; also in Git history: rotate it")
		}
		fmt.Fprintln(w, ")")
	}
	for _, g := range p.Generated {
		if g.Kustomization != "" {
			fmt.Fprintf(w, "  + %s (Secret %s), added to %s\n", g.File, g.Name, g.Kustomization)
		} else {
			fmt.Fprintf(w, "  + %s (Secret %s)\n", g.File, g.Name)
		}
	}
	printSkipped(w, p.Skipped)
}

func printSkipped(w io.Writer, skipped []Skip) {
	if len(skipped) == 0 {
		return
	}
	fmt.Fprintln(w, "left alone:")
	for _, s := range skipped {
		fmt.Fprintf(w, "  %s:%d: %s\n", s.File, s.Line, s.Reason)
	}
}

// PrintHistory lists the values found only in Git history: moving files
// cannot fix them, since every clone keeps them; they must be rotated.
func PrintHistory(w io.Writer, only []Skip) {
	if len(only) == 0 {
		return
	}
	fmt.Fprintf(w, "in Git history only, NOT fixed (%d): rotate these values; removing them from files does not unpublish them\n", len(only))
	for _, s := range only {
		fmt.Fprintf(w, "  %s:%d in commit %s (%s)\n", s.File, s.Line, short(s.Commit), s.Rule)
	}
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
