package reconcile

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/resolver"
)

// placementListed bounds how many values an error or event lists by name.
const placementListed = 10

// checkPlacement refuses a resolved set in which a value lands in an
// object's metadata (it would be copied into the inventory, the status
// history, events and logs, where nothing is redacted) or outside a Secret's
// data unless the Sync allows that; when it allows it, a Warning event lists
// where the values went. rendered is what was given to Resolve: it names the
// objects by their references, never by a value.
func (r *Reconciler) checkPlacement(s *v1alpha1.Sync, rendered []*unstructured.Unstructured, res *resolver.Result, origin func(int) string) error {
	var refused, allowed []resolver.Misplaced
	for _, m := range resolver.MisplacedValues(rendered, res, origin) {
		switch {
		case m.Landing == resolver.InMetadata:
			refused = append(refused, m)
		case s.Spec.Render.AllowValuesOutsideSecrets:
			allowed = append(allowed, m)
		default:
			refused = append(refused, m)
		}
	}
	if len(refused) > 0 {
		return failed(v1alpha1.ReasonValueMisplaced, placementError(refused))
	}
	if len(allowed) > 0 {
		r.events.Eventf(s, nil, corev1.EventTypeWarning, v1alpha1.ReasonValuesOutsideSecrets, "Resolve",
			"spec.render.allowValuesOutsideSecrets is set: %d secret value(s) are readable by whoever may read these objects, not only Secrets: %s",
			len(allowed), listMisplaced(allowed))
	}
	return nil
}

func placementError(ms []resolver.Misplaced) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d secret value(s) would land where they may not; nothing of this revision is applied:", len(ms))
	for i, m := range ms {
		if i == placementListed {
			fmt.Fprintf(&b, "\n  - ... and %d more", len(ms)-i)
			break
		}
		b.WriteString("\n  - ")
		b.WriteString(m.String())
		b.WriteString(" (fix: ")
		if m.Landing == resolver.InMetadata {
			b.WriteString("a name, label or annotation is copied into status, events and logs: write it in Git, and keep values in a Secret's data")
		} else {
			b.WriteString("move the value into a Secret's data and consume the Secret (env valueFrom.secretKeyRef, a volume), or set spec.render.allowValuesOutsideSecrets: true to accept it")
		}
		b.WriteByte(')')
	}
	return errors.New(b.String())
}

func listMisplaced(ms []resolver.Misplaced) string {
	parts := make([]string, 0, min(len(ms), placementListed)+1)
	for i, m := range ms {
		if i == placementListed {
			parts = append(parts, fmt.Sprintf("... and %d more", len(ms)-i))
			break
		}
		parts = append(parts, m.Object.String()+" field "+m.Field)
	}
	return strings.Join(parts, ", ")
}
