package faults

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// The controller's Vault client settings in this family: a request that
// takes longer than vaultClientTimeout fails, and is retried once, so the
// slow-Vault fault (vaultSlowDelay) is a timeout and a trial stays short.
const (
	vaultClientTimeout = time.Second
	vaultSlowDelay     = 3 * time.Second
)

// vaultFault is one row of the Vault family: how the fault is injected and
// lifted, and what the Ready condition must say meanwhile.
type vaultFault struct {
	name string
	// cause lists substrings one of which the condition must contain: the
	// cause as the controller reports it.
	cause        []string
	inject, lift func(tb testing.TB, vw *vaultWorld)
	// affects names the namespaces whose Syncs the fault breaks; nil is
	// all of them. The others must converge through it.
	affects func(vw *vaultWorld) []string
}

func vaultFaultList() []vaultFault {
	proxy := func(f Fault) func(testing.TB, *vaultWorld) {
		return func(tb testing.TB, vw *vaultWorld) {
			if err := vw.proxy.Set(f); err != nil {
				tb.Fatalf("faults: %v", err)
			}
		}
	}
	pass := proxy(Fault{Kind: Pass})
	return []vaultFault{
		{
			name:  "Vault stopped (connection refused), restarted sealed and unsealed, rotation pending",
			cause: []string{"connection refused", "unavailable"},
			inject: func(tb testing.TB, vw *vaultWorld) {
				// The proxy goes down with Vault, so the controller sees
				// what a stopped server gives: connection refused.
				proxy(Fault{Kind: Down})(tb, vw)
				vw.w.Vault.Stop(tb)
			},
			lift: func(tb testing.TB, vw *vaultWorld) {
				vw.w.Vault.Start(tb)
				pass(tb, vw)
			},
		},
		{
			name:   "Vault sealed, then unsealed, rotation pending",
			cause:  []string{"sealed"},
			inject: func(tb testing.TB, vw *vaultWorld) { vw.w.Vault.Seal(tb) },
			lift:   func(tb testing.TB, vw *vaultWorld) { vw.w.Vault.Unseal(tb) },
		},
		{
			name:   "Vault answers 403 to every request (proxy)",
			cause:  []string{"HTTP 403", "permission denied"},
			inject: proxy(Fault{Kind: Status, Status: http.StatusForbidden}),
			lift:   pass,
		},
		{
			name:   "Vault answers 500 to every request (proxy)",
			cause:  []string{"HTTP 500"},
			inject: proxy(Fault{Kind: Status, Status: http.StatusInternalServerError}),
			lift:   pass,
		},
		{
			name:   "Vault answers 429 with Retry-After: 1 (proxy)",
			cause:  []string{"HTTP 429"},
			inject: proxy(Fault{Kind: Status, Status: http.StatusTooManyRequests}),
			lift:   pass,
		},
		{
			name:   fmt.Sprintf("Vault slow: every answer %s late, VAULT_CLIENT_TIMEOUT %s (proxy)", vaultSlowDelay, vaultClientTimeout),
			cause:  []string{"timed out", "deadline exceeded", "Timeout"},
			inject: proxy(Fault{Kind: Delay, Delay: vaultSlowDelay}),
			lift:   pass,
		},
		{
			name:   "Vault's secret reads cut half-way (proxy truncates the response)",
			cause:  []string{"unavailable", "unexpected EOF"},
			inject: proxy(Fault{Kind: Truncate, Match: secretRead}),
			lift:   pass,
		},
		{
			name:   "Vault's connections reset without an answer (proxy)",
			cause:  []string{"unavailable", "connection reset", "EOF"},
			inject: proxy(Fault{Kind: Reset}),
			lift:   pass,
		},
		{
			// A static VAULT_TOKEN is never replaced by the controller
			// (docs/resolving.md, auth lifecycle): the only recovery is a
			// restart with a valid token, which is what lifting does.
			name:    "controller's VAULT_TOKEN revoked; lifted by restarting the controller with a new token",
			cause:   []string{"permission denied", "HTTP 403"},
			inject:  func(tb testing.TB, vw *vaultWorld) { vw.revoke(tb, vw.token) },
			lift:    func(tb testing.TB, vw *vaultWorld) { vw.restartWithNewToken(tb) },
			affects: func(vw *vaultWorld) []string { return vw.namespaces[:1] },
		},
		{
			// A Sync's own token (spec.vault.auth.token) keys its Vault
			// client: a new token in the Secret is a new client, no restart.
			name:    "a Sync's token (spec.vault.auth.token) revoked; lifted by writing a new token to its Secret",
			cause:   []string{"permission denied", "HTTP 403"},
			inject:  func(tb testing.TB, vw *vaultWorld) { vw.revoke(tb, vw.tenantToken) },
			lift:    func(tb testing.TB, vw *vaultWorld) { vw.replaceTenantToken(tb) },
			affects: func(vw *vaultWorld) []string { return vw.namespaces[1:] },
		},
	}
}

