package render

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/ignore"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// renderHelm runs `helm template` in process: client only (no cluster is
// contacted), the chart and its vendored dependencies from the directory,
// values files then --set and --set-string on top.
func renderHelm(ctx context.Context, src source, o HelmOptions) (*Result, error) {
	var ch *chart.Chart
	var err error
	if o.Chart != nil {
		ch, err = loadArchive(*o.Chart)
	} else {
		ch, err = loadChart(src.fsys)
	}
	if err != nil {
		return nil, err
	}
	if err := addDependencies(ch, o.Dependencies); err != nil {
		return nil, err
	}
	if ch.Metadata != nil {
		if err := action.CheckDependencies(ch, ch.Metadata.Dependencies); err != nil {
			return nil, fmt.Errorf("helm chart %s: %w (run `helm dependency build` and commit charts/, or allow the repository's host with --allow-remote-hosts)", ch.Name(), err)
		}
	}
	vals, err := helmValues(src.valuesFS, o)
	if err != nil {
		return nil, err
	}

	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.DryRunOption = "client"
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = cmp.Or(o.ReleaseName, "release-name")
	install.Namespace = cmp.Or(o.Namespace, "default")
	install.IncludeCRDs = !o.SkipCRDs
	install.DisableHooks = o.SkipHooks
	install.APIVersions = chartutil.VersionSet(o.APIVersions)
	// Helm's own default is v1.20.0, older than any supported cluster.
	kubeVersion := cmp.Or(o.KubeVersion, DefaultKubeVersion())
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("helm: kube version %q (--kube-version): %w", kubeVersion, err)
	}
	install.KubeVersion = kv
	rel, err := install.RunWithContext(ctx, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("helm template %s: %w", ch.Name(), err)
	}

	res := &Result{Mode: Helm}
	if err := decodeHelm(res, ch.Name(), rel.Manifest); err != nil {
		return nil, err
	}
	if !o.SkipHooks {
		for _, h := range rel.Hooks {
			if isTestHook(h) {
				continue
			}
			if err := decodeHelm(res, ch.Name(), "# Source: "+h.Path+"\n"+h.Manifest); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

// decodeHelm decodes a rendered manifest stream, taking each document's file
// from the "# Source: chart/templates/x.yaml" comment Helm writes, made
// relative to the chart directory.
func decodeHelm(res *Result, chartName, manifest string) error {
	for _, d := range splitDocuments([]byte(manifest)) {
		file := "templates"
		for _, line := range strings.Split(string(d.data), "\n") {
			if p, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
				file = strings.TrimPrefix(p, chartName+"/")
				break
			}
		}
		if err := decodeDocument(res, file, document{data: d.data}); err != nil {
			return fmt.Errorf("helm chart %s rendered invalid YAML: %w", chartName, err)
		}
	}
	return nil
}

// loadChart loads the chart rooted at fsys, honouring .helmignore, the way
// `helm template DIR` loads a directory.
func loadChart(fsys fs.FS) (*chart.Chart, error) {
	rules := ignore.Empty()
	if data, err := fs.ReadFile(fsys, ignore.HelmIgnore); err == nil {
		r, err := ignore.Parse(strings.NewReader(string(data)))
		if err != nil {
			return nil, fmt.Errorf("helm: %s: %w", ignore.HelmIgnore, err)
		}
		rules = r
	}
	rules.AddDefaults()
	var files []*loader.BufferedFile
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if rules.Ignore(p, fi) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !fi.Mode().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: path.Clean(p), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("helm: loading the chart: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("helm: loading the chart: %w", err)
	}
	return ch, nil
}

// helmValues merges values files, inline values, --set and --set-string,
// in that order, as `helm template -f ... --set ...` does (later sources
// win, maps merge deeply).
func helmValues(r valuesReader, o HelmOptions) (map[string]any, error) {
	base := map[string]any{}
	for _, f := range o.ValuesFiles {
		data, err := r.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("helm: reading values file %s: %w", f, err)
		}
		var cur map[string]any
		if err := yaml.Unmarshal(data, &cur); err != nil {
			return nil, fmt.Errorf("helm: values file %s: %w", f, err)
		}
		base = mergeValues(base, cur)
	}
	if len(o.Values) > 0 {
		// A deep copy: --set below writes into nested maps of base, and the
		// caller's map (the Sync's spec) must stay as it is.
		base = mergeValues(base, copyValues(o.Values))
	}
	for _, s := range o.Set {
		if err := strvals.ParseInto(s, base); err != nil {
			return nil, fmt.Errorf("helm: --set %q: %w", s, err)
		}
	}
	for _, s := range o.SetString {
		if err := strvals.ParseIntoString(s, base); err != nil {
			return nil, fmt.Errorf("helm: --set-string %q: %w", s, err)
		}
	}
	return base, nil
}

func mergeValues(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(am, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func copyValues(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyValues(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}
