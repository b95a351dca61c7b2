package migration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/latchkey-dev/latchkey/resolver/vault"
)

// Written is what a write did.
type Written struct {
	// Files are the root-relative files rewritten or created.
	Files []string
	// Created are the generated Secret files among them.
	Created []string
	// Stored and Reused count the Vault keys written and found equal.
	Stored, Reused int
}

// Write stores every value of the plan in Vault, then rewrites the files.
// Values go to Vault first: a file only loses a literal once its value is
// stored. A key that changed in Vault since planning is not overwritten; its
// finding is left alone and recorded in Skipped.
func (p *VaultPlan) Write(ctx context.Context, store Store) (*Written, error) {
	w := &Written{}
	for _, st := range p.Steps {
		if st.Unchecked {
			return w, errors.New("the plan was made without Vault: set VAULT_ADDR and plan again")
		}
	}
	done := map[string]error{}
	for _, st := range p.Steps {
		if st.Conflict != "" {
			continue
		}
		id := st.Path + "#" + st.Key
		err, seen := done[id]
		if !seen {
			var state vault.KeyState
			state, err = store.PutKey(ctx, st.Path, st.Key, st.value)
			switch {
			case errors.Is(err, vault.ErrKeyConflict):
			case err != nil:
				return w, fmt.Errorf("storing %s: %w (nothing was rewritten; run again: stored keys are reused)", id, err)
			case state == vault.KeyEqual:
				w.Reused++
			default:
				w.Stored++
			}
			done[id] = err
		}
		if err != nil {
			st.Conflict = err.Error()
		}
	}

	edits := map[string][]edit{}
	for _, st := range p.Steps {
		if st.Conflict != "" {
			p.Skipped = append(p.Skipped, Skip{File: st.File, Line: st.Line, Reason: st.Conflict})
			continue
		}
		edits[st.File] = append(edits[st.File], edit{start: st.start, end: st.end, text: st.replacement(st.Ref, st.SecretName)})
	}
	var created []*Generated
	for _, g := range p.Generated {
		g.Keys = slices.DeleteFunc(g.Keys, func(k string) bool { return !p.stored(g.File, k) })
		if len(g.Keys) > 0 {
			created = append(created, g)
		}
	}
	// Files are read again: the edits are positions in what was planned,
	// and a file changed in between is refused, not corrupted.
	planned := map[string][]byte{}
	for _, g := range created {
		if g.Kustomization == "" {
			continue
		}
		data, err := p.readPlanned(g.Kustomization, planned)
		if err != nil {
			return w, err
		}
		e, err := addResourceEdit(newText(data), strings.TrimPrefix(g.File, dirPrefix(g.Kustomization)))
		if err != nil {
			return w, fmt.Errorf("adding %s to %s: %w; add it to resources by hand", g.File, g.Kustomization, err)
		}
		edits[g.Kustomization] = append(edits[g.Kustomization], e)
	}
	for _, file := range slices.Sorted(mapKeys(edits)) {
		data, err := p.readPlanned(file, planned)
		if err != nil {
			return w, err
		}
		out, ok := applyEdits(data, edits[file])
		if !ok {
			return w, fmt.Errorf("%s: overlapping rewrites (a bug: please report it); the file was left alone", file)
		}
		if err := writeAtomic(p.Root, file, out); err != nil {
			return w, err
		}
		w.Files = append(w.Files, file)
	}
	for _, g := range created {
		if err := writeAtomic(p.Root, g.File, []byte(g.manifest())); err != nil {
			return w, err
		}
		w.Files = append(w.Files, g.File)
		w.Created = append(w.Created, g.File)
	}
	slices.Sort(w.Files)
	return w, nil
}

// stored reports whether the env key of a generated Secret file was stored.
func (p *VaultPlan) stored(file, key string) bool {
	for _, st := range p.Steps {
		if st.SecretFile == file && st.Key == key && st.Conflict == "" {
			return true
		}
	}
	return false
}

func (p *VaultPlan) readPlanned(file string, cache map[string][]byte) ([]byte, error) {
	if b, ok := cache[file]; ok {
		return b, nil
	}
	b, err := readFile(p.Root, file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	cache[file] = b
	return b, nil
}

func dirPrefix(file string) string {
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		return file[:i+1]
	}
	return ""
}

// manifest is the generated Secret: stringData holding references, so the
// resolver fills it and the scanner passes it.
func (g *Generated) manifest() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by latchkey scan --fix vault: the secret env values of %s, as Vault references.\n", g.Workload)
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + g.Name + "\n")
	if g.Namespace != "" {
		b.WriteString("  namespace: " + g.Namespace + "\n")
	}
	b.WriteString("type: Opaque\nstringData:\n")
	for _, k := range g.Keys {
		fmt.Fprintf(&b, "  %s: %s\n", k, g.refs[k])
	}
	return b.String()
}

// writeAtomic replaces a root-relative file through a temporary file in the
// same directory, keeping the file's mode. The content written is the
// reference-only rewrite, never a value the original did not hold.
func writeAtomic(root, rel string, data []byte) error {
	p, err := inside(root, rel)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Lstat(p); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file; left alone", rel)
		}
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".latchkey-*")
	if err != nil {
		return fmt.Errorf("rewriting %s: %w", rel, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("rewriting %s: %w", rel, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("rewriting %s: %w", rel, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("rewriting %s: %w", rel, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("rewriting %s: %w", rel, err)
	}
	return nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
