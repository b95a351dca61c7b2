package reconcile

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// identity is who a Sync's requests for its rendered objects act as: its
// ServiceAccount (impersonated), or the controller itself when tenancy is
// off and the Sync names none. Reads and writes of the Sync, its status and
// its Secrets never go through it: they stay the controller's.
type identity struct {
	// account is the ServiceAccount; an empty Name is the controller.
	account types.NamespacedName
	client  client.Client
	poller  *polling.StatusPoller
}

// user is the Kubernetes user name the identity acts as, for messages.
func (id *identity) user() string {
	if id.account.Name == "" {
		return "the controller's own identity"
	}
	return "ServiceAccount " + id.account.Namespace + "/" + id.account.Name
}

// resources returns a server-side apply engine acting as the identity, for
// one Sync: its client refuses to apply over an object labelled as another
// Sync's (see ownerGuard). The engine is a few fields around the cached
// client and poller, so one per call costs nothing.
func (id *identity) resources(s *v1alpha1.Sync, concurrency int) (*ssa.ResourceManager, *ownerGuard) {
	g := &ownerGuard{Client: id.client, sync: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}}
	rm := ssa.NewResourceManager(g, id.poller, ssa.Owner{Field: FieldManager, Group: "latchkey.dev"})
	rm.SetConcurrency(concurrency)
	return rm, g
}

// identities builds and caches the impersonating clients, one per
// ServiceAccount in use. All of them share one HTTP transport (one
// connection pool, one TLS session cache, the controller's credentials),
// one REST mapper and one scheme; each wraps the transport with client-go's
// impersonating round tripper (only Impersonate-User: the API server adds a
// ServiceAccount's groups itself, so the controller needs `impersonate` on
// serviceaccounts only, not on groups).
//
// Each ServiceAccount client has a token bucket of its own, a 1/concurrency
// share of --kube-api-qps and --kube-api-burst: at most `concurrency` Syncs
// are reconciled at once, so together they stay within the controller's
// budget, and one Sync with thousands of objects waits for its own bucket
// instead of draining the budget every other tenant shares (today's
// per-kind buckets of the controller's client are shared by every Sync).
// There is deliberately no shared bucket on top: it would queue every
// tenant behind the busiest again; the API server's priority and fairness
// already queues per user, and impersonation makes each ServiceAccount a
// user of its own there.
type identities struct {
	cfg    *rest.Config
	base   http.RoundTripper
	scheme *runtime.Scheme
	mapper meta.RESTMapper
	qps    float32
	burst  int
	// held reports how many ServiceAccount clients are cached.
	held func(n int)
	// controller acts as the controller (tenancy off, no ServiceAccount).
	controller *identity

	mu        sync.Mutex
	byAccount map[types.NamespacedName]*identity
	users     map[types.NamespacedName]int                  // by ServiceAccount: Syncs that use it
	syncs     map[types.NamespacedName]types.NamespacedName // Sync → its ServiceAccount
}

func newIdentities(cfg *rest.Config, hc *http.Client, scheme *runtime.Scheme, mapper meta.RESTMapper, own client.Client, concurrency int, held func(int)) *identities {
	qps, burst := cfg.QPS, cfg.Burst
	if qps == 0 {
		qps = rest.DefaultQPS
	}
	if burst == 0 {
		burst = rest.DefaultBurst
	}
	share := func(n float32) float32 { return max(n/float32(concurrency), 1) }
	return &identities{
		cfg: cfg, base: hc.Transport, scheme: scheme, mapper: mapper,
		qps: share(qps), burst: int(share(float32(burst))), held: held,
		controller: &identity{client: own, poller: polling.NewStatusPoller(own, mapper, polling.Options{})},
		byAccount:  map[types.NamespacedName]*identity{},
		users:      map[types.NamespacedName]int{},
		syncs:      map[types.NamespacedName]types.NamespacedName{},
	}
}

// forSync returns the identity of a Sync under policy, and remembers that
// the Sync uses it (see release). A policy refusal is a *tenancy.Denied.
func (ids *identities) forSync(policy *tenancy.Policy, s *v1alpha1.Sync) (*identity, error) {
	name, err := policy.ServiceAccount(s.Namespace, s.Spec.ServiceAccountName)
	if err != nil {
		return nil, err
	}
	key := types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
	if name == "" {
		ids.release(key)
		return ids.controller, nil
	}
	account := types.NamespacedName{Namespace: s.Namespace, Name: name}
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if prev, ok := ids.syncs[key]; !ok || prev != account {
		if ok {
			ids.dropLocked(key, prev)
		}
		ids.syncs[key] = account
		ids.users[account]++
	}
	if id := ids.byAccount[account]; id != nil {
		return id, nil
	}
	id, err := ids.build(account)
	if err != nil {
		ids.dropLocked(key, account)
		return nil, err
	}
	ids.byAccount[account] = id
	ids.held(len(ids.byAccount))
	return id, nil
}

// release forgets that a Sync uses its ServiceAccount; the client goes when
// no Sync uses it any more.
func (ids *identities) release(sync types.NamespacedName) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if account, ok := ids.syncs[sync]; ok {
		ids.dropLocked(sync, account)
	}
}

func (ids *identities) dropLocked(sync, account types.NamespacedName) {
	delete(ids.syncs, sync)
	if ids.users[account]--; ids.users[account] <= 0 {
		delete(ids.users, account)
		delete(ids.byAccount, account)
		ids.held(len(ids.byAccount))
	}
}

func (ids *identities) build(account types.NamespacedName) (*identity, error) {
	hc := &http.Client{Transport: transport.NewImpersonatingRoundTripper(
		transport.ImpersonationConfig{UserName: tenancy.Username(account.Namespace, account.Name)}, ids.base)}
	cfg := rest.CopyConfig(ids.cfg)
	// One bucket for every kind this client touches (client-go would make
	// one per REST client, that is per kind, when RateLimiter is nil).
	cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(ids.qps, ids.burst)
	c, err := client.New(cfg, client.Options{HTTPClient: hc, Scheme: ids.scheme, Mapper: ids.mapper})
	if err != nil {
		return nil, fmt.Errorf("building the client of ServiceAccount %s: %w", account, err)
	}
	return &identity{account: account, client: c, poller: polling.NewStatusPoller(c, ids.mapper, polling.Options{})}, nil
}
