package resolver

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Helm values are resolved before templating (a Sync's
// spec.render.helm.resolveValues) as one object of their own, so the same
// grammar, backends, bounds, cache and provenance apply to them as to any
// rendered object; the chart then receives the values, and these functions
// find where the values went in what it rendered.

// ValuesKind is the kind of the object that carries Helm values through
// Resolve. It is never applied.
const ValuesKind = "HelmValues"

// ValuesField is the field of that object that holds the values: provenance
// names a value's place in them as "values.db.password".
const ValuesField = "values"

// ValuesObject wraps Helm values (not copied: Resolve copies its input) in
// an object Resolve accepts.
func ValuesObject(values map[string]any) *unstructured.Unstructured {
	if values == nil {
		values = map[string]any{}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "render.latchkey.dev/v1",
		"kind":       ValuesKind,
		"metadata":   map[string]any{"name": "values"},
		ValuesField:  values,
	}}
}

// ValuesOf returns the values an object made by ValuesObject carries.
func ValuesOf(obj *unstructured.Unstructured) map[string]any {
	m, _ := obj.Object[ValuesField].(map[string]any)
	return m
}

// Landed is a place in a rendered object where a value resolved into the
// Helm values was found.
type Landed struct {
	Index   int    // the object's position in the rendered set
	Field   string // the field, as provenance writes it
	Landing Landing
	Ref     RefProvenance // the reference whose value it is
}

// minTracked is the shortest value searched for inside longer strings; a
// shorter one ("on", "80") is only recognised as a whole field, as it is
// also a fragment of countless unrelated words and numbers.
const minTracked = 4

// FindValues lists where in objs the values of resolved (what Resolve made
// of ValuesObject(before)) appear: as they are, base64-encoded (b64enc), or
// inside the base64 of a Secret's data. A value a chart transforms otherwise
// (a hash, an htpasswd line) is not found, and need not be: it is no longer
// the value. prov is resolved's provenance.
func FindValues(before, resolved *unstructured.Unstructured, prov Provenance, objs []*unstructured.Unstructured) []Landed {
	byField := map[string]string{}
	changedLeaves(ValuesField, before.Object[ValuesField], resolved.Object[ValuesField], byField)
	type tracked struct {
		value, b64 string
		ref        RefProvenance
	}
	var values []tracked
	for _, ref := range prov.Refs {
		fields := ref.Fields
		if len(fields) == 0 {
			fields = []string{ref.Field}
		}
		for _, f := range fields {
			for k, v := range byField {
				// A reference may resolve to a map or list (a modifier
				// parsing JSON): its leaves are below its field.
				if v != "" && (k == f || strings.HasPrefix(k, f+".") || strings.HasPrefix(k, f+"[")) {
					values = append(values, tracked{value: v, b64: base64.StdEncoding.EncodeToString([]byte(v)), ref: ref})
				}
			}
		}
	}
	if len(values) == 0 {
		return nil
	}
	var out []Landed
	for i, o := range objs {
		secret := o.GetAPIVersion() == "v1" && o.GetKind() == "Secret"
		seen := map[string]bool{}
		leaves("", o.Object, func(field, s string) {
			decoded := ""
			if secret && (strings.HasPrefix(field, "data.") || strings.HasPrefix(field, `data["`)) {
				if b, err := base64.StdEncoding.DecodeString(s); err == nil {
					decoded = string(b)
				}
			}
			for _, v := range values {
				if !holds(s, v.value) && !holds(s, v.b64) && !holds(decoded, v.value) {
					continue
				}
				key := field + "\x00" + v.ref.Reference
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, Landed{Index: i, Field: field, Landing: LandingOf(o, field), Ref: v.ref})
			}
		})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out
}

func holds(s, v string) bool {
	if s == "" || v == "" {
		return false
	}
	if len(v) < minTracked {
		return s == v
	}
	return strings.Contains(s, v)
}

// ValueStrings lists the values resolution wrote into the Helm values:
// what a message about the render must not carry.
func ValueStrings(before, resolved *unstructured.Unstructured) []string {
	byField := map[string]string{}
	changedLeaves(ValuesField, before.Object[ValuesField], resolved.Object[ValuesField], byField)
	out := make([]string, 0, len(byField))
	for _, v := range byField {
		out = append(out, v)
	}
	return out
}

// changedLeaves records, by field path, every scalar of after that differs
// from before: the values resolution wrote.
func changedLeaves(field string, before, after any, out map[string]string) {
	Written(field, before, after, func(field, value string) { out[field] = value })
}

// Written calls f with every scalar of after (an object's content, as
// unstructured holds it) that differs from before, and its field path under
// field: the values resolution wrote, which the redactor must know and the
// status may name by path only.
func Written(field string, before, after any, f func(field, value string)) {
	switch a := after.(type) {
	case map[string]any:
		b, _ := before.(map[string]any)
		for k, v := range a {
			var bv any
			if b != nil {
				bv = b[k]
			}
			Written(fieldPath(field, k), bv, v, f)
		}
	case []any:
		b, _ := before.([]any)
		for i, v := range a {
			var bv any
			if i < len(b) {
				bv = b[i]
			}
			Written(fmt.Sprintf("%s[%d]", field, i), bv, v, f)
		}
	case nil:
	default:
		if before == nil || fmt.Sprint(before) != fmt.Sprint(after) {
			f(field, fmt.Sprint(after))
		}
	}
}

// leaves calls f with every string of v and its field path.
func leaves(field string, v any, f func(field, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			leaves(fieldPath(field, k), e, f)
		}
	case []any:
		for i, e := range x {
			leaves(fmt.Sprintf("%s[%d]", field, i), e, f)
		}
	case string:
		f(field, x)
	}
}
