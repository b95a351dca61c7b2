package reconcile_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// TestSealedSecretUnsealsOnlyForItsNamespace: a SealedSecret that team-b
// sealed (with the upstream kubeseal and the upstream controller's
// certificate), committed into team-a's repository, never becomes a Secret
// of team-a: as it was sealed (namespace team-b) the controller refuses to
// unseal it for a Sync of team-a; moved to team-a (namespace edited or
// removed) its strict or namespace-wide ciphertext does not decrypt, as
// upstream. team-a's own SealedSecret unseals.
func TestSealedSecretUnsealsOnlyForItsNamespace(t *testing.T) {
	sc := newScenario(t, "sealed")
	ss := testenv.StartSealedSecrets(t, sc.kube)
	tenantServiceAccount(t, sc.kube, "team-a")
	tenantServiceAccount(t, sc.kube, "team-b")
	canaryA, canaryB := "canary-a-"+rand.Text(), "canary-b-"+rand.Text()

	strictB := ss.Seal(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: team-b}\nstringData: {password: "+canaryB+"}\n")
	wideB := ss.Seal(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: wide\n  namespace: team-b\n  annotations: {sealedsecrets.bitnami.com/namespace-wide: \"true\"}\nstringData: {password: "+canaryB+"}\n")
	ownA := ss.Seal(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: mine, namespace: team-a}\nstringData: {password: "+canaryA+"}\n")
	if !strings.Contains(strictB, "namespace: team-b") || !strings.Contains(wideB, "namespace-wide") {
		t.Fatalf("kubeseal did not seal for team-b:\n%s\n%s", strictB, wideB)
	}
	withoutNamespace := func(y string) string {
		var out []string
		for _, l := range strings.Split(y, "\n") {
			if strings.TrimSpace(l) != "namespace: team-b" {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	sc.repo.Commit(t, "sealed", map[string]string{
		"as-sealed/db.yaml": strictB,
		"moved/db.yaml":     strings.ReplaceAll(strictB, "namespace: team-b", "namespace: team-a"),
		"no-ns/db.yaml":     withoutNamespace(strictB),
		"wide/db.yaml":      withoutNamespace(wideB),
		"own/db.yaml":       ownA,
	})
	startTenancyController(t, sc.kube, nil, tenancy.Policy{Enabled: true})

	tests := []struct {
		name, sync, secret string
		want               string
		says               []string
	}{
		{name: "as team-b sealed it: refused before unsealing", sync: "as-sealed", secret: "db",
			want: "False/" + v1alpha1.ReasonResolveFailed, says: []string{"SealedSecret team-b/db", "sealed for namespace team-b", "kubeseal --namespace team-a"}},
		{name: "moved to team-a: the strict ciphertext does not decrypt", sync: "moved", secret: "db",
			want: "False/" + v1alpha1.ReasonResolveFailed, says: []string{"SealedSecret team-a/db", "cannot unseal"}},
		{name: "namespace removed: the strict ciphertext does not decrypt in team-a", sync: "no-ns", secret: "db",
			want: "False/" + v1alpha1.ReasonResolveFailed, says: []string{"SealedSecret team-a/db", "cannot unseal"}},
		{name: "namespace-wide for team-b, namespace removed: does not decrypt in team-a", sync: "wide", secret: "wide",
			want: "False/" + v1alpha1.ReasonResolveFailed, says: []string{"SealedSecret team-a/wide", "cannot unseal", "namespace-wide"}},
		{name: "team-a's own SealedSecret unseals", sync: "own", secret: "mine", want: "True"},
	}
	for _, tt := range tests {
		s := sc.gitSync("team-a", tt.sync, tt.sync, time.Minute)
		s.Spec.ServiceAccountName = tenantSA
		sc.create(t, s)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := waitReady(t, sc.c, "team-a", tt.sync, tt.want, tt.says...)
			if strings.Contains(ready, canaryA) || strings.Contains(ready, canaryB) {
				t.Errorf("the Ready condition quotes a secret value: %s", ready)
			}
			got, ok := secretValue(t, sc.c, "team-a", tt.secret, "password")
			if tt.want == "True" {
				if got != canaryA {
					t.Errorf("Secret team-a/%s password = %q, want team-a's value", tt.secret, got)
				}
				return
			}
			if ok {
				t.Errorf("team-b's SealedSecret became Secret team-a/%s", tt.secret)
			}
			if _, ok := secretValue(t, sc.c, "team-b", tt.secret, "password"); ok {
				t.Errorf("team-a's Sync wrote Secret team-b/%s", tt.secret)
			}
		})
	}
	for _, out := range []string{logs.String(), ss.Logs()} {
		if strings.Contains(out, canaryB) {
			t.Error("team-b's sealed value reached a log")
		}
	}
}
