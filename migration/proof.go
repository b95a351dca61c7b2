package migration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/resolver"
)

// Renderer renders and resolves a tree the way `latchkey render` does, to
// prove a migration changed no value the cluster would receive.
type Renderer struct {
	Backend resolver.Backend
	Options resolver.Options
	// Namespace is the Helm release namespace.
	Namespace string
	// Values are the plaintext values being moved: render errors are
	// repository content's own words, and could quote one; they are
	// redacted from the reasons a Digest records.
	Values []string
}

// Digest is what a tree renders to, reduced to keyed HMACs: every Secret
// value and every container's effective env value, by object and key. It
// never holds a value.
type Digest struct {
	// Values maps "unit: Kind ns/name: field" to an HMAC.
	Values map[string]string
	// Sealed are the Secrets that stayed SealedSecrets (no key to unseal
	// them), by "unit: Secret ns/name".
	Sealed map[string]bool
	// Failed are the units that did not render, with the reason.
	Failed map[string]string
}

// Digest renders every unit under root (each kustomization and chart
// directory, and every other YAML file) and digests it with key. Remote
// kustomize bases are refused, as the controller does by default: the tree
// is repository content, and the proof must not fetch what it names.
func (r *Renderer) Digest(ctx context.Context, root string, key []byte) (*Digest, error) {
	units, err := renderUnits(root)
	if err != nil {
		return nil, err
	}
	d := &Digest{Values: map[string]string{}, Sealed: map[string]bool{}, Failed: map[string]string{}}
	mac := func(s string) string {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return hex.EncodeToString(h.Sum(nil))
	}
	var plain []*unstructured.Unstructured
	var plainUnits []string
	for _, u := range units {
		res, err := render.Dir(ctx, filepath.Join(root, filepath.FromSlash(u.path)), render.Options{Mode: u.mode, NoRemoteBases: true, Helm: render.HelmOptions{Namespace: r.Namespace, ReleaseName: "release-name"}})
		if err != nil {
			d.Failed[u.path] = r.redact(err.Error())
			continue
		}
		if len(res.Objects) == 0 {
			continue
		}
		out, err := resolver.New(r.Backend, r.Options).Resolve(ctx, res.Objects, res.Origin)
		if err != nil {
			d.Failed[u.path] = r.redact(err.Error())
			continue
		}
		if u.mode != render.Plain {
			digestObjects(d, labels(u.path, len(out.Objects)), u.mode == render.Kustomize, out.Objects, mac)
			continue
		}
		plain = append(plain, out.Objects...)
		plainUnits = append(plainUnits, labels(u.path, len(out.Objects))...)
	}
	// Plain files are applied together: a workload's secretKeyRef may name a
	// Secret of another file (the generated one, say).
	digestObjects(d, plainUnits, false, plain, mac)
	return d, nil
}

// redact removes every value being moved from s, as written, quoted and
// base64-encoded.
func (r *Renderer) redact(s string) string {
	for _, v := range r.Values {
		if len(v) < 4 {
			continue
		}
		q := strconv.Quote(v)
		for _, form := range []string{v, q[1 : len(q)-1], base64.StdEncoding.EncodeToString([]byte(v))} {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return s
}

type unit struct {
	path string
	mode render.Mode
}

// renderUnits lists what is rendered on its own: directories with a
// kustomization or a Chart.yaml (their subtrees belong to them), and every
// other YAML or JSON file.
func renderUnits(root string) ([]unit, error) {
	var units []unit
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			for _, k := range kustomizationNames {
				if fileExists(filepath.Join(p, k)) {
					units = append(units, unit{rel, render.Kustomize})
					return filepath.SkipDir
				}
			}
			if fileExists(filepath.Join(p, "Chart.yaml")) {
				units = append(units, unit{rel, render.Helm})
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && isYAML(p) && !strings.HasPrefix(d.Name(), ".") {
			units = append(units, unit{rel, render.Plain})
		}
		return nil
	})
	return units, err
}

func fileExists(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}

// kustomizeHash is the content-hash suffix kustomize gives generated names,
// which changes with the content (a reference instead of a value).
var kustomizeHash = regexp.MustCompile(`-[a-z0-9]{10}$`)

func labels(unit string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = unit
	}
	return out
}

