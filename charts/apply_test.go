package charts

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// testFieldManager owns what the tests apply.
const testFieldManager = "latchkey-chart-test"

// serviceMonitorCRD is the reduced Prometheus Operator CRD the
// ServiceMonitor of the chart is checked against.
func serviceMonitorCRD(t testing.TB) testenv.KubeOption {
	return testenv.WithCRDPaths(filepath.Join(testenv.ModuleRoot(t), "charts", "testdata", "servicemonitor-crd.yaml"))
}

// TestRenderedObjectsApplyServerSide applies every object the chart renders,
// for every point of the values matrix, to a real kube-apiserver with
// server-side apply and strict field validation: the API server's own schemas
// judge the chart, so an unknown or misplaced field fails here.
func TestRenderedObjectsApplyServerSide(t *testing.T) {
	if testing.Short() {
		t.Skip("needs kube-apiserver")
	}
	t.Parallel() // its control plane is its own
	k := testenv.StartKube(t, serviceMonitorCRD(t))
	dyn := dynamicClient(t, k)
	k.CreateNamespace(t, releaseNamespace)
	for _, tc := range valuesMatrix {
		t.Run(tc.name, func(t *testing.T) {
			for _, ns := range tc.namespaces {
				k.CreateNamespace(t, ns)
			}
			r, err := renderChart(t, tc.name, releaseNamespace, parseValues(t, tc.values))
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			for _, o := range r.objects {
				if err := applyStrict(context.Background(), k, dyn, o); err != nil {
					t.Errorf("%s %s/%s rejected by the API server: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
				}
			}
		})
	}
}

// applyStrict server-side applies o and rejects unknown or duplicate fields
// instead of dropping them.
func applyStrict(ctx context.Context, k *testenv.Kube, dyn dynamic.Interface, o *unstructured.Unstructured) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	gvk := o.GroupVersionKind()
	mapping, err := k.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	data, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	force := true
	_, err = dyn.Resource(mapping.Resource).Namespace(o.GetNamespace()).Patch(ctx, o.GetName(), types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: testFieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict})
	return err
}

func dynamicClient(t testing.TB, k *testenv.Kube) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}
