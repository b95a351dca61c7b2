package reconcile

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

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
	return un.Unseal(ctx, sealed)
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
