package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/source"
)

// TestSSHSource: a Sync follows an ssh:// repository with the identity and
// known_hosts of its secretRef Secret, against a real SSH server running
// git-upload-pack; a server whose host key is not the one known_hosts
// names, and a Secret without known_hosts, are refused before anything is
// fetched, with a condition that says why, and nothing is applied.
func TestSSHSource(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "fleet")
	server := sc.git.ServeSSH(t)
	rev := sc.repo.Commit(t, "one ConfigMap", map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: over-ssh}\ndata: {a: \"1\"}\n",
	})
	startController(t, sc.kube, nil)

	_, impostor, err := components.NewSSHIdentity() // a host key nobody vouched for
	if err != nil {
		t.Fatal(err)
	}
	wrongKnownHosts := strings.Fields(server.KnownHosts)[0] + " " + string(xssh.MarshalAuthorizedKey(impostor))
	tests := []struct {
		ns         string
		knownHosts string
		// wantReason and wantMessage: the Sync fails with them; "" applies.
		wantReason  string
		wantMessage []string
	}{
		{ns: "ssh-verified", knownHosts: server.KnownHosts},
		{ns: "ssh-wrong-host-key", knownHosts: wrongKnownHosts, wantReason: v1alpha1.ReasonFetchFailed,
			wantMessage: []string{"host key of " + server.Addr + " (SHA256:", "is not in known_hosts", "update known_hosts", "ssh://" + server.Addr + "/fleet.git"}},
		{ns: "ssh-no-known-hosts", wantReason: v1alpha1.ReasonFetchFailed,
			wantMessage: []string{"no known_hosts", "refusing to connect to an unverified SSH host"}},
	}
	for _, tc := range tests {
		sc.kube.CreateNamespace(t, tc.ns)
		data := map[string][]byte{source.KeyIdentity: server.Identity}
		if tc.knownHosts != "" {
			data[source.KeyKnownHosts] = []byte(tc.knownHosts)
		}
		s := sc.gitSync(tc.ns, "app", "app", time.Second)
		s.Spec.Source.URL = server.URL("fleet")
		s.Spec.Source.SecretRef = &v1alpha1.LocalObjectReference{Name: "git-ssh"}
		sc.create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: "git-ssh"}, Data: data}, s)
	}
	for _, tc := range tests {
		t.Run(tc.ns, func(t *testing.T) {
			if tc.wantReason == "" {
				sc.waitApplied(t, "Sync over SSH", tc.ns, "app", rev)
				var cm corev1.ConfigMap
				if err := sc.c.Get(ctx, client.ObjectKey{Namespace: tc.ns, Name: "over-ssh"}, &cm); err != nil {
					t.Fatalf("the ConfigMap fetched over SSH: %v", err)
				}
				return
			}
			eventually(t, 30*time.Second, "the refusal in the Ready condition", func() error {
				s := getSync(t, sc.c, tc.ns, "app")
				c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
				if c == nil || c.Status != metav1.ConditionFalse || c.Reason != tc.wantReason {
					return fmt.Errorf("Ready %s", condition(s, v1alpha1.ConditionReady))
				}
				for _, want := range tc.wantMessage {
					if !strings.Contains(c.Message, want) {
						return fmt.Errorf("Ready %s: lacks %q", condition(s, v1alpha1.ConditionReady), want)
					}
				}
				return nil
			})
			var cms corev1.ConfigMapList
			if err := sc.c.List(ctx, &cms, client.InNamespace(tc.ns), client.HasLabels{reconcile.LabelSync}); err != nil {
				t.Fatal(err)
			}
			if s := getSync(t, sc.c, tc.ns, "app"); len(cms.Items) > 0 || s.Status.LastAppliedRevision != "" {
				t.Errorf("refused source, yet %d ConfigMaps applied, last applied revision %q", len(cms.Items), s.Status.LastAppliedRevision)
			}
		})
	}
	// The identity is a secret: no part of its key appears in any status or
	// log.
	key := identityBody(server.Identity)
	for _, tc := range tests {
		if s := getSync(t, sc.c, tc.ns, "app"); strings.Contains(fmt.Sprint(s.Status), key) {
			t.Errorf("%s: the status carries the SSH identity", tc.ns)
		}
	}
	if strings.Contains(logs.String(), key) {
		t.Error("the controller logged the SSH identity")
	}
}

// identityBody is a line of the PEM identity's base64 body: what a leak of
// the key would contain.
func identityBody(pem []byte) string {
	lines := strings.Split(strings.TrimSpace(string(pem)), "\n")
	return lines[len(lines)/2]
}
