package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/latchkey-dev/latchkey/render"
)

// isHelm says whether target renders as a Helm chart: only then do the
// cluster's capabilities matter.
func isHelm(target string, mode render.Mode) bool {
	if mode != render.Auto {
		return mode == render.Helm
	}
	fi, err := os.Stat(target)
	return err == nil && fi.IsDir() && render.Detect(os.DirFS(target)) == render.Helm
}

// helmCapabilities fills in what a chart sees as .Capabilities, as the
// controller does from the cluster: with --kubeconfig, from that cluster's
// discovery (--kube-version then overrides its version and --api-versions
// add to its APIs); else from --kube-version and --api-versions; else the
// default, with a warning, since a chart may then render API versions the
// target cluster does not serve.
func helmCapabilities(ctx context.Context, cmd *cobra.Command, fl renderFlags) (render.HelmOptions, error) {
	h := fl.helm
	if fl.kubeconfig != "" {
		loading := &clientcmd.ClientConfigLoadingRules{ExplicitPath: fl.kubeconfig}
		rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return h, fmt.Errorf("--kubeconfig %s: %w", fl.kubeconfig, err)
		}
		dc, err := discovery.NewDiscoveryClientForConfig(rc)
		if err != nil {
			return h, fmt.Errorf("--kubeconfig %s: %w", fl.kubeconfig, err)
		}
		caps, err := render.Discover(ctx, dc)
		if err != nil {
			return h, fmt.Errorf("reading Helm's capabilities from the cluster of --kubeconfig %s (or render without --kubeconfig, with --kube-version and --api-versions): %w", fl.kubeconfig, err)
		}
		if h.KubeVersion == "" {
			h.KubeVersion = caps.KubeVersion
		}
		h.APIVersions = append(caps.APIVersions, h.APIVersions...)
		return h, nil
	}
	if h.KubeVersion == "" {
		h.KubeVersion = render.DefaultKubeVersion()
		fmt.Fprintf(cmd.ErrOrStderr(), "latchkey: warning: rendering the chart for Kubernetes %s with only its built-in APIs: give --kubeconfig to render for a cluster, or --kube-version and --api-versions\n", h.KubeVersion)
	}
	return h, nil
}
