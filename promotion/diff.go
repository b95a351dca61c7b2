package promotion

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Diff writes the changes from one rendered set of objects to another,
// object by object in a stable order (kind, namespace, name): objects
// added, removed, and a unified diff of each changed one. It prints what
// it is given: callers pass objects masked by resolver.Mask, so no value
// is printed. It returns how many objects differ.
func Diff(w io.Writer, fromName, toName string, from, to []*unstructured.Unstructured) (int, error) {
	a, err := byIdentity(from)
	if err != nil {
		return 0, err
	}
	b, err := byIdentity(to)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(a)+len(b))
	for id := range a {
		ids = append(ids, id)
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	changed := 0
	for _, id := range ids {
		x, inA := a[id]
		y, inB := b[id]
		if inA && inB && x == y {
			continue
		}
		changed++
		ud := difflib.UnifiedDiff{A: difflib.SplitLines(x), B: difflib.SplitLines(y), Context: 3,
			FromFile: fromName + " " + id, ToFile: toName + " " + id}
		switch {
		case !inA:
			ud.FromFile = "/dev/null"
			fmt.Fprintf(w, "+ %s (added)\n", id)
		case !inB:
			ud.ToFile = "/dev/null"
			fmt.Fprintf(w, "- %s (removed)\n", id)
		default:
			fmt.Fprintf(w, "~ %s\n", id)
		}
		if err := difflib.WriteUnifiedDiff(w, ud); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// byIdentity encodes each object as YAML, keyed by "Kind namespace/name"
// (with the API group when there is one).
func byIdentity(objs []*unstructured.Unstructured) (map[string]string, error) {
	out := make(map[string]string, len(objs))
	for _, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("encoding %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		out[identity(o)] = string(y)
	}
	return out, nil
}

func identity(o *unstructured.Unstructured) string {
	kind := o.GetKind()
	if g := o.GroupVersionKind().Group; g != "" {
		kind += "." + g
	}
	name := o.GetName()
	if ns := o.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return strings.TrimSpace(kind + " " + name)
}
