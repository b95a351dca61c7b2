package reconcile

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/webhook"
)

// WebhookSecretKey is the key of a spec.source.webhookSecretRef Secret.
const WebhookSecretKey = "token"

var _ webhook.Syncs = (*Reconciler)(nil)

// WebhookTargets lists the Syncs this controller reconciles that name a
// webhook secret of their own, with its value. The Secrets are read
// uncached, as every Secret the controller reads; a Sync whose Secret is
// missing or has no token is left out (its hooks are refused) and logged.
func (r *Reconciler) WebhookTargets(ctx context.Context) ([]webhook.Target, error) {
	var list v1alpha1.SyncList
	if err := r.client.List(ctx, &list); err != nil {
		return nil, err
	}
	var out []webhook.Target
	for i := range list.Items {
		s := &list.Items[i]
		ref := s.Spec.Source.WebhookSecretRef
		if ref == nil {
			continue
		}
		var sec corev1.Secret
		err := r.reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ref.Name}, &sec)
		switch {
		case apierrors.IsNotFound(err):
			logger(ctx).Info("a Sync's webhook secret does not exist: its hooks are refused", "sync", s.Namespace+"/"+s.Name, "secret", ref.Name)
			continue
		case err != nil:
			return nil, fmt.Errorf("reading the webhook Secret %s/%s of Sync %s: %w", s.Namespace, ref.Name, s.Name, err)
		}
		token := sec.Data[WebhookSecretKey]
		if len(token) == 0 {
			logger(ctx).Info("a Sync's webhook secret has no "+WebhookSecretKey+" key: its hooks are refused", "sync", s.Namespace+"/"+s.Name, "secret", ref.Name)
			continue
		}
		out = append(out, webhook.Target{Namespace: s.Namespace, Name: s.Name, URL: s.Spec.Source.URL, Secret: token})
	}
	return out, nil
}

// TriggerSyncs makes these Syncs check their repository at once.
func (r *Reconciler) TriggerSyncs(ctx context.Context, targets []webhook.Target) (int, error) {
	n := 0
	for _, t := range targets {
		var s v1alpha1.Sync
		if err := r.client.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: t.Name}, &s); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return n, err
		}
		ok, err := r.requestReconcile(ctx, &s)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// SameRepository reports whether two URLs name the same repository.
func (r *Reconciler) SameRepository(a, b string) bool { return sameRepository(a, b) }
