// Package inventory records which objects a Sync owns, the only objects it
// may ever prune.
package inventory

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// ID is an object's inventory identifier, namespace_name_group_kind, the
// format Flux's kustomize-controller writes (cluster-scoped objects have an
// empty namespace).
func ID(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	return strings.Join([]string{obj.GetNamespace(), obj.GetName(), gvk.Group, gvk.Kind}, "_")
}

// Of lists objs as sorted, duplicate-free inventory entries.
func Of(objs []*unstructured.Unstructured) []v1alpha1.InventoryEntry {
	seen := map[string]bool{}
	out := make([]v1alpha1.InventoryEntry, 0, len(objs))
	for _, o := range objs {
		id := ID(o)
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, v1alpha1.InventoryEntry{ID: id, Version: o.GroupVersionKind().Version})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Object returns a stub of the object an entry names: apiVersion, kind,
// namespace and name, enough to get or delete it.
func Object(e v1alpha1.InventoryEntry) (*unstructured.Unstructured, error) {
	parts := strings.Split(e.ID, "_")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return nil, fmt.Errorf("malformed inventory entry %q: want namespace_name_group_kind", e.ID)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: parts[2], Version: e.Version, Kind: parts[3]})
	u.SetNamespace(parts[0])
	u.SetName(parts[1])
	return u, nil
}

// Stale returns the objects of previous that are not in current: what a
// prune deletes. Entries that differ only in API version are the same
// object and are never stale.
func Stale(previous, current []v1alpha1.InventoryEntry) ([]*unstructured.Unstructured, error) {
	keep := map[string]bool{}
	for _, e := range current {
		keep[e.ID] = true
	}
	var out []*unstructured.Unstructured
	for _, e := range previous {
		if keep[e.ID] {
			continue
		}
		o, err := Object(e)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Describe names an object in messages, events and status: "Kind ns/name".
func Describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return obj.GetKind() + " " + ns + "/" + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetName()
}
