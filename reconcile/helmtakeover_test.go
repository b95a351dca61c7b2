package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// A release installed by `helm install` (objects written by the field
// manager "helm" with the release annotations) is taken over by a Sync
// rendering the same chart: its objects become the Sync's, the "helm"
// field manager and the release annotations are gone (so `helm upgrade`
// of the old release refuses them), and the release record is left alone.
func TestHelmReleaseTakeover(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "charts")
	sc.kube.CreateNamespace(t, "shop")
	// What helm install left: the object, written with update requests as
	// manager "helm", and the release record.
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-settings",
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "Helm"},
			Annotations: map[string]string{"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "shop"}},
		Data: map[string]string{"color": "blue", "legacy": "only-helm-wrote-this"},
	}
	if err := sc.c.Create(ctx, cm, client.FieldOwner("helm")); err != nil {
		t.Fatal(err)
	}
	release := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "sh.helm.release.v1.web.v1",
			Labels: map[string]string{"owner": "helm", "name": "web", "status": "deployed", "version": "1"}},
		Type: "helm.sh/release.v1",
		Data: map[string][]byte{"release": []byte("H4sIAAAAAAAA")},
	}
	if err := sc.c.Create(ctx, release, client.FieldOwner("helm")); err != nil {
		t.Fatal(err)
	}

	rev := sc.repo.Commit(t, "chart", map[string]string{
		"web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n  labels: {app.kubernetes.io/managed-by: {{ .Release.Service }}}\ndata:\n  color: green\n",
	})
	startController(t, sc.kube, nil)
	sync := sc.gitSync("shop", "web", "web", time.Hour)
	sync.Spec.Render.Type = v1alpha1.RenderHelm
	sc.create(t, sync)
	sc.waitApplied(t, "the release taken over", "shop", "web", rev)

	eventually(t, 30*time.Second, "the object is the Sync's alone", func() error {
		var live corev1.ConfigMap
		if err := sc.c.Get(ctx, client.ObjectKeyFromObject(cm), &live); err != nil {
			return err
		}
		for _, mf := range live.ManagedFields {
			if mf.Manager == "helm" {
				return fmt.Errorf("field manager helm still owns fields (%s)", mf.Operation)
			}
		}
		if _, ok := live.Annotations["meta.helm.sh/release-name"]; ok {
			return fmt.Errorf("the release annotation stays: %v", live.Annotations)
		}
		if live.Data["color"] != "green" || live.Labels["latchkey.dev/sync"] != "web" {
			return fmt.Errorf("not applied: %v %v", live.Data, live.Labels)
		}
		return nil
	})

	var secret corev1.Secret
	if err := sc.c.Get(ctx, client.ObjectKeyFromObject(release), &secret); err != nil {
		t.Errorf("the release record was touched: %v", err)
	}
}
