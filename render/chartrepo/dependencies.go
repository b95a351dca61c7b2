package chartrepo

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/render"
)

// Dependencies fetches the dependencies the chart at dir of fsys declares
// in its Chart.yaml and does not vendor in charts/, at the versions its
// Chart.lock pins (else the newest its Chart.yaml's range allows). A chart
// with every dependency vendored, or with none, fetches nothing.
func (f *Fetcher) Dependencies(ctx context.Context, fsys fs.FS, dir string) ([]render.ChartArchive, error) {
	dir = path.Clean(strings.TrimPrefix(dir, "/"))
	data, err := fs.ReadFile(fsys, path.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, nil // not a chart here: the render says so
	}
	var meta chart.Metadata
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return nil, nil // the render reports it in Helm's words
	}
	if len(meta.Dependencies) == 0 {
		return nil, nil
	}
	locked := map[string]*chart.Dependency{}
	if data, err := fs.ReadFile(fsys, path.Join(dir, "Chart.lock")); err == nil {
		var lock chart.Lock
		if err := yaml.Unmarshal(data, &lock); err != nil {
			return nil, fmt.Errorf("helm chart %s: Chart.lock: %w", meta.Name, err)
		}
		for _, d := range lock.Dependencies {
			if d != nil {
				locked[d.Name] = d
			}
		}
	}
	vendored := vendoredCharts(fsys, path.Join(dir, "charts"))
	var out []render.ChartArchive
	for _, d := range meta.Dependencies {
		if d == nil || vendored(d.Name) || d.Repository == "" || strings.HasPrefix(d.Repository, "file://") {
			continue // vendored, or local: the render checks it is there
		}
		version := d.Version
		if l, ok := locked[d.Name]; ok && l.Repository == d.Repository && l.Version != "" {
			version = l.Version // Chart.lock pins it
		}
		a, err := f.Chart(ctx, d.Repository, d.Name, version, "")
		if err != nil {
			return nil, fmt.Errorf("helm chart %s: dependency %s: %w", meta.Name, d.Name, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// vendoredCharts names the charts in charts/: directories by the name
// their Chart.yaml gives, archives by their file name (name-version.tgz,
// as helm dependency build writes them: an archive is attacker input, and
// is unpacked only in the render worker).
func vendoredCharts(fsys fs.FS, dir string) func(name string) bool {
	dirs := map[string]bool{}
	var archives []string
	entries, _ := fs.ReadDir(fsys, dir)
	for _, e := range entries {
		p := path.Join(dir, e.Name())
		switch {
		case e.IsDir():
			if data, err := fs.ReadFile(fsys, path.Join(p, "Chart.yaml")); err == nil {
				var m chart.Metadata
				if yaml.Unmarshal(data, &m) == nil && m.Name != "" {
					dirs[m.Name] = true
				}
			}
		case strings.HasSuffix(e.Name(), ".tgz"):
			archives = append(archives, e.Name())
		}
	}
	return func(name string) bool {
		if dirs[name] {
			return true
		}
		for _, a := range archives {
			if v, ok := strings.CutPrefix(a, name+"-"); ok && v != "" && v[0] >= '0' && v[0] <= '9' {
				return true
			}
		}
		return false
	}
}
