package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/drift"
	gitsource "github.com/latchkey-dev/latchkey/reconcile/source"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
	"github.com/latchkey-dev/latchkey/render/chartrepo"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

// Options configure a Reconciler.
type Options struct {
	// HMACKey keys every HMAC the controller records or compares. It must
	// stay the same across restarts (see cmd/latchkey controller), or every
	// workload rolls once after a restart.
	HMACKey []byte
	// Concurrency is how many Syncs are reconciled at once (default 4).
	Concurrency int
	// ApplyConcurrency is how many objects of one Sync are dry-run at once
	// (default 4).
	ApplyConcurrency int
	// Source configures Git fetches.
	Source gitsource.Options
	// Secrets resolves references; required.
	Secrets SecretsProvider
	// Metrics is required: NewMetrics registers them (on controller-runtime's
	// registry in the controller, on a private one in tests).
	Metrics *Metrics
	// Namespaces, when set, restricts the watches of managed objects to
	// them (as ManagerOptions.Namespaces does for Syncs).
	Namespaces []string
	// AllowRemoteBases lets kustomizations load remote bases and files by
	// URL; by default a render that would fails before fetching anything.
	AllowRemoteBases bool
	// RemoteHosts are the hosts renders may fetch from (Kustomize remote
	// bases, Helm chart repositories); AllowRemoteBases allows any.
	RemoteHosts []string
	// ChartClient makes the requests to chart repositories and registries
	// (default: one with a timeout and the system's CAs).
	ChartClient *http.Client
	// MinInterval is the shortest source and rotation interval honoured;
	// shorter ones in a spec are raised to it (0: no floor).
	MinInterval time.Duration
	// Tenancy is what each Sync may do; the zero value is tenancy off.
	Tenancy tenancy.Policy
	// RenderSandbox bounds Helm and Kustomize renders, which run in worker
	// processes (render/sandbox); zero limits take its defaults. A binary
	// that runs a Reconciler must dispatch to sandbox.Main (latchkey has the
	// render-worker subcommand; a test binary checks sandbox.IsWorker in
	// TestMain).
	RenderSandbox sandbox.Config
	// CapabilitiesTTL is how long the cluster's capabilities are reused
	// for Helm renders (default DefaultCapabilitiesTTL).
	CapabilitiesTTL time.Duration
}

// Reconciler reconciles Syncs.
type Reconciler struct {
	client  client.Client
	reader  client.Reader // uncached: Secrets are never cached by the controller
	mapper  meta.RESTMapper
	fetcher *gitsource.Fetcher
	secrets SecretsProvider
	tracker *drift.Tracker
	events  events.EventRecorder
	metrics *Metrics
	sandbox *sandbox.Sandbox
	caps    *capabilities
	charts  *chartrepo.Fetcher
	opts    Options
	// ids are the identities Syncs act as for their objects; access caches
	// the allowed SubjectAccessReview decisions of the check before apply.
	ids    *identities
	access accessCache

	controller controller.Controller
	managed    cache.Cache
	watchMu    sync.Mutex
	watched    map[string]bool // GroupVersionKind strings with a watch

	statesMu sync.Mutex
	states   map[types.NamespacedName]*syncState

	triggers chan event.TypedGenericEvent[*v1alpha1.Sync]
}

// syncState is what the controller remembers about a Sync between
// reconciliations, in memory: never values, only versions and times.
type syncState struct {
	mu sync.Mutex
	// applied is true once a full apply (or, in observe mode, a full diff)
	// ran in this process: after a restart the first reconciliation is full.
	applied bool
	// What the last successful full reconciliation saw: the revision, the
	// generation of the Sync and the digest of the applied set. They are
	// kept here rather than read back from the status, which the cache may
	// not show yet when the next event arrives.
	revision   string
	generation int64
	digest     string
	// ready is false after a failed reconciliation, so the next one is full.
	ready bool
	// versions are the KV v2 versions of the unpinned Vault secrets used by
	// the last build, by location; rotation compares against them.
	versions          map[vaultLocation]int
	lastRotationCheck time.Time
	// capabilities is the digest of the cluster capabilities the last
	// applied Helm render was made with ("" for other renders): when
	// discovery says otherwise, the chart is rendered again.
	capabilities string
	// reconcileRequest is the last AnnotationReconcileRequest value handled.
	reconcileRequest string
	// interval is the Sync's spec.source.interval (after --min-interval),
	// the longest a failed reconciliation waits for its retry.
	interval time.Duration
	// lastFull is when the last full reconciliation succeeded.
	lastFull time.Time
	// progressing is the work Reconciling=True was last set for (revision,
	// generation, rotation), so retries of the same work do not set it again.
	progressing string
	// soak verifies the applied revision before spec.publish publishes it;
	// workloads are the applied objects its health check reads (kind,
	// namespace and name only).
	soak      soak
	workloads []*unstructured.Unstructured
	// waitedFor is what revision waitedRev was held back for (an approval,
	// missing keys), for status.promotions once it is applied.
	waitedRev   string
	waitedFor   []string
	waitedSince time.Time
}

