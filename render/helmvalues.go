package render

import (
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// The values of a render, merged outside it: a caller that resolves the
// references in them before templating (spec.render.helm.resolveValues)
// reads them here, resolves them in memory, and renders with the result as
// HelmOptions.Values and no values files or --set: the same values, in the
// same order, as the render would have merged itself.

// HelmValuesFS merges the values a Helm render of the chart at dir of fsys
// would use: the chart's own values.yaml (so references written there are
// resolved too), then o's values files (paths in fsys, as FS reads them),
// inline values, --set and --set-string.
func HelmValuesFS(fsys fs.FS, dir string, o HelmOptions) (map[string]any, error) {
	dir = path.Clean(strings.TrimPrefix(filepath.ToSlash(dir), "/"))
	return chartAndUserValues(fsValues{fsys}, path.Join(dir, "values.yaml"), o)
}

// HelmValuesDir is HelmValuesFS for a chart on disk, values files as paths.
func HelmValuesDir(dir string, o HelmOptions) (map[string]any, error) {
	return chartAndUserValues(osValues{}, filepath.Join(dir, "values.yaml"), o)
}

func chartAndUserValues(r valuesReader, chartValues string, o HelmOptions) (map[string]any, error) {
	if _, err := r.ReadFile(chartValues); err == nil {
		o.ValuesFiles = append([]string{chartValues}, o.ValuesFiles...)
	}
	return helmValues(r, o)
}

// WithValues returns o rendering with values alone: the files, inline
// values and --set expressions they were merged from are dropped.
func (o HelmOptions) WithValues(values map[string]any) HelmOptions {
	o.Values, o.ValuesFiles, o.Set, o.SetString = values, nil, nil, nil
	return o
}
