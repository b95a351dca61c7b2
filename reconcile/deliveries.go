package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/reconcile/webhook"
)

// DeliveryLedgerMax bounds the keys the ledger keeps (two per delivery: its
// ID and its signature), so its ConfigMap stays far below the API server's
// object size limit (about 50 bytes a key: 200 KiB).
const DeliveryLedgerMax = 4096

// DeliveryLedger is the webhook receivers' shared record of accepted GitHub
// deliveries: one ConfigMap in the controller's namespace whose data maps a
// hash of each key to when it was accepted. Every replica of a shard serves
// the webhook; a claim is a read and an update conditioned on the
// ConfigMap's resourceVersion, so of two replicas claiming the same
// delivery at once exactly one succeeds: the other's update conflicts, it
// reads again, and finds the key.
//
// Client must not cache ConfigMaps (the controller's caches only Syncs and
// the managed objects' metadata; Reader is its API reader).
type DeliveryLedger struct {
	Client    client.Client
	Reader    client.Reader
	Namespace string
	Name      string
	// Max bounds the keys kept (default DeliveryLedgerMax); the oldest go
	// first, as the receiver's own memory does.
	Max int
}

var _ webhook.Ledger = (*DeliveryLedger)(nil)

// DeliveryLedgerName is the ConfigMap of a shard's ledger, beside its
// leader election Lease: <LeaderElectionID>-webhook-deliveries.
func DeliveryLedgerName(shard string) string {
	return LeaderElectionID(shard) + "-webhook-deliveries"
}

// Claim implements webhook.Ledger.
func (l *DeliveryLedger) Claim(ctx context.Context, now time.Time, window time.Duration, keys ...string) (bool, error) {
	hashed := make([]string, len(keys))
	for i, k := range keys {
		sum := sha256.Sum256([]byte(k))
		hashed[i] = hex.EncodeToString(sum[:16])
	}
	fresh := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cm corev1.ConfigMap
		err := l.Reader.Get(ctx, client.ObjectKey{Namespace: l.Namespace, Name: l.Name}, &cm)
		create := apierrors.IsNotFound(err)
		if err != nil && !create {
			return err
		}
		for _, k := range hashed {
			if at, ok := acceptedAt(cm.Data[k]); ok && now.Sub(at) < window {
				fresh = false
				return nil
			}
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		for _, k := range hashed {
			cm.Data[k] = strconv.FormatInt(now.Unix(), 10)
		}
		l.trim(cm.Data, now, window)
		fresh = true
		if create {
			cm.ObjectMeta = metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name}
			err := l.Client.Create(ctx, &cm)
			if apierrors.IsAlreadyExists(err) {
				// Another replica created it first: read it again.
				return apierrors.NewConflict(corev1.Resource("configmaps"), l.Name, err)
			}
			return err
		}
		return l.Client.Update(ctx, &cm)
	})
	if err != nil {
		err = fmt.Errorf("recording the webhook delivery in ConfigMap %s/%s (the controller's Role must let it create it, and get and update it by name): %w", l.Namespace, l.Name, err)
		// The receiver answers 503 without the cause; the operator reads it here.
		logger(ctx).Error(err, "a webhook delivery was refused")
		return false, err
	}
	return fresh, nil
}

// trim forgets the keys older than window, then the oldest over Max.
func (l *DeliveryLedger) trim(data map[string]string, now time.Time, window time.Duration) {
	max := l.Max
	if max <= 0 {
		max = DeliveryLedgerMax
	}
	type entry struct {
		key string
		at  time.Time
	}
	var kept []entry
	for k, v := range data {
		at, ok := acceptedAt(v)
		if !ok || now.Sub(at) >= window {
			delete(data, k)
			continue
		}
		kept = append(kept, entry{k, at})
	}
	if len(kept) <= max {
		return
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].at.Before(kept[j].at) })
	for _, e := range kept[:len(kept)-max] {
		delete(data, e.key)
	}
}

func acceptedAt(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}
