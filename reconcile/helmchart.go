package reconcile

import (
	"context"
	"fmt"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/source"
	"github.com/latchkey-dev/latchkey/render"
)

// remoteHosts is the allowlist of hosts renders may fetch from.
func remoteHosts(o Options) render.Hosts {
	if o.AllowRemoteBases {
		return render.Hosts{"*"}
	}
	return render.Hosts(o.RemoteHosts)
}

// helmCharts fetches what a Helm render needs from chart repositories: the
// chart of spec.source.helm, and the dependencies the chart (from Git or
// the repository) does not vendor. Only hosts the controller allows are
// contacted; anything else fails the Sync naming the host.
func (r *Reconciler) helmCharts(ctx context.Context, s *v1alpha1.Sync, snap *source.Snapshot, opts *render.Options) error {
	if h := s.Spec.Source.Helm; h != nil {
		a, err := r.charts.Chart(ctx, h.Repository, h.Chart, h.Version, h.Digest)
		if err != nil {
			return fmt.Errorf("spec.source.helm: %w", err)
		}
		opts.Helm.Chart = &a
		// A packaged chart carries its dependencies in charts/ (helm
		// package vendors them).
		return nil
	}
	deps, err := r.charts.Dependencies(ctx, snap.FS(), s.Spec.Source.Path)
	if err != nil {
		return err
	}
	opts.Helm.Dependencies = deps
	return nil
}
