package resolver

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// Mask returns copies of the rendered objects objs, safe to print and to
// diff: every string holding references shows them as written, each
// followed by what provenance recorded for it ("[v3 hmac:1a2b…]": the
// secret version read and the keyed HMAC of the value), instead of the
// value; every literal value of a Secret's data and stringData is replaced
// by its keyed HMAC. prov is Result.Provenance of a Resolve of the same
// objs, or nil when they were not resolved (references then show
// "[not resolved]"). The objects are never modified.
//
// With the same HMAC key, equal masks mean equal values: two revisions
// masked by one Resolver show which secret fields they change.
func (r *Resolver) Mask(objs []*unstructured.Unstructured, prov []Provenance) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, in := range objs {
		var discard failures // malformed references stay as written
		p := r.plan(i, in.DeepCopy(), "", &discard)
		var recs []RefProvenance
		if i < len(prov) {
			recs = prov[i].Refs
		}
		masked := map[string]bool{}
		if !p.sealed {
			for _, s := range p.sites {
				s.set(r.maskSite(p, s, recs, prov != nil))
				masked[s.field] = true
			}
		}
		if p.obj.GetKind() == "Secret" && p.obj.GetAPIVersion() == "v1" {
			r.maskLiterals(p.obj, "data", true, masked)
			r.maskLiterals(p.obj, "stringData", false, masked)
		}
		out[i] = p.obj
	}
	return out
}

func (r *Resolver) maskSite(p *objectPlan, s *site, recs []RefProvenance, resolved bool) string {
	var b strings.Builder
	last := 0
	for _, ref := range s.refs {
		b.WriteString(s.text[last:ref.Start])
		// The reference as written (it holds no value); a generic <key>
		// also names the path its annotation gives.
		b.WriteString(s.text[ref.Start:ref.End])
		b.WriteString(" [")
		if ref.Kind == reference.AVPGeneric {
			b.WriteString(p.genericPath + "#" + ref.Key + " ")
		}
		b.WriteString(annotation(recs, refText(p, ref), s.field, resolved))
		b.WriteString("]")
		last = ref.End
	}
	b.WriteString(s.text[last:])
	return b.String()
}

func annotation(recs []RefProvenance, ref, field string, resolved bool) string {
	if !resolved {
		return "not resolved"
	}
	for _, rp := range recs {
		if rp.Reference != ref || !slices.Contains(rp.Fields, field) {
			continue
		}
		var parts []string
		if rp.Version > 0 {
			parts = append(parts, fmt.Sprintf("v%d", rp.Version))
		}
		if rp.HMAC != "" {
			parts = append(parts, "hmac:"+shortHMAC(rp.HMAC))
		}
		if len(parts) == 0 {
			return "resolved"
		}
		return strings.Join(parts, " ")
	}
	// remove-missing dropped it, or its object failed.
	return "no value"
}

// maskLiterals replaces the values of a Secret's data (base64) or
// stringData map that hold no reference with their keyed HMAC.
func (r *Resolver) maskLiterals(obj *unstructured.Unstructured, field string, encoded bool, masked map[string]bool) {
	m, ok := obj.Object[field].(map[string]any)
	if !ok {
		return
	}
	for k, v := range m {
		if masked[fieldPath(field, k)] {
			continue
		}
		s, _ := v.(string)
		value := []byte(s)
		if encoded {
			if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
				value = dec
			}
		}
		switch mac := r.mac(value); {
		case s == "":
			// An empty value says nothing.
		case mac == "":
			m[k] = "[literal value]"
		default:
			m[k] = "[literal value hmac:" + shortHMAC(mac) + "]"
		}
	}
}

// shortHMAC keeps the first 16 hex digits (64 bits): enough to tell values
// apart in a diff, and what a reader compares by eye.
func shortHMAC(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
