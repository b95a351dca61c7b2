package render

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// renderKustomize runs `kustomize build` in process: no plugins (they would
// execute code from the repository), remote bases and files only when
// allowed, files only from inside the kustomization's root and its bases
// (LoadRestrictionsRootOnly: a kustomization cannot read ../secret.yaml,
// only build ../base), and the kustomization's own sort order (legacy by
// default, as `kustomize build`). A Git snapshot is built in an in-memory
// copy whose root is the repository's, so no path leads out of it.
func renderKustomize(ctx context.Context, src source, noRemote bool, allow Hosts) (*Result, error) {
	kfs, dir := src.kfs, src.kdir
	if kfs == nil {
		var err error
		if kfs, err = memoryCopy(ctx, src.whole); err != nil {
			return nil, err
		}
		dir = "/" + dir
	}
	if noRemote {
		if err := refuseRemote(kfs, dir, allow); err != nil {
			return nil, fmt.Errorf("kustomize build: %w", err)
		}
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	m, err := krusty.MakeKustomizer(opts).Run(kfs, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build: %w", err)
	}
	res := &Result{Mode: Kustomize}
	for _, r := range m.Resources() {
		// Through JSON, so numbers are int64 as in every unstructured object.
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("kustomize build: %s: %w", r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("kustomize build: %s: %w", r.CurId(), err)
		}
		res.add(u, Source{File: kustomizeOrigin(&r.RNode)})
	}
	return res, nil
}

// kustomizeOrigin is the file a resource came from when the kustomization
// asks for origin annotations (buildMetadata: [originAnnotations]), else the
// kustomization itself.
func kustomizeOrigin(n *kyaml.RNode) string {
	if o := n.GetAnnotations()["config.kubernetes.io/origin"]; o != "" {
		for _, line := range strings.Split(o, "\n") {
			if p, ok := strings.CutPrefix(line, "path: "); ok {
				return strings.TrimSpace(p)
			}
		}
	}
	return "kustomization.yaml"
}

// memoryCopy copies fsys into kustomize's in-memory file system, so a Git
// snapshot held as an fs.FS can be built without touching the disk.
func memoryCopy(ctx context.Context, fsys fs.FS) (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && d.Name() == ".git" {
				return fs.SkipDir
			}
			return mem.MkdirAll(path.Join("/", p))
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/", p), data)
	})
	if err != nil {
		return nil, fmt.Errorf("loading the snapshot for kustomize: %w", err)
	}
	return mem, nil
}
