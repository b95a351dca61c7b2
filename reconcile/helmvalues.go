package reconcile

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/inventory"
	"github.com/latchkey-dev/latchkey/reconcile/source"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/resolver"
)

// valuesOrigin names the chart's values in messages and the status.
const valuesOrigin = "Helm values (spec.render.helm.resolveValues)"

// resolvedValues is a chart's values with their references resolved, for
// spec.render.helm.resolveValues: in memory only, for one reconciliation.
type resolvedValues struct {
	before, after *unstructured.Unstructured
	prov          resolver.Provenance
	// redact hides the values in anything said about the render, which
	// now sees them: its errors, the worker's stderr, object names.
	redact *redactor
}

// resolveValues merges the values the chart at the Sync's path would be
// rendered with and resolves their references as the Sync's identity, with
// the same resolver, bounds and cache as a rendered object.
func resolveValues(ctx context.Context, s *v1alpha1.Sync, snap *source.Snapshot, opts render.HelmOptions, secrets Secrets) (*resolvedValues, error) {
	merged, err := render.HelmValuesFS(snap.FS(), s.Spec.Source.Path, opts)
	if err != nil {
		return nil, failed(v1alpha1.ReasonRenderFailed, fmt.Errorf("reading the chart's values to resolve them (spec.render.helm.resolveValues): %w", err))
	}
	before := resolver.ValuesObject(merged)
	res, err := secrets.Resolve(ctx, []*unstructured.Unstructured{before}, func(int) string { return valuesOrigin })
	if err != nil {
		return nil, failed(v1alpha1.ReasonResolveFailed, err)
	}
	after := res.Objects[0]
	return &resolvedValues{
		before: before, after: after, prov: res.Provenance[0],
		redact: newRedactor([]*unstructured.Unstructured{before}, []*unstructured.Unstructured{after}),
	}, nil
}

// place finds where the chart put the values, refuses the set when one is
// in metadata, or outside a Secret's data without
// spec.render.allowValuesOutsideSecrets, and records each landing in the
// objects' provenance (so the status lists it and workloads consuming it
// roll on rotation).
func (r *Reconciler) placeValues(s *v1alpha1.Sync, v *resolvedValues, res *resolver.Result, origin func(int) string) error {
	landed := resolver.FindValues(v.before, v.after, v.prov, res.Objects)
	var refused, allowed []string
	for _, l := range landed {
		where := fmt.Sprintf("%s (%s) field %s: the value of %s lands %s", inventory.Describe(res.Objects[l.Index]), origin(l.Index), l.Field, l.Ref.Reference, l.Landing)
		switch {
		case l.Landing == resolver.InSecret:
		case l.Landing == resolver.InMetadata:
			refused = append(refused, where+" (fix: keep values out of names, labels and annotations; hash them if a checksum is wanted)")
		case s.Spec.Render.AllowValuesOutsideSecrets:
			allowed = append(allowed, where)
		default:
			refused = append(refused, where+" (fix: move the value into a Secret's data, or set spec.render.allowValuesOutsideSecrets: true)")
		}
		ref := l.Ref
		ref.Field, ref.Fields = l.Field, []string{l.Field}
		res.Provenance[l.Index].Refs = append(res.Provenance[l.Index].Refs, ref)
	}
	if len(refused) > 0 {
		return failed(v1alpha1.ReasonValueMisplaced, v.redact.Error(errors.New(listed(fmt.Sprintf("%d resolved Helm value(s) would land where they may not; nothing of this revision is applied:", len(refused)), refused))))
	}
	if len(allowed) > 0 {
		r.events.Eventf(s, nil, corev1.EventTypeWarning, v1alpha1.ReasonValuesOutsideSecrets, "Resolve",
			"spec.render.allowValuesOutsideSecrets is set: %s", v.redact.String(listed(fmt.Sprintf("%d resolved Helm value(s) are readable by whoever may read these objects:", len(allowed)), allowed)))
	}
	return nil
}

func listed(head string, items []string) string {
	out := head
	for i, it := range items {
		if i == placementListed {
			out += fmt.Sprintf("\n  - ... and %d more", len(items)-i)
			break
		}
		out += "\n  - " + it
	}
	return out
}

// redactStep redacts the values from a failed step's message, keeping its
// reason.
func redactStep(err error, red *redactor) error {
	if err == nil || red == nil {
		return err
	}
	var se *stepError
	if errors.As(err, &se) {
		return &stepError{reason: se.reason, err: red.Error(se.err)}
	}
	return red.Error(err)
}