// findings collects one trial's broken promises, each once however many
// looks saw it, and its invariant counts.
type findings struct {
	seen                                 map[string]bool
	msgs                                 []string
	orphans, wrongPrunes, partialApplies int
}

func (f *findings) add(key, format string, args ...any) bool {
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[key] {
		return false
	}
	f.seen[key] = true
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
	return true
}

// record adds the trial's findings to the row: one failure per trial.
func (f *findings) record(row *Row, i int) {
	row.Orphans += f.orphans
	row.WrongPrunes += f.wrongPrunes
	row.PartialApplies += f.partialApplies
	if len(f.msgs) > 0 {
		row.Fail(i, "%s", strings.Join(f.msgs, "; "))
	}
}

// secretRead matches reads of KV v2 secret data: a cut there is a half-read
// value, the input a partial apply would come from.
func secretRead(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/secret/data/")
}

// vaultChecked is what every trial of the family verifies.
const vaultChecked = "cause and reference named, no value; during: nothing applied (Secret kept, new objects absent), nothing pruned; after: Ready at the revision, rotation picked up, inventory = Git, no orphan; no canary in status or log"

// VaultFaults runs every Vault fault c.Trials times on one World: a durable
// Vault behind a Proxy, the controller reading it with a limited token, and
// a few Syncs whose Secrets come from Vault. In each trial a rotation and a
// commit needing a new Vault secret are pending while the fault holds; a
// last row has only a rotation pending.
func VaultFaults(tb testing.TB, c Campaign) []Row {
	tb.Helper()
	vw := startVaultWorld(tb)
	var rows []Row
	for _, f := range vaultFaultList() {
		row := Row{Fault: f.name, Checked: vaultChecked, Trials: c.Trials}
		rng := c.Rand(f.name)
		for i := range c.Trials {
			vw.trial(tb, f, &row, i, time.Duration(500+rng.IntN(1500))*time.Millisecond)
		}
		rows = append(rows, row)
	}
	row := Row{Fault: rotationOnlyFault, Checked: rotationOnlyChecked, Trials: c.Trials}
	rng := c.Rand(rotationOnlyFault)
	for i := range c.Trials {
		vw.rotationOnlyTrial(tb, &row, i, time.Duration(500+rng.IntN(1500))*time.Millisecond)
	}
	return append(rows, row)
}

const (
	rotationOnlyFault   = "Vault sealed with only a rotation pending (nothing to render), then unsealed"
	rotationOnlyChecked = "a Warning event names the stalled rotation and its cause, no value; Secret kept; after: rotation picked up, Ready; no canary in status, events or log"
)

