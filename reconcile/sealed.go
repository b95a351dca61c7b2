package reconcile

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/sealing"
)

// keysMaxAge is how long loaded sealing keys are used before they are
// listed again: the sealed-secrets controller adds a key every 30 days, and
// a SealedSecret sealed with a new key must not wait for a restart.
const keysMaxAge = time.Minute

// ClusterUnsealer returns an UnsealerFor that unseals with the private keys
// the sealed-secrets controller keeps in its namespace (Secrets labelled
// sealedsecrets.bitnami.com/sealed-secrets-key=active), read with cs.
func ClusterUnsealer(cs kubernetes.Interface) UnsealerFor {
	return func(_ context.Context, namespace string) (resolver.Unsealer, error) {
		return &clusterUnsealer{cs: cs, namespace: namespace}, nil
	}
}

type clusterUnsealer struct {
	cs        kubernetes.Interface
	namespace string

	mu       sync.Mutex
	unsealer *sealing.Unsealer
	loaded   time.Time
}

func (u *clusterUnsealer) Unseal(ctx context.Context, sealed *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	un, err := u.current(ctx)
	if err != nil {
		return nil, err
	}
	out, err := un.Unseal(ctx, sealed)
	if err != nil {
		return nil, err
	}
	// As upstream: the Secret is the SealedSecret's namespace and name, the
	// ones the ciphertext was checked against; never another.
	if out.GetNamespace() != sealed.GetNamespace() || out.GetName() != sealed.GetName() {
		return nil, fmt.Errorf("unsealing SealedSecret %s/%s gave Secret %s/%s: refusing a Secret elsewhere than the SealedSecret",
			sealed.GetNamespace(), sealed.GetName(), out.GetNamespace(), out.GetName())
	}
	return out, nil
}

// syncSecrets is the Secrets of one Sync: the Vault client and cache of
// the identity it logs in as (shared with the Syncs of that identity), and
// what only this Sync may do.
type syncSecrets struct {
	*vaultClient
	sync    *v1alpha1.Sync
	policy  *tenancy.Policy
	unseals bool
}

// Resolve refuses, before any unsealing, a SealedSecret that would unseal
// into a namespace the Sync may not write to: the controller holds every
// namespace's sealing keys, and must not decrypt team-b's secrets because
// team-a's repository holds a copy of their ciphertext.
func (s *syncSecrets) Resolve(ctx context.Context, objs []*unstructured.Unstructured, origin func(int) string) (*resolver.Result, error) {
	if s.unseals {
		var fails []resolver.Failure
		for i, o := range objs {
			if !resolver.IsSealedSecret(o) {
				continue
			}
			if err := s.policy.CheckObject(s.sync.Namespace, schema.GroupKind{Kind: "Secret"}, o.GetNamespace()); err != nil {
				at := ""
				if origin != nil {
					at = origin(i)
				}
				fails = append(fails, resolver.Failure{
					Object:  resolver.ObjectRef{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Origin: at},
					Problem: fmt.Sprintf("not unsealed: it is sealed for namespace %s, where Syncs of namespace %s may not write (%v)", o.GetNamespace(), s.sync.Namespace, err),
					Fix:     "seal the Secret for the Sync's namespace (kubeseal --namespace " + s.sync.Namespace + ")",
				})
			}
		}
		if len(fails) > 0 {
			return nil, &resolver.Error{Failures: fails}
		}
	}
	return s.vaultClient.Resolve(ctx, objs, origin)
}

func (u *clusterUnsealer) current(ctx context.Context) (*sealing.Unsealer, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.unsealer != nil && time.Since(u.loaded) < keysMaxAge {
		return u.unsealer, nil
	}
	keys, err := sealing.KeysFromCluster(ctx, u.cs.CoreV1().Secrets(u.namespace))
	if err != nil {
		if u.unsealer != nil {
			return u.unsealer, nil // keep unsealing with the keys we have
		}
		return nil, err
	}
	u.unsealer, u.loaded = sealing.NewUnsealer(keys), time.Now()
	return u.unsealer, nil
}
