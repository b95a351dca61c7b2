package reconcile

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// minRedacted is the shortest value redacted from messages: shorter ones
// ("1", "on") would garble every message while revealing little.
const minRedacted = 4

// redactor removes the secret values of one resolved set from text that is
// about to leave the process (status, events, logs): an API server
// validation error may quote the value of the field it rejects.
type redactor struct {
	values []string // longest first, so a value that contains another is replaced whole
}

// newRedactor collects every value resolution put into resolved: each
// string leaf that differs from the rendered original, plus the whole data
// of Secrets whose values came from elsewhere (an unsealed SealedSecret),
// both as written and base64-decoded.
func newRedactor(rendered, resolved []*unstructured.Unstructured) *redactor {
	set := map[string]bool{}
	add := func(s string) {
		if len(s) >= minRedacted {
			set[s] = true
		}
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) >= minRedacted {
			set[string(b)] = true
		}
	}
	for i := range resolved {
		var before map[string]any
		if i < len(rendered) && rendered[i] != nil {
			before = rendered[i].Object
		}
		if resolved[i] == nil {
			continue
		}
		if before != nil && rendered[i].GetKind() != resolved[i].GetKind() {
			before = nil // a SealedSecret became a Secret: all of it is secret
		}
		collect(before, resolved[i].Object, add)
	}
	r := &redactor{}
	for v := range set {
		r.values = append(r.values, v)
	}
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
	return r
}

func collect(before, after any, add func(string)) {
	switch a := after.(type) {
	case map[string]any:
		b, _ := before.(map[string]any)
		for k, v := range a {
			var bv any
			if b != nil {
				bv = b[k]
			}
			collect(bv, v, add)
		}
	case []any:
		b, _ := before.([]any)
		for i, v := range a {
			var bv any
			if i < len(b) {
				bv = b[i]
			}
			collect(bv, v, add)
		}
	default:
		if before == nil || fmt.Sprint(before) != fmt.Sprint(after) {
			add(fmt.Sprint(after))
		}
	}
}

// merge returns a redactor of the values of both.
func (r *redactor) merge(o *redactor) *redactor {
	set := map[string]bool{}
	for _, v := range append(append([]string(nil), r.values...), o.values...) {
		set[v] = true
	}
	m := &redactor{}
	for v := range set {
		m.values = append(m.values, v)
	}
	sort.Slice(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
	return m
}

// String redacts s.
func (r *redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	return s
}

// Error returns err with every value redacted from its message; the
// original error is dropped when anything was redacted, so no caller can
// unwrap its way back to the value.
func (r *redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := err.Error()
	if red := r.String(msg); red != msg {
		return errors.New(red)
	}
	return err
}