// rotationOnlyTrial seals Vault while a new version of the secret every
// Sync uses waits: nothing needs rendering, so only the rotation check
// meets the fault, and it must say so.
func (vw *vaultWorld) rotationOnlyTrial(tb testing.TB, row *Row, i int, hold time.Duration) {
	tb.Helper()
	var fs findings
	defer fs.record(row, i)
	ctx := context.Background()
	w := vw.w
	newDB := vw.canary("db")
	w.Vault.Seal(tb)
	before := map[string]map[string][]byte{}
	for _, ns := range vw.namespaces {
		before[ns] = vw.secretData(tb, ns, "db")
	}
	// Written behind the proxy's back: a sealed Vault cannot take it, so
	// the new version goes in between two seals, directly.
	w.Vault.Unseal(tb)
	w.Vault.PutKV2(tb, "secret", "app/db", map[string]any{"password": newDB})
	w.Vault.Seal(tb)
	sealedAt := time.Now()
	for ns := range before {
		// The rotation may have been picked up in the instant Vault was
		// unsealed; from here on nothing may change.
		before[ns] = vw.secretData(tb, ns, "db")
	}

	reported := map[string]bool{}
	var reportedAt time.Time
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, ns := range vw.namespaces {
			if got := vw.secretData(tb, ns, "db"); !mapsEqual(got, before[ns]) && fs.add("db "+ns, "%s: Secret db changed while Vault was sealed", ns) {
				fs.partialApplies++
			}
			evs, err := w.Kube.Clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				tb.Fatalf("faults: listing events of %s: %v", ns, err)
			}
			for _, e := range evs.Items {
				for _, c := range vw.canaries {
					if strings.Contains(e.Note, c) {
						fs.add("event value "+ns, "%s: an event holds a value planted in Vault", ns)
					}
				}
				if e.Reason == v1alpha1.ReasonRotationCheckFailed && e.Type == corev1.EventTypeWarning &&
					e.Regarding.Name == "app" && !lastObserved(&e).Before(sealedAt) {
					if strings.Contains(e.Note, "sealed") {
						reported[ns] = true
					} else {
						fs.add("cause "+ns, "%s: the RotationCheckFailed event does not name the cause (sealed): %s", ns, e.Note)
					}
				}
			}
		}
		if len(reported) == len(vw.namespaces) && reportedAt.IsZero() {
			reportedAt = time.Now()
		}
		if !reportedAt.IsZero() && time.Since(reportedAt) >= hold {
			break
		}
		if time.Now().After(deadline) {
			fs.add("unreported", "within 30s of sealing, not every Sync had a Warning %s event naming the cause", v1alpha1.ReasonRotationCheckFailed)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	w.Vault.Unseal(tb)
	lifted := time.Now()
	if err := vw.waitRotated(ctx, newDB, 120*time.Second); err != nil {
		fs.add("recovery", "after unsealing: %v", err)
	} else {
		row.Recovery = append(row.Recovery, time.Since(lifted))
	}
	vw.dbValue = newDB
	for _, ns := range vw.namespaces {
		s, err := w.Sync(ctx, ns, "app")
		if err != nil {
			tb.Fatalf("faults: %v", err)
		}
		status, _ := json.Marshal(s.Status)
		for _, c := range vw.canaries {
			if strings.Contains(string(status), c) {
				fs.add("status value "+ns, "%s: the Sync's status holds a value planted in Vault", ns)
			}
		}
	}
	vw.checkNoCanary(&fs)
}

// lastObserved is when an event (or the last of its series) was seen.
func lastObserved(e *eventsv1.Event) time.Time {
	t := e.EventTime.Time
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	if e.DeprecatedLastTimestamp.After(t) {
		t = e.DeprecatedLastTimestamp.Time
	}
	return t
}

