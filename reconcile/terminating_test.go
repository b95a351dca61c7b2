package reconcile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// TestTerminatingNamespaceOfTheSetIsNamedAtOnce: a Namespace of the set
// that is being deleted (envtest has no namespace controller, so a deleted
// namespace stays Terminating, as one held by a finalizer does) fails the
// next revision at once, reason Forbidden, naming the namespace; the apply
// used to wait for the namespace to become ready until the timeout and
// then say only that the client's rate limiter would exceed the deadline.
func TestTerminatingNamespaceOfTheSetIsNamedAtOnce(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "terminating")
	startController(t, sc.kube, nil)
	sc.kube.CreateNamespace(t, "team")
	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: held}\n"
	good := sc.repo.Commit(t, "a namespace and a ConfigMap in it", map[string]string{
		"ns.yaml": ns,
		"a.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: held}\ndata: {v: \"1\"}\n",
	})
	sc.create(t, sc.gitSync("team", "app", "", time.Second))
	sc.waitApplied(t, "the namespace applied", "team", "app", good)

	if err := sc.c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "held"}}); err != nil {
		t.Fatal(err)
	}
	next := sc.repo.Commit(t, "another ConfigMap in it", map[string]string{
		"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: held}\ndata: {v: \"1\"}\n",
	})
	msg := waitRefused(t, sc.c, "team", "app", next, v1alpha1.ReasonForbidden)
	for _, want := range []string{"Namespace held is being deleted", "kubectl get namespace held"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message %q lacks %q", msg, want)
		}
	}
}
