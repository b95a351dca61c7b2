package reconcile

import (
	"github.com/fluxcd/pkg/ssa"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// helmTakeover is what is removed from an object installed by `helm
// install` when a Sync first applies it, so the Sync takes the release
// over instead of sharing it: the field manager "helm" (Helm 3 writes with
// update requests under that name), whose entries would otherwise keep
// fields the chart no longer renders, and the release annotations, so a
// later `helm upgrade` of the old release refuses these objects ("invalid
// ownership metadata") rather than silently changing them back. The
// chart's own labels (app.kubernetes.io/managed-by: Helm) are rendered by
// the chart and stay. The release's sh.helm.release.v1 Secrets are left
// to the user (docs/helm.md): they are not part of what the Sync renders.
var helmTakeover = ssa.ApplyCleanupOptions{
	FieldManagers: []ssa.FieldManager{
		{Name: "helm", ExactMatch: true, OperationType: metav1.ManagedFieldsOperationUpdate},
	},
	Annotations: []string{"meta.helm.sh/release-name", "meta.helm.sh/release-namespace"},
}