// waitRotated waits until every Sync is Ready at the head revision with db
// in Secret db.
func (vw *vaultWorld) waitRotated(ctx context.Context, db string, timeout time.Duration) error {
	start := time.Now()
	for {
		var last string
		for _, ns := range vw.namespaces {
			s, err := vw.w.Sync(ctx, ns, "app")
			if err != nil {
				return err
			}
			if !ReadyAt(s, vw.rev) {
				last = ns + ": " + Condition(s)
			} else if got, err := vw.secretValue(ctx, ns, "db", "password"); err != nil || got != db {
				last = ns + ": Secret db does not hold the rotated version yet"
			}
		}
		if last == "" {
			return nil
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("not recovered within %s: %s", timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// vaultWorld is the World of the Vault family and what its trials share.
type vaultWorld struct {
	w          *World
	proxy      *Proxy
	namespaces []string
	// token is the controller's current Vault token (limited to reading),
	// the one the first namespace's Sync uses; tenantToken the one the
	// other Syncs log in with (spec.vault.auth.token, Secret vault-token).
	token, tenantToken string
	// canaries are every value planted in Vault so far.
	canaries []string
	// dbValue is the latest value of secret/app/db; pair the name of the
	// trial objects the head revision renders.
	dbValue, pair string
	rev           string
	seq           int
}

const vaultReadPolicy = `
path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read"] }
path "sys/internal/ui/mounts" { capabilities = ["read"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }
`

func startVaultWorld(tb testing.TB) *vaultWorld {
	tb.Helper()
	w := StartWorld(tb, WorldOptions{
		Vault: true, VaultFile: true, NoController: true,
		ControllerArgs: []string{"--min-interval=0"},
		ControllerEnv: []string{
			"VAULT_CLIENT_TIMEOUT=" + vaultClientTimeout.String(),
			"VAULT_MAX_RETRIES=1",
		},
	})
	vw := &vaultWorld{w: w, namespaces: []string{"vault-a", "vault-b"}}
	vw.proxy = &Proxy{Target: w.Vault.Addr}
	if err := vw.proxy.Start(); err != nil {
		tb.Fatalf("faults: %v", err)
	}
	tb.Cleanup(func() { _ = vw.proxy.Stop() })
	w.Vault.WritePolicy(tb, "latchkey-read", vaultReadPolicy)
	vw.token = vw.newToken(tb)
	w.opts.VaultAddr, w.opts.VaultToken = vw.proxy.URL, vw.token
	w.Controller = w.StartController(tb, "controller")
	vw.tenantToken = vw.newToken(tb)

	vw.dbValue = vw.canary("db")
	w.Vault.PutKV2(tb, "secret", "app/db", map[string]any{"password": vw.dbValue})
	vw.rev = w.Repo.Commit(tb, "base: a ConfigMap and a Secret from Vault", map[string]string{
		"app/base.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\ndata:\n  n: \"0\"\n",
		"app/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n" +
			"stringData:\n  password: <path:secret/data/app/db#password>\n",
	})
	ctx := context.Background()
	for i, ns := range vw.namespaces {
		w.Tenant(tb, ns, "app", time.Second)
		if i > 0 {
			vw.writeTenantToken(tb, ns)
		}
		err := w.UpdateSync(ctx, ns, "app", func(s *v1alpha1.Sync) {
			s.Spec.Rotation.Interval = &metav1.Duration{Duration: time.Second}
			if i > 0 {
				s.Spec.Vault = &v1alpha1.Vault{Auth: &v1alpha1.VaultAuth{
					Token: &v1alpha1.VaultTokenAuth{SecretRef: v1alpha1.LocalObjectReference{Name: "vault-token"}},
				}}
			}
		})
		if err != nil {
			tb.Fatalf("faults: setting the rotation interval of %s/app: %v", ns, err)
		}
	}
	if _, err := w.WaitReady(ctx, vw.namespaces, vw.rev, 120*time.Second); err != nil {
		tb.Fatalf("faults: the Vault world did not converge before any fault: %v", err)
	}
	return vw
}

// canary is a unique value to plant in Vault and look for where no value
// may be.
func (vw *vaultWorld) canary(what string) string {
	c := "canary-" + what + "-" + strings.ToLower(rand.Text())
	vw.canaries = append(vw.canaries, c)
	return c
}

// newToken creates a token that may only read secrets, for the controller
// or a Sync; it is watched for like a planted value.
func (vw *vaultWorld) newToken(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := vw.w.Vault.Client().Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{
		Policies: []string{"latchkey-read"}, TTL: "24h",
	})
	if err != nil {
		tb.Fatalf("faults: creating a Vault token: %v", err)
	}
	vw.canaries = append(vw.canaries, s.Auth.ClientToken)
	return s.Auth.ClientToken
}

func (vw *vaultWorld) revoke(tb testing.TB, token string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := vw.w.Vault.Client().Auth().Token().RevokeTreeWithContext(ctx, token); err != nil {
		tb.Fatalf("faults: revoking a Vault token: %v", err)
	}
}

// writeTenantToken creates or replaces Secret vault-token in ns with
// vw.tenantToken.
func (vw *vaultWorld) writeTenantToken(tb testing.TB, ns string) {
	tb.Helper()
	ctx := context.Background()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token"}}
	_, err := controllerutil.CreateOrUpdate(ctx, vw.w.Client, s, func() error {
		s.Data = map[string][]byte{"token": []byte(vw.tenantToken)}
		return nil
	})
	if err != nil {
		tb.Fatalf("faults: writing Secret %s/vault-token: %v", ns, err)
	}
}

// replaceTenantToken is the recovery from a revoked Sync token: a new token
// in the Secret the Sync names.
func (vw *vaultWorld) replaceTenantToken(tb testing.TB) {
	tb.Helper()
	vw.tenantToken = vw.newToken(tb)
	for _, ns := range vw.namespaces[1:] {
		vw.writeTenantToken(tb, ns)
	}
}

// restartWithNewToken is the recovery from a revoked VAULT_TOKEN: the
// controller never replaces a static token, so it is restarted with a new one.
func (vw *vaultWorld) restartWithNewToken(tb testing.TB) {
	tb.Helper()
	vw.token = vw.newToken(tb)
	c := vw.w.Controller
	if err := c.Stop(); err != nil {
		tb.Fatalf("faults: stopping the controller: %v", err)
	}
	c.Env = slices.DeleteFunc(slices.Clone(c.Env), func(kv string) bool { return strings.HasPrefix(kv, "VAULT_TOKEN=") })
	c.Env = append(c.Env, "VAULT_TOKEN="+vw.token)
	if err := c.Start(); err != nil {
		tb.Fatalf("faults: starting the controller with a new token: %v", err)
	}
}

// trial injects f with a rotation and a commit pending, holds it until every
// Sync reports it (and hold longer), lifts it and measures recovery.
func (vw *vaultWorld) trial(tb testing.TB, f vaultFault, row *Row, i int, hold time.Duration) {
	tb.Helper()
	var fs findings
	defer fs.record(row, i)
	ctx := context.Background()
	w := vw.w
	vw.seq++
	next := fmt.Sprintf("t%d", vw.seq)
	// Planted before the fault: a new version of the Secret every Sync
	// uses (a rotation) and the secret the pending commit refers to.
	newDB, tValue := vw.canary("db"), vw.canary(next)
	w.Vault.PutKV2(tb, "secret", "app/db", map[string]any{"password": newDB})
	w.Vault.PutKV2(tb, "secret", "app/"+next, map[string]any{"token": tValue})

	affected := vw.namespaces
	if f.affects != nil {
		affected = f.affects(vw)
	}
	f.inject(tb, vw)
	// What each namespace holds when the fault starts: the rotation may
	// have been picked up just before; from here on nothing may change.
	before := map[string]map[string][]byte{}
	for _, ns := range vw.namespaces {
		before[ns] = vw.secretData(tb, ns, "db")
	}
	old := vw.objects(vw.pair)
	want := vw.objects(next)
	w.Repo.Commit(tb, "add "+next+" (needs Vault)", map[string]string{
		"app/" + next + ".yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-" + next + "\ndata:\n  trial: " + next + "\n" +
			"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-" + next + "\n" +
			"stringData:\n  token: <path:secret/data/app/" + next + "#token>\n",
	})
	rev := w.Repo.Head(tb)
	if vw.pair != "" {
		rev = w.Repo.Remove(tb, "remove "+vw.pair, "app/"+vw.pair+".yaml")
	}
	ref := "app/" + next

	// Hold: until every Sync has said why it cannot apply, then a little
	// longer, checking at each look that nothing moved.
	reported := map[string]string{}
	start, deadline := time.Now(), time.Now().Add(30*time.Second)
	var reportedAt time.Time
	for {
		for _, ns := range affected {
			s, err := w.Sync(ctx, ns, "app")
			if err != nil {
				tb.Fatalf("faults: %v", err)
			}
			vw.checkHeld(tb, &fs, ns, s, before[ns], old, want)
			if c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady); c != nil &&
				c.Status == metav1.ConditionFalse && c.ObservedGeneration == s.Generation && strings.Contains(c.Message, ref) {
				reported[ns] = c.Reason + ": " + c.Message
			}
		}
		if len(reported) == len(affected) && reportedAt.IsZero() {
			reportedAt = time.Now()
		}
		if !reportedAt.IsZero() && time.Since(reportedAt) >= hold {
			break
		}
		if time.Now().After(deadline) {
			var last string
			for _, ns := range affected {
				if _, ok := reported[ns]; !ok {
					s, _ := w.Sync(ctx, ns, "app")
					last = ns + ": " + Condition(s)
				}
			}
			fs.add("unreported", "within %s of the fault, not every Sync reported a failure naming %s; e.g. %s", time.Since(start).Round(time.Second), ref, last)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for ns, msg := range reported {
		if !containsAny(msg, f.cause) {
			fs.add("cause "+ns, "%s: the condition does not name the cause (%s): %s", ns, strings.Join(f.cause, " or "), msg)
		}
	}

	f.lift(tb, vw)
	lifted := time.Now()
	if err := vw.waitRecovered(ctx, rev, newDB, next, tValue, 120*time.Second); err != nil {
		fs.add("recovery", "after the fault was lifted: %v", err)
	} else {
		row.Recovery = append(row.Recovery, time.Since(lifted))
	}
	vw.pair, vw.dbValue, vw.rev = next, newDB, rev

	for _, ns := range vw.namespaces {
		o, err := w.Owned(ctx, ns)
		if err != nil {
			tb.Fatalf("faults: %v", err)
		}
		fs.orphans += len(o.Orphans)
		expect := append([]string{"ConfigMap/base", "Secret/db"}, vw.objects(next)...)
		slices.Sort(expect)
		if d := Diff(expect, o.Inventory); d != "" || len(o.Orphans) > 0 {
			fs.add("inventory "+ns, "%s: inventory differs from Git (%s); orphans %v", ns, d, o.Orphans)
		}
	}
	vw.checkNoCanary(&fs)
}

// objects are the trial objects of pair ("" names none).
func (vw *vaultWorld) objects(pair string) []string {
	if pair == "" {
		return nil
	}
	return []string{"ConfigMap/cm-" + pair, "Secret/secret-" + pair}
}

// checkHeld verifies, during a fault, the fail-closed rule in ns: the
// Secret db keeps the value it had, the pending commit's objects are not
// there, the previous ones are not pruned; and the status shows no value.
func (vw *vaultWorld) checkHeld(tb testing.TB, fs *findings, ns string, s *v1alpha1.Sync, db map[string][]byte, old, pending []string) {
	tb.Helper()
	if got := vw.secretData(tb, ns, "db"); !mapsEqual(got, db) && fs.add("db "+ns, "%s: Secret db changed while Vault was failing", ns) {
		fs.partialApplies++
	}
	for _, o := range pending {
		if vw.exists(tb, ns, o) && fs.add("applied "+ns+o, "%s: %s applied from a revision whose references could not all be resolved", ns, o) {
			fs.partialApplies++
		}
	}
	for _, o := range old {
		if !vw.exists(tb, ns, o) && fs.add("pruned "+ns+o, "%s: %s pruned while the revision removing it could not be resolved", ns, o) {
			fs.wrongPrunes++
		}
	}
	status, _ := json.Marshal(s.Status)
	for _, c := range vw.canaries {
		if strings.Contains(string(status), c) {
			fs.add("status value "+ns, "%s: the Sync's status holds a value planted in Vault", ns)
		}
	}
}

// checkNoCanary looks for every planted value in the controller's log.
func (vw *vaultWorld) checkNoCanary(fs *findings) {
	log := vw.w.Controller.LogTail(100000)
	for _, c := range vw.canaries {
		if strings.Contains(log, c) {
			fs.add("log value", "the controller's log holds a value planted in Vault")
			return
		}
	}
}

// waitRecovered waits until every Sync is Ready at rev with the rotated
// value in Secret db and the pending commit's Secret applied.
func (vw *vaultWorld) waitRecovered(ctx context.Context, rev, db, pair, value string, timeout time.Duration) error {
	start := time.Now()
	for {
		var last string
		for _, ns := range vw.namespaces {
			s, err := vw.w.Sync(ctx, ns, "app")
			if err != nil {
				return err
			}
			if !ReadyAt(s, rev) {
				last = ns + ": " + Condition(s)
				break
			}
			if got, err := vw.secretValue(ctx, ns, "db", "password"); err != nil || got != db {
				last = ns + ": Secret db does not hold the rotated version yet"
				break
			}
			if got, err := vw.secretValue(ctx, ns, "secret-"+pair, "token"); err != nil || got != value {
				last = ns + ": Secret secret-" + pair + " is not applied with its value yet"
				break
			}
		}
		if last == "" {
			return nil
		}
		if vw.w.Controller.Exited() != "" {
			return fmt.Errorf("%s", vw.w.Controller.Exited())
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("not recovered within %s: %s", timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (vw *vaultWorld) secretValue(ctx context.Context, ns, name, key string) (string, error) {
	var s corev1.Secret
	if err := vw.w.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		return "", err
	}
	return string(s.Data[key]), nil
}

func (vw *vaultWorld) secretData(tb testing.TB, ns, name string) map[string][]byte {
	tb.Helper()
	var s corev1.Secret
	if err := vw.w.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		tb.Fatalf("faults: reading Secret %s/%s: %v", ns, name, err)
	}
	return s.Data
}

// exists says whether "Kind/name" exists in ns.
func (vw *vaultWorld) exists(tb testing.TB, ns, obj string) bool {
	tb.Helper()
	kind, name, _ := strings.Cut(obj, "/")
	var o client.Object = &corev1.ConfigMap{}
	if kind == "Secret" {
		o = &corev1.Secret{}
	}
	err := vw.w.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, o)
	switch {
	case err == nil:
		return true
	case apierrors.IsNotFound(err):
		return false
	}
	tb.Fatalf("faults: reading %s in %s: %v", obj, ns, err)
	return false
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func mapsEqual(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(w) != string(v) {
			return false
		}
	}
	return true
}