// digestObjects digests one set of objects applied together; units[i] is
// where objs[i] comes from.
func digestObjects(d *Digest, units []string, kustomized bool, objs []*unstructured.Unstructured, mac func(string) string) {
	type nsName struct{ kind, ns, name string }
	index := map[nsName]*unstructured.Unstructured{}
	for _, o := range objs {
		index[nsName{o.GetKind(), o.GetNamespace(), o.GetName()}] = o
	}
	unitOf := map[*unstructured.Unstructured]string{}
	for i, o := range objs {
		unitOf[o] = units[i]
	}
	idAs := func(o *unstructured.Unstructured, kind string) string {
		unit := unitOf[o]
		name := o.GetName()
		if kustomized && (kind == "Secret" || kind == "ConfigMap") {
			name = kustomizeHash.ReplaceAllString(name, "")
		}
		ns := o.GetNamespace()
		if ns != "" {
			ns += "/"
		}
		return unit + ": " + kind + " " + ns + name
	}
	id := func(o *unstructured.Unstructured) string { return idAs(o, o.GetKind()) }
	for _, o := range objs {
		switch {
		case o.GetKind() == "Secret" && o.GetAPIVersion() == "v1":
			for k, v := range secretValues(o) {
				d.Values[id(o)+": "+k] = mac(v)
			}
		case o.GetKind() == "SealedSecret":
			d.Sealed[idAs(o, "Secret")] = true
		}
		forEachEnv(o.Object, func(container string, env map[string]any) {
			name, _ := env["name"].(string)
			field := id(o) + ": container " + container + ": env " + name
			if v, ok := env["value"].(string); ok {
				d.Values[field] = mac(v)
				return
			}
			vf, _ := env["valueFrom"].(map[string]any)
			if ref, ok := vf["secretKeyRef"].(map[string]any); ok {
				sname, _ := ref["name"].(string)
				key, _ := ref["key"].(string)
				if s, ok := index[nsName{"Secret", o.GetNamespace(), sname}]; ok {
					if v, ok := secretValues(s)[key]; ok {
						d.Values[field] = mac(v)
						return
					}
				}
				if _, ok := index[nsName{"SealedSecret", o.GetNamespace(), sname}]; ok {
					d.Sealed[field] = true
					return
				}
			}
			b, _ := json.Marshal(vf)
			d.Values[field] = mac("valueFrom " + string(b))
		})
	}
}

// secretValues are a Secret's values as the API server stores them:
// data decoded, stringData written over it.
func secretValues(o *unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	data, _, _ := unstructured.NestedMap(o.Object, "data")
	for k, v := range data {
		s, _ := v.(string)
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			out[k] = string(b)
		} else {
			out[k] = "\x00undecodable " + s
		}
	}
	sd, _, _ := unstructured.NestedMap(o.Object, "stringData")
	for k, v := range sd {
		s, _ := v.(string)
		out[k] = s
	}
	return out
}

// forEachEnv calls fn for every env entry of every container list in obj
// (pods, pod templates of any workload kind, job templates).
func forEachEnv(obj map[string]any, fn func(container string, env map[string]any)) {
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 32 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "containers" || k == "initContainers" {
					if list, ok := c.([]any); ok {
						for _, item := range list {
							ct, _ := item.(map[string]any)
							name, _ := ct["name"].(string)
							envs, _ := ct["env"].([]any)
							for _, e := range envs {
								if em, ok := e.(map[string]any); ok {
									fn(name, em)
								}
							}
						}
						continue
					}
				}
				walk(c, depth+1)
			}
		case []any:
			for _, c := range x {
				walk(c, depth+1)
			}
		}
	}
	walk(obj, 0)
}

// Comparison is the outcome of comparing two digests.
type Comparison struct {
	// Differ lists what renders differently: "<object>: <field> differs"
	// or "is missing". Empty means every value is equal.
	Differ []string
	// Unproven lists values that could not be compared: Secrets that became
	// SealedSecrets with no key to unseal them, units that did not render
	// before the migration either.
	Unproven []string
	// Compared counts the values found equal.
	Compared int
}

// Compare checks that after renders every value before did, equal by HMAC.
// New values are fine (generated Secrets hold the env values they serve).
func Compare(before, after *Digest) Comparison {
	var c Comparison
	for _, k := range slices.Sorted(mapKeys(before.Values)) {
		v2, ok := after.Values[k]
		switch {
		case ok && hmac.Equal([]byte(v2), []byte(before.Values[k])):
			c.Compared++
		case ok:
			c.Differ = append(c.Differ, k+": the value differs")
		case after.Sealed[k] || after.Sealed[objectOf(k)]:
			c.Unproven = append(c.Unproven, k+": sealed (give --unseal-key to compare)")
		case after.Failed[unitOf(k)] != "":
			c.Differ = append(c.Differ, k+": the fixed tree does not render: "+after.Failed[unitOf(k)])
		default:
			c.Differ = append(c.Differ, k+": missing from the fixed render")
		}
	}
	for _, u := range slices.Sorted(mapKeys(before.Failed)) {
		c.Unproven = append(c.Unproven, fmt.Sprintf("%s: did not render before the migration either: %s", u, before.Failed[u]))
	}
	return c
}

// objectOf cuts "unit: Secret ns/name: key" to "unit: Secret ns/name".
func objectOf(k string) string {
	if i := strings.LastIndex(k, ": "); i >= 0 {
		return k[:i]
	}
	return k
}

func unitOf(k string) string {
	u, _, _ := strings.Cut(k, ": ")
	return u
}
