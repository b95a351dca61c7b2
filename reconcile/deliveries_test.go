package reconcile_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// The delivery ledger the webhook receivers of all replicas share, on a
// real API server: of replicas claiming one delivery at once exactly one
// wins, a delivery is remembered for the window and no longer, and the
// ConfigMap keeps at most Max keys, the newest.
func TestDeliveryLedgerAcceptsEachDeliveryOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	t.Parallel()
	kube := testenv.StartKube(t)
	ns := kube.CreateNamespace(t, "latchkey-system")
	ctx := context.Background()
	ledger := func(max int) *reconcile.DeliveryLedger {
		// Each replica has its own clients; none caches ConfigMaps.
		c, err := client.New(kube.Config, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return &reconcile.DeliveryLedger{Client: c, Reader: c, Namespace: ns, Name: reconcile.DeliveryLedgerName(""), Max: max}
	}
	const window = 10 * time.Minute
	now := time.Now()

	t.Run("replicas claiming one delivery at once: exactly one wins", func(t *testing.T) {
		for round := range 3 {
			keys := []string{fmt.Sprintf("delivery\x00race-%d", round), fmt.Sprintf("signature\x00race-%d", round)}
			var wg sync.WaitGroup
			var mu sync.Mutex
			won, errs := 0, []error{}
			for range 6 {
				l := ledger(0)
				wg.Add(1)
				go func() {
					defer wg.Done()
					fresh, err := l.Claim(ctx, now, window, keys...)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
					}
					if fresh {
						won++
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 || won != 1 {
				t.Fatalf("round %d: %d claims won, errors %v; want exactly 1 and none", round, won, errs)
			}
		}
	})

	t.Run("a delivery sharing one key with an accepted one is refused", func(t *testing.T) {
		l := ledger(0)
		if fresh, err := l.Claim(ctx, now, window, "delivery\x00a", "signature\x00a"); err != nil || !fresh {
			t.Fatalf("first claim: %v %v", fresh, err)
		}
		if fresh, err := l.Claim(ctx, now, window, "delivery\x00b", "signature\x00a"); err != nil || fresh {
			t.Fatalf("the same payload under a new delivery ID: fresh=%v %v, want refused", fresh, err)
		}
		if fresh, err := l.Claim(ctx, now, window, "delivery\x00b", "signature\x00b"); err != nil || !fresh {
			t.Fatalf("the refused claim recorded its keys: fresh=%v %v", fresh, err)
		}
		if fresh, err := l.Claim(ctx, now.Add(window), window, "delivery\x00a", "signature\x00a"); err != nil || !fresh {
			t.Fatalf("a delivery older than the window is still refused: fresh=%v %v", fresh, err)
		}
	})

	t.Run("the ledger keeps at most Max keys, the newest", func(t *testing.T) {
		l := ledger(4)
		l.Name = "bounded"
		for i := range 5 {
			if fresh, err := l.Claim(ctx, now.Add(time.Duration(i)*time.Second), window, fmt.Sprintf("d%d", i), fmt.Sprintf("s%d", i)); err != nil || !fresh {
				t.Fatalf("claim %d: %v %v", i, fresh, err)
			}
		}
		var cm corev1.ConfigMap
		if err := kube.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bounded"}, &cm); err != nil {
			t.Fatal(err)
		}
		if len(cm.Data) != 4 {
			t.Errorf("the ledger holds %d keys, want 4", len(cm.Data))
		}
		later := now.Add(5 * time.Second)
		if fresh, _ := l.Claim(ctx, later, window, "d4"); fresh {
			t.Errorf("the newest delivery was forgotten")
		}
		if fresh, _ := l.Claim(ctx, later, window, "d0"); !fresh {
			t.Errorf("the oldest delivery is still remembered past the bound")
		}
	})
}