// verifiable says whether the last full reconciliation succeeded, so its
// workloads can be checked again without one.
func (st *syncState) verifiable() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.applied && st.ready
}

// fullCheckEvery is how many intervals may pass without a full
// reconciliation: it re-reads expired cache entries (KV v1 secrets have no
// versions to poll) and catches any drift a watch missed.
const fullCheckEvery = 10

// NewReconciler builds the reconciler and registers it with mgr. The
// managed objects are watched through a cache of their own that only holds
// the metadata of objects labelled latchkey.dev/sync.
func NewReconciler(mgr ctrl.Manager, opts Options) (*Reconciler, error) {
	if opts.Secrets == nil {
		return nil, errors.New("reconcile: Options.Secrets is required")
	}
	if len(opts.HMACKey) < 16 {
		return nil, errors.New("reconcile: Options.HMACKey must be at least 16 bytes")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.ApplyConcurrency <= 0 {
		opts.ApplyConcurrency = 4
	}
	if opts.Metrics == nil {
		return nil, errors.New("reconcile: Options.Metrics is required (NewMetrics)")
	}
	c := mgr.GetClient()

	selector, err := managedSelector()
	if err != nil {
		return nil, err
	}
	managed, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), DefaultLabelSelector: selector,
		DefaultNamespaces: NamespaceConfigs(opts.Namespaces),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the cache of managed objects: %w", err)
	}
	if err := mgr.Add(managed); err != nil {
		return nil, err
	}

	dc, err := discovery.NewDiscoveryClientForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("creating the discovery client for Helm's capabilities: %w", err)
	}
	r := &Reconciler{
		client:  c,
		reader:  mgr.GetAPIReader(),
		mapper:  mgr.GetRESTMapper(),
		fetcher: gitsource.NewFetcher(opts.Source),
		secrets: opts.Secrets,
		tracker: drift.NewTracker(),
		events:  mgr.GetEventRecorder("latchkey"),
		metrics: opts.Metrics,
		sandbox: sandbox.New(opts.RenderSandbox),
		caps:    newCapabilities(dc, opts.CapabilitiesTTL),
		charts:  chartrepo.New(chartrepo.Options{Hosts: remoteHosts(opts), Client: opts.ChartClient}),
		opts:    opts,
		ids: newIdentities(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), mgr.GetRESTMapper(), c, opts.Concurrency,
			func(n int) { opts.Metrics.Identities.Set(float64(n)) }),
		managed:  managed,
		watched:  map[string]bool{},
		states:   map[types.NamespacedName]*syncState{},
		triggers: make(chan event.TypedGenericEvent[*v1alpha1.Sync], 1024),
	}
	r.controller, err = ctrl.NewControllerManagedBy(mgr).
		Named("sync").
		For(&v1alpha1.Sync{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deletedPredicate{}))).
		WatchesRawSource(source.Channel(r.triggers, &handler.TypedEnqueueRequestForObject[*v1alpha1.Sync]{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Concurrency, SkipNameValidation: ptr.To(true),
			RateLimiter: newRetryLimiter(r.retryInterval)}).
		Build(r)
	if err != nil {
		return nil, fmt.Errorf("building the Sync controller: %w", err)
	}
	return r, nil
}

// deletedPredicate passes updates that set a deletion timestamp (they do not
// change the generation of every kind).
type deletedPredicate struct{ predicate.Funcs }

