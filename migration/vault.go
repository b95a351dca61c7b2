package migration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/latchkey-dev/latchkey/resolver/reference"
	"github.com/latchkey-dev/latchkey/resolver/vault"
)

// Store is the Vault side of a migration: per-key reads and check-and-set
// writes on KV v2 (resolver/vault.Backend implements it).
type Store interface {
	CheckKey(ctx context.Context, path, key, value string) (vault.KeyState, error)
	PutKey(ctx context.Context, path, key, value string) (vault.KeyState, error)
}

// DefaultVaultPath is the default --vault-path template.
const DefaultVaultPath = "secret/data/{namespace}/{name}"

// Step is one value moved to Vault.
type Step struct {
	*Site
	Path string // the Vault path, as written in the reference
	Ref  string // the reference that replaces the value
	// State is what Vault held at planning time; a KeyDifferent step is
	// never written (Conflict says why).
	State    vault.KeyState
	Conflict string
	// Unchecked: the plan was made without Vault (a dry run without
	// VAULT_ADDR): the key's state is unknown.
	Unchecked bool
	// SecretName and SecretFile are the generated Secret a WorkloadEnv
	// value moves to (its stringData holds the reference).
	SecretName, SecretFile string
}

// VaultPlan is what `--fix vault` will do.
type VaultPlan struct {
	Root    string
	Steps   []*Step
	Skipped []Skip
	// Generated are the Secrets created for workload env values.
	Generated []*Generated
}

// Generated is a Secret written next to a workload to hold its env values
// as references.
type Generated struct {
	File          string // root-relative
	Name          string
	Namespace     string // as the workload writes it ("" when it names none)
	Workload      Object
	Keys          []string
	refs          map[string]string
	Kustomization string // the kustomization the file is added to, if any
}

// PlanVault plans moving sites to Vault under the path template: it checks
// every key in Vault (read only) and refuses to overwrite a different value.
// A nil store plans without Vault: the keys' states are unknown, and such a
// plan is for reading only.
func PlanVault(ctx context.Context, root string, sites []*Site, skipped []Skip, tmpl string, store Store) (*VaultPlan, error) {
	p := &VaultPlan{Root: root, Skipped: skipped}
	type target struct {
		value string
		state vault.KeyState
		err   error
	}
	targets := map[string]*target{}
	generated := map[string]*Generated{}
	for _, s := range sites {
		vpath, err := expandPath(tmpl, s.Object, s.Key)
		if err != nil {
			return nil, err
		}
		ref, ok := buildRef(vpath, s.Key)
		if !ok {
			p.Skipped = append(p.Skipped, Skip{File: s.File, Line: s.Line, Reason: fmt.Sprintf("key %q cannot be written in a reference to %s: move it by hand", s.Key, vpath)})
			continue
		}
		st := &Step{Site: s, Path: vpath, Ref: ref}
		id := vpath + "#" + s.Key
		t, seen := targets[id]
		switch {
		case !seen:
			t = &target{value: s.value}
			if store == nil {
				st.Unchecked = true
			} else {
				t.state, t.err = store.CheckKey(ctx, vpath, s.Key, s.value)
			}
			if t.err != nil {
				return nil, fmt.Errorf("checking %s in Vault: %w", id, t.err)
			}
			targets[id] = t
		case t.value != s.value:
			st.State, st.Conflict = vault.KeyDifferent, "another finding moves a different value to the same Vault key: give one of them another --vault-path"
		}
		if st.Conflict == "" {
			st.State = t.state
			if t.state == vault.KeyDifferent {
				st.Conflict = "Vault already holds a different value under this key: never overwritten; choose another --vault-path or clear the key"
			}
		}
		if s.Form == WorkloadEnv && st.Conflict == "" {
			g, err := generatedFor(root, s, generated)
			if err != nil {
				st.Conflict = err.Error()
			} else {
				st.SecretName, st.SecretFile = g.Name, g.File
				if _, dup := g.refs[s.Key]; !dup {
					g.Keys = append(g.Keys, s.Key)
				}
				g.refs[s.Key] = ref
			}
		}
		p.Steps = append(p.Steps, st)
	}
	for _, st := range p.Steps {
		if st.SecretFile != "" && !containsGen(p.Generated, generated[st.SecretFile]) {
			p.Generated = append(p.Generated, generated[st.SecretFile])
		}
	}
	return p, nil
}

func containsGen(gs []*Generated, g *Generated) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// generatedFor is the Secret a workload's env values move to: one per
// workload, in a new file next to it.
func generatedFor(root string, s *Site, all map[string]*Generated) (*Generated, error) {
	name := s.Object.Name + "-env"
	file := path.Join(path.Dir(s.File), strings.ToLower(s.Object.Name)+"-env-secret.yaml")
	if g, ok := all[file]; ok {
		if g.Workload != s.Object {
			return nil, fmt.Errorf("two workloads would share the generated Secret file %s: move this value by hand", file)
		}
		return g, nil
	}
	if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(file))); err == nil {
		return nil, fmt.Errorf("%s already exists: move this value by hand, or remove that file", file)
	}
	g := &Generated{File: file, Name: name, Namespace: s.workloadNS, Workload: s.Object, refs: map[string]string{}}
	for _, k := range kustomizationNames {
		kf := path.Join(path.Dir(s.File), k)
		if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(kf))); err == nil {
			g.Kustomization = kf
			break
		}
	}
	all[file] = g
	return g, nil
}

// expandPath fills the --vault-path template.
func expandPath(tmpl string, o Object, key string) (string, error) {
	r := strings.NewReplacer("{namespace}", o.Namespace, "{name}", o.Name, "{kind}", strings.ToLower(o.Kind), "{key}", key)
	p := strings.Trim(r.Replace(tmpl), "/")
	if strings.ContainsAny(p, "{}") {
		return "", fmt.Errorf("--vault-path %q: unknown placeholder (use {namespace}, {name}, {kind}, {key})", tmpl)
	}
	if p == "" || strings.Contains(p, "//") {
		return "", errors.New("--vault-path expands to an empty path segment: every object needs a namespace and a name (set --namespace)")
	}
	return p, nil
}

// buildRef writes the reference and checks that the grammar the resolver
// and the scanner share reads it back as exactly that path and key.
func buildRef(vpath, key string) (string, bool) {
	ref := "<path:" + vpath + "#" + key + ">"
	if strings.ContainsAny(ref, " \t\r\n\"'\\") {
		return "", false
	}
	refs, err := reference.Parse(ref)
	if err != nil || len(refs) != 1 || refs[0].Path != vpath || refs[0].Key != key || !refs[0].Whole(ref) || len(refs[0].Modifiers) > 0 {
		return "", false
	}
	return ref, true
}
