package resolver

import (
	"context"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// unseal turns every SealedSecret plan into the plan of the Secret it seals,
// before anything is read from Vault: the references that Secret holds (in
// spec.template.data, which the sealed-secrets format keeps in clear, or
// inside an encrypted value) are then found, read and substituted like those
// of any Secret, with the same provenance, landing and all-or-nothing rules.
// Unsealing happens in memory only, so a reference sealed inside a value is
// resolved too: the sealed text is the author's, as a Secret's would be.
// The upstream controller resolves none of them (template data is a Go
// template to it, and a reference is plain text there).
func (r *Resolver) unseal(ctx context.Context, plans []*objectPlan, fs *failures) {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	results := make([]*unstructured.Unstructured, len(plans))
	errs := make([]error, len(plans))
	for i, p := range plans {
		if !p.sealed {
			continue
		}
		g.Go(func() error {
			obj, err := r.opts.Unsealer.Unseal(gctx, p.obj)
			mu.Lock()
			results[i], errs[i] = obj, err
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()

	for i, p := range plans {
		if !p.sealed {
			continue
		}
		if errs[i] != nil {
			p.unsealErr = errs[i]
			continue
		}
		encrypted, _, _ := unstructured.NestedStringMap(p.obj.Object, "spec", "encryptedData")
		// The unsealed Secret is planned as a Secret (its annotations come
		// from spec.template.metadata), but failures keep naming the
		// SealedSecret the author wrote.
		q := r.planAs(p.index, results[i], p.ref, fs)
		q.sealed = true
		for k := range encrypted {
			q.encrypted = append(q.encrypted, k)
		}
		sort.Strings(q.encrypted)
		*p = *q
	}
}