func (deletedPredicate) Update(e event.UpdateEvent) bool {
	return e.ObjectNew != nil && !e.ObjectNew.GetDeletionTimestamp().IsZero()
}

func (r *Reconciler) state(key types.NamespacedName) *syncState {
	r.statesMu.Lock()
	defer r.statesMu.Unlock()
	st := r.states[key]
	if st == nil {
		st = &syncState{}
		r.states[key] = st
	}
	return st
}

// retryInterval is the longest a failed reconciliation of req waits for
// its retry: the Sync's interval, 0 before its first reconciliation.
func (r *Reconciler) retryInterval(req ctrl.Request) time.Duration {
	r.statesMu.Lock()
	st := r.states[req.NamespacedName]
	r.statesMu.Unlock()
	if st == nil {
		return 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.interval
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.statesMu.Lock()
	delete(r.states, key)
	r.statesMu.Unlock()
	r.tracker.Forget(key)
	r.ids.release(key)
	r.metrics.Ready.DeleteLabelValues(key.Namespace, key.Name)
	if f, ok := r.secrets.(SecretsForgetter); ok {
		f.Forget(key) // its Vault client, token and cache, unless other Syncs use them
	}
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	defer func() {
		outcome := "success"
		if retErr != nil {
			outcome = "error"
		}
		r.metrics.ReconcileDuration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	}()

	var s v1alpha1.Sync
	if err := r.client.Get(ctx, req.NamespacedName, &s); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !s.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, &s)
	}
	r.applyIntervalFloor(&s)
	if !controllerutil.ContainsFinalizer(&s, Finalizer) {
		patch := client.MergeFrom(s.DeepCopy())
		controllerutil.AddFinalizer(&s, Finalizer)
		if err := r.client.Patch(ctx, &s, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer: %w", err)
		}
	}
	if s.Spec.Suspend {
		return ctrl.Result{}, r.patchStatus(ctx, &s, func(st *v1alpha1.SyncStatus) {
			setCondition(st, s.Generation, v1alpha1.ConditionReconciling, false, v1alpha1.ReasonSuspended, "reconciliation is suspended")
		})
	}

	ctx, cancel := context.WithTimeout(ctx, s.GetTimeout())
	defer cancel()
	return r.reconcile(ctx, &s)
}

// finalize prunes what the Sync owns (when pruning is on), as its
// ServiceAccount and from the inventory as stored (not as cached), and lets
// it go.
func (r *Reconciler) finalize(ctx context.Context, s *v1alpha1.Sync) error {
	key := client.ObjectKeyFromObject(s)
	if controllerutil.ContainsFinalizer(s, Finalizer) {
		if s.PruneEnabled() && !s.Spec.Suspend {
			err := r.finalPrune(ctx, s)
			if err != nil {
				r.events.Eventf(s, nil, corev1.EventTypeWarning, v1alpha1.ReasonPruneFailed, "Finalize", "%s", err.Error())
				return err
			}
		}
		patch := client.MergeFrom(s.DeepCopy())
		controllerutil.RemoveFinalizer(s, Finalizer)
		if err := r.client.Patch(ctx, s, patch); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing the finalizer: %w", err)
		}
	}
	r.forget(key)
	return nil
}

// Trigger makes every Sync following repoURL check it now (a webhook said
// it changed). It returns how many Syncs were triggered.
func (r *Reconciler) Trigger(ctx context.Context, repoURL string) (int, error) {
	var list v1alpha1.SyncList
	if err := r.client.List(ctx, &list); err != nil {
		return 0, err
	}
	r.fetcher.Forget(repoURL)
	n := 0
	for i := range list.Items {
		s := &list.Items[i]
		if !sameRepository(s.Spec.Source.URL, repoURL) {
			continue
		}
		r.fetcher.Forget(s.Spec.Source.URL)
		select {
		case r.triggers <- event.TypedGenericEvent[*v1alpha1.Sync]{Object: s}:
			n++
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
	return n, nil
}

var _ ctrlreconcile.Reconciler = (*Reconciler)(nil)

func logger(ctx context.Context) interface {
	Info(msg string, kv ...any)
	Error(err error, msg string, kv ...any)
} {
	return log.FromContext(ctx)
}
