package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

// TestRenderBombsFailOnlyTheirSync: a chart that renders
// `{{ repeat 300000000 "A" }}` (5.2 GB in process) and one that loops
// forever are stopped by the render limits, each Sync Ready=False with
// reason RenderLimitExceeded naming the limit, while the controller, which
// renders them in worker processes, stays up and small, and a kustomization
// beside them in the same repository is applied, revision after revision.
func TestRenderBombsFailOnlyTheirSync(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "bombs", alone())
	good := func(value string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: " + value + "\n"
	}
	chart := func(name, template string) map[string]string {
		return map[string]string{
			name + "/Chart.yaml":        "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n",
			name + "/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  a: " + template + "\n",
		}
	}
	files := map[string]string{
		"good/kustomization.yaml": "resources:\n- cm.yaml\n",
		"good/cm.yaml":            good("one"),
	}
	for k, v := range chart("bomb", `{{ repeat 300000000 "A" }}`) {
		files[k] = v
	}
	for k, v := range chart("loop", `"{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}"`) {
		files[k] = v
	}
	sc.repo.Commit(t, "a good kustomization and two bombs", files)
	startShardController(t, sc.kube, nil, "", func(o *reconcile.Options) {
		o.RenderSandbox = sandbox.Config{Limits: sandbox.Limits{Memory: 256 << 20, CPU: 2 * time.Second, Timeout: time.Minute}}
	})
	for _, ns := range []string{"team-a", "team-b"} {
		sc.kube.CreateNamespace(t, ns)
	}
	before := testenv.PeakRSS(t, os.Getpid())
	sc.create(t,
		sc.gitSync("team-a", "bomb", "bomb", time.Hour),
		sc.gitSync("team-a", "loop", "loop", time.Hour),
		sc.gitSync("team-b", "good", "good", time.Second),
	)

	failsWith := func(name, limit string) {
		t.Helper()
		eventually(t, 60*time.Second, name+" refused", func() error {
			ready := condition(getSync(t, sc.c, "team-a", name), v1alpha1.ConditionReady)
			if !strings.HasPrefix(ready, "False/"+v1alpha1.ReasonRenderLimitExceeded+": ") || !strings.Contains(ready, limit) {
				return fmt.Errorf("Ready %s", ready)
			}
			return nil
		})
	}
	failsWith("bomb", "rendering exceeded the render memory limit of 256Mi")
	failsWith("loop", "rendering exceeded the render CPU limit of 2s")
	value := func() string {
		var cm corev1.ConfigMap
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-b", Name: "settings"}, &cm); err != nil {
			return err.Error()
		}
		return cm.Data["value"]
	}
	eventually(t, 60*time.Second, "the good Sync applied", func() error {
		if v := value(); v != "one" {
			return fmt.Errorf("ConfigMap value %q; Ready %s", v, condition(getSync(t, sc.c, "team-b", "good"), v1alpha1.ConditionReady))
		}
		return nil
	})

	// The controller still reconciles: a new revision of the good path is
	// applied after the bombs went off.
	rev := sc.repo.Commit(t, "next", map[string]string{"good/cm.yaml": good("two")})
	sc.waitApplied(t, "the next revision", "team-b", "good", rev)
	if v := value(); v != "two" {
		t.Errorf("ConfigMap value %q after the next revision", v)
	}
	for _, name := range []string{"bomb", "loop"} {
		if s := getSync(t, sc.c, "team-a", name); s.Status.LastAppliedRevision != "" {
			t.Errorf("Sync %s applied revision %s", name, s.Status.LastAppliedRevision)
		}
	}
	after := testenv.PeakRSS(t, os.Getpid())
	t.Logf("controller (test process) peak RSS: %d MiB before the Syncs, %d MiB after", before>>20, after>>20)
	if grew := after - before; grew > 128<<20 {
		t.Errorf("the controller's peak RSS grew by %d MiB while rendering the bombs", grew>>20)
	}
}
