package reconcile

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// contender is one controller under test: how it starts, what it is asked to
// reconcile in each of its namespaces, and how many of those are Ready.
type contender struct {
	name string
	// prefix names its namespaces (prefix-0000, ...), so contenders never
	// share an object.
	prefix string
	// users are the Kubernetes users its processes authenticate as.
	users []string
	start func(b *testing.B) []*process
	// create asks for the bench application in namespace ns.
	create func(ctx context.Context, c client.Client, ns string) error
	// ready counts the contender's Ready objects.
	ready func(ctx context.Context, c client.Client) (int, error)
	// drift: manual edits are reverted at once (Flux reverts them at its next
	// interval, so the revert latency is not measured for it).
	drift bool
	// vault: the application's Secret is resolved from Vault (Flux applies the
	// placeholder as it is: same objects, less work).
	vault bool
	// cleanup removes what the contender's finalizers would otherwise keep.
	finalized []client.ObjectList
}

func (c contender) namespace(i int) string { return fmt.Sprintf("%s-%04d", c.prefix, i) }

func (c contender) namespaces(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = c.namespace(i)
	}
	return out
}

// stack is what every contender runs against, started once per run.
type stack struct {
	kube     *testenv.Kube
	vault    *testenv.Vault
	repoURL  string
	latchkey string // binary
}

// latchkeyContender runs `latchkey controller`. With tenancy, every Sync acts
// as the ServiceAccount tenantServiceAccount of its namespace (the controller
// impersonates it), and the Vault Secret is resolved with the controller's
// own Vault token, which tenancy allows only in the namespaces listed in
// --vault-default-namespaces: the bench lists its own.
func latchkeyContender(s *stack, tenancy bool) contender {
	if tenancy {
		return latchkeyAs(s, true, "latchkey --tenancy", "lkt", "latchkey-tenancy")
	}
	return latchkeyAs(s, false, "latchkey", "lk", "latchkey")
}

// warmUp is a few Syncs reconciled before any measurement, so that the first
// contender does not alone pay for a cold API server, etcd, Git server and
// Vault. Its user is not audited.
func warmUp(s *stack) contender {
	c := latchkeyAs(s, false, "warm-up", "warm", "latchkey-warm-up")
	c.drift = false
	return c
}

func latchkeyAs(s *stack, tenancy bool, name, prefix, user string) contender {
	c := contender{name: name, prefix: prefix, users: []string{controllerUser(user)}, drift: true, vault: true,
		finalized: []client.ObjectList{&v1alpha1.SyncList{}}}
	c.start = func(b *testing.B) []*process {
		args := []string{"controller", "--kubeconfig", controllerKubeconfig(b, s.kube, user),
			"--namespace", "latchkey-system", "--metrics-addr", testenv.FreeLoopbackAddr(b), "--health-addr", "0",
			"--webhook-addr", "", "--concurrency", strconv.Itoa(*concurrency), "--log-level", "error",
			"--kube-api-qps", strconv.Itoa(*kubeQPS), "--kube-api-burst", strconv.Itoa(*kubeBurst)}
		if tenancy {
			args = append(args, "--tenancy", "--default-service-account", tenantServiceAccount,
				"--vault-default-namespaces", strings.Join(c.namespaces(*syncs), ","))
		}
		env := []string{"VAULT_ADDR=" + s.vault.Addr, "VAULT_TOKEN=" + s.vault.RootToken}
		return []*process{startProcess(b, user, s.latchkey, args, env)}
	}
	c.create = func(ctx context.Context, cl client.Client, ns string) error {
		return cl.Create(ctx, &v1alpha1.Sync{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
			Spec: v1alpha1.SyncSpec{
				Source: v1alpha1.GitSource{URL: s.repoURL, Path: "app", Interval: metav1.Duration{Duration: interval}},
			},
		})
	}
	c.ready = func(ctx context.Context, cl client.Client) (int, error) {
		var list v1alpha1.SyncList
		if err := cl.List(ctx, &list); err != nil {
			return 0, err
		}
		ready := 0
		for _, s := range list.Items {
			if strings.HasPrefix(s.Namespace, prefix+"-") && apimeta.IsStatusConditionTrue(s.Status.Conditions, v1alpha1.ConditionReady) {
				ready++
			}
		}
		return ready, nil
	}
	return c
}

// interval is every contender's fetch and reconcile interval: long enough
// that no periodic work lands inside a measurement.
const interval = 10 * time.Minute
