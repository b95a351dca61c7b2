package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// TestRemoteBases: by default the controller refuses a kustomization that
// loads anything from outside the repository, before fetching it, and
// never reads a file beside a kustomization's directory; a controller
// started with AllowRemoteBases (--allow-remote-bases) fetches remote files,
// and so does one that allows the remote's host (--allow-remote-hosts).
func TestRemoteBases(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "remote")
	var mu sync.Mutex
	hits := map[string]int{}
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote}\n"))
	}))
	t.Cleanup(remote.Close)
	kustomization := func(resource string) string {
		return "resources:\n- cm.yaml\n- " + resource + "\n"
	}
	local := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\n"
	sc.repo.Commit(t, "init", map[string]string{
		"refused/kustomization.yaml": kustomization(remote.URL + "/refused/cm.yaml"),
		"refused/cm.yaml":            local,
		"allowed/kustomization.yaml": kustomization(remote.URL + "/allowed/cm.yaml"),
		"allowed/cm.yaml":            local,
		"hosts/kustomization.yaml":   kustomization(remote.URL + "/hosts/cm.yaml"),
		"hosts/cm.yaml":              local,
		"escape/kustomization.yaml":  kustomization("../outside.yaml"),
		"escape/cm.yaml":             local,
		"outside.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n",
	})
	startController(t, sc.kube, nil)
	startShardController(t, sc.kube, nil, "remote", func(o *reconcile.Options) { o.AllowRemoteBases = true })
	startShardController(t, sc.kube, nil, "hosts", func(o *reconcile.Options) {
		o.RemoteHosts = []string{strings.TrimPrefix(remote.URL, "http://")}
	})

	tests := []struct {
		path    string
		shard   string
		want    []string // ConfigMaps applied; nil: the Sync fails with wantErr
		wantErr []string
	}{
		{path: "refused", wantErr: []string{
			"--allow-remote-hosts", "remote kustomize bases and resources are refused",
			"kustomization.yaml: resources: " + remote.URL + "/refused/cm.yaml",
		}},
		{path: "allowed", shard: "remote", want: []string{"local", "remote"}},
		{path: "hosts", shard: "hosts", want: []string{"local", "remote"}},
		{path: "escape", wantErr: []string{"is not in or below"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			sc.kube.CreateNamespace(t, tc.path)
			s := sc.gitSync(tc.path, "app", tc.path, time.Minute)
			if tc.shard != "" {
				s.Labels = map[string]string{reconcile.LabelShard: tc.shard}
			}
			sc.create(t, s)
			eventually(t, 60*time.Second, "the outcome", func() error {
				ready := condition(getSync(t, sc.c, tc.path, "app"), v1alpha1.ConditionReady)
				if tc.want != nil {
					if !strings.HasPrefix(ready, "True") {
						return fmt.Errorf("Ready %s", ready)
					}
					return nil
				}
				if !strings.HasPrefix(ready, "False/"+v1alpha1.ReasonRenderFailed) {
					return fmt.Errorf("Ready %s", ready)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(ready, w) {
						return fmt.Errorf("Ready %s, want it to say %q", ready, w)
					}
				}
				return nil
			})
			t.Logf("Ready %s", condition(getSync(t, sc.c, tc.path, "app"), v1alpha1.ConditionReady))
			for _, name := range []string{"local", "remote", "outside"} {
				err := sc.c.Get(ctx, client.ObjectKey{Namespace: tc.path, Name: name}, &corev1.ConfigMap{})
				applied := err == nil
				want := false
				for _, w := range tc.want {
					want = want || w == name
				}
				if applied != want || (err != nil && !apierrors.IsNotFound(err)) {
					t.Errorf("ConfigMap %s applied: %v, want %v (get: %v)", name, applied, want, err)
				}
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["/refused/cm.yaml"] != 0 || hits["/allowed/cm.yaml"] == 0 {
		t.Errorf("requests for the refused file: %d, for the allowed one: %d", hits["/refused/cm.yaml"], hits["/allowed/cm.yaml"])
	}
}
