package render

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
)

// Capabilities are what a chart sees as .Capabilities: the cluster's
// Kubernetes version and the API versions it serves. A chart picks API
// versions by them (bitnami's common library, `kubeVersion:` in Chart.yaml,
// `.Capabilities.APIVersions.Has "monitoring.coreos.com/v1"`), so rendering
// against the wrong ones applies objects the cluster refuses, or leaves out
// objects it would take.
type Capabilities struct {
	// KubeVersion is the server's version ("v1.37.2").
	KubeVersion string
	// APIVersions are "group/version" and "group/version/Kind" for every
	// resource the server serves, as `helm install` sends them.
	APIVersions []string
}

// fallbackKubeVersion is the version assumed when the build says nothing
// about client-go (a binary built without module information).
const fallbackKubeVersion = "v1.37.0"

// DefaultKubeVersion is the Kubernetes version a render assumes when it is
// told none: the one of the client-go this binary is built with (v0.37.2 →
// v1.37.2), a current release, where Helm's own default is v1.20.0 and
// refuses every chart that declares `kubeVersion: >=1.29.0-0`.
func DefaultKubeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fallbackKubeVersion
	}
	for _, d := range bi.Deps {
		if d.Path != "k8s.io/client-go" {
			continue
		}
		v, err := version.ParseSemantic(d.Version)
		if err != nil || v.Major() != 0 || v.Minor() == 0 {
			break
		}
		return fmt.Sprintf("v1.%d.%d", v.Minor(), v.Patch())
	}
	return fallbackKubeVersion
}

// Discover reads the capabilities of the server dc talks to, as Helm's
// install does: the server's version and every group/version (and
// group/version/Kind) of its discovery documents. A group that fails
// discovery (an aggregated API whose backend is down) is left out, not
// fatal, as Helm leaves it out.
func Discover(ctx context.Context, dc discovery.DiscoveryInterface) (Capabilities, error) {
	if err := ctx.Err(); err != nil {
		return Capabilities{}, err
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return Capabilities{}, fmt.Errorf("reading the Kubernetes version by discovery: %w", err)
	}
	set, err := action.GetVersionSet(dc)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return Capabilities{}, fmt.Errorf("reading the served API versions by discovery: %w", err)
	}
	apis := make([]string, 0, len(set))
	for _, v := range set {
		if v != "" {
			apis = append(apis, v)
		}
	}
	sort.Strings(apis)
	return Capabilities{KubeVersion: gitVersion(info.GitVersion), APIVersions: apis}, nil
}

// gitVersion is the server's version as it reports it ("v1.37.2+k3s1" and
// "v1.37.2-eks-1234" parse as they are); a server that reports none gets
// the default.
func gitVersion(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultKubeVersion()
	}
	return v
}
