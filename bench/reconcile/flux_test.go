package reconcile

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// FluxVersion is the release of source-controller and kustomize-controller
// the benchmark compares against, from the one table of tool versions
// (tools/install.sh flux builds it).
const FluxVersion = components.FluxVersion

var (
	gitRepositoryGVK = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}
	kustomizationGVK = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
)

// fluxBinaries are the two controllers and their CRDs, built by
// `tools/install.sh flux` (never by `make tools`: no test needs them).
type fluxBinaries struct {
	source, kustomize string
	crds              []string
}

// findFlux returns the built Flux controllers, or why they are not there.
func findFlux() (*fluxBinaries, error) {
	source, err := testenv.FindTool("source-controller", FluxVersion)
	if err != nil {
		return nil, fmt.Errorf("flux source-controller %s is not built at %s", FluxVersion, source)
	}
	kustomize, err := testenv.FindTool("kustomize-controller", FluxVersion)
	if err != nil {
		return nil, fmt.Errorf("flux kustomize-controller %s is not built at %s", FluxVersion, kustomize)
	}
	return &fluxBinaries{source: source, kustomize: kustomize,
		crds: []string{filepath.Join(filepath.Dir(source), "crds"), filepath.Join(filepath.Dir(kustomize), "crds")}}, nil
}

// fluxContender runs source-controller and kustomize-controller with the same
// concurrency and client rate limits as Latchkey (Flux's defaults, 2 and 4
// workers at 50 requests/s, would measure its throttle), and a GitRepository
// plus a Kustomization per namespace that applies, prunes and impersonates
// the namespace's ServiceAccount as Latchkey's Sync does.
func fluxContender(s *stack, bins *fluxBinaries) contender {
	c := contender{name: "flux " + FluxVersion, prefix: "flux",
		users: []string{controllerUser("source-controller"), controllerUser("kustomize-controller")}}
	list := func(gvk schema.GroupVersionKind) *unstructured.UnstructuredList {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		return l
	}
	c.finalized = []client.ObjectList{list(kustomizationGVK), list(gitRepositoryGVK)}
	c.start = func(b *testing.B) []*process {
		s.kube.CreateNamespace(b, "flux-system")
		common := func(name string) ([]string, []string) {
			args := []string{"--metrics-addr", testenv.FreeLoopbackAddr(b), "--health-addr", testenv.FreeLoopbackAddr(b),
				"--events-addr", "", "--concurrent", strconv.Itoa(*concurrency), "--log-level", "error",
				"--kube-api-qps", strconv.Itoa(*kubeQPS), "--kube-api-burst", strconv.Itoa(*kubeBurst)}
			env := []string{"KUBECONFIG=" + controllerKubeconfig(b, s.kube, name), "RUNTIME_NAMESPACE=flux-system"}
			return args, env
		}
		storage := testenv.FreeLoopbackAddr(b)
		srcArgs, srcEnv := common("source-controller")
		srcArgs = append(srcArgs, "--storage-path", b.TempDir(), "--storage-addr", storage, "--storage-adv-addr", storage)
		kusArgs, kusEnv := common("kustomize-controller")
		return []*process{
			startProcess(b, "source-controller", bins.source, srcArgs, srcEnv),
			startProcess(b, "kustomize-controller", bins.kustomize, kusArgs, kusEnv),
		}
	}
	c.create = func(ctx context.Context, cl client.Client, ns string) error {
		repo := &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"namespace": ns, "name": "app"},
			"spec": map[string]any{
				"url": s.repoURL, "interval": interval.String(), "ref": map[string]any{"branch": "main"},
			},
		}}
		repo.SetGroupVersionKind(gitRepositoryGVK)
		if err := cl.Create(ctx, repo); err != nil {
			return err
		}
		ks := &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"namespace": ns, "name": "app"},
			"spec": map[string]any{
				"interval": interval.String(), "path": "./app", "prune": true, "targetNamespace": ns,
				"serviceAccountName": tenantServiceAccount,
				"sourceRef":          map[string]any{"kind": "GitRepository", "name": "app"},
			},
		}}
		ks.SetGroupVersionKind(kustomizationGVK)
		return cl.Create(ctx, ks)
	}
	c.ready = func(ctx context.Context, cl client.Client) (int, error) {
		l := list(kustomizationGVK)
		if err := cl.List(ctx, l); err != nil {
			return 0, err
		}
		ready := 0
		for _, k := range l.Items {
			if strings.HasPrefix(k.GetNamespace(), c.prefix+"-") && conditionTrue(k, "Ready") {
				ready++
			}
		}
		return ready, nil
	}
	return c
}

func conditionTrue(u unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			return m["status"] == "True"
		}
	}
	return false
}
