package render

import (
	"bytes"
	"fmt"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// ChartArchive is a packaged chart (.tgz) fetched by the caller (package
// chartrepo) for a render: a dependency missing from charts/, or the chart
// itself. It travels to the render worker in its request, and is unpacked
// there, under the worker's limits.
type ChartArchive struct {
	Name    string
	Version string `json:",omitempty"`
	Digest  string `json:",omitempty"` // "sha256:...", for messages
	Data    []byte
}

// loadArchive unpacks a ChartArchive.
func loadArchive(a ChartArchive) (*chart.Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(a.Data))
	if err != nil {
		return nil, fmt.Errorf("helm: loading chart %s %s (%s): %w", a.Name, a.Version, a.Digest, err)
	}
	return ch, nil
}

// addDependencies adds fetched dependencies to ch, as `helm dependency
// build` would have put them in charts/.
func addDependencies(ch *chart.Chart, deps []ChartArchive) error {
	for _, d := range deps {
		sub, err := loadArchive(d)
		if err != nil {
			return err
		}
		ch.AddDependency(sub)
	}
	return nil
}
