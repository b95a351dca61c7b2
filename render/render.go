package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Mode is how a directory is rendered.
type Mode string

const (
	// Auto detects the mode: a kustomization file means Kustomize, a
	// Chart.yaml means Helm, anything else plain YAML.
	Auto      Mode = ""
	Plain     Mode = "plain"
	Kustomize Mode = "kustomize"
	Helm      Mode = "helm"
)

// ParseMode reads a mode as written on a command line or in a spec.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case Auto, "auto":
		return Auto, nil
	case Plain, "yaml", "directory":
		return Plain, nil
	case Kustomize, Helm:
		return m, nil
	}
	return "", fmt.Errorf("unknown render mode %q: want auto, plain, kustomize or helm", s)
}

// Options configure a render.
type Options struct {
	Mode Mode
	Helm HelmOptions
	// NoRemoteBases refuses a kustomization that would load anything from
	// outside the rendered tree: a remote base or component (which
	// kustomize clones by running git) or a file by URL (which it fetches
	// over HTTP). The render fails before kustomize runs, with an error
	// that wraps ErrRemoteRefused and lists every such reference. Files
	// are always loaded under kustomize's LoadRestrictionsRootOnly.
	NoRemoteBases bool
	// RemoteHosts are the hosts a render may fetch from despite
	// NoRemoteBases: Kustomize remote bases and files on them are loaded,
	// others refused. Helm chart sources and dependencies are fetched by
	// the caller (render/chartrepo) under the same list.
	RemoteHosts Hosts
}

// HelmOptions are the `helm template` settings a Helm render uses.
type HelmOptions struct {
	// ReleaseName defaults to "release-name", as `helm template` does.
	ReleaseName string
	// Namespace is the release namespace (.Release.Namespace); default "default".
	Namespace string
	// ValuesFiles are merged in order over the chart's values.yaml. Dir reads
	// them as paths on disk; FS reads them from the fs.FS it renders.
	ValuesFiles []string
	// Values are merged over the values files (a Sync's
	// spec.render.helm.values), maps deeply, as one more -f would be. The
	// map is not modified.
	Values map[string]any
	// Set and SetString are --set and --set-string expressions, applied last.
	Set, SetString []string
	// KubeVersion (.Capabilities.KubeVersion; default DefaultKubeVersion)
	// and APIVersions (added to .Capabilities.APIVersions, which holds the
	// built-in kinds of this build's client-go) for charts that test them:
	// a Capabilities from Discover, or what the user says.
	KubeVersion string
	APIVersions []string
	// Chart, when set, is the chart to render (spec.source.helm: a chart
	// from a repository); the rendered directory then only provides values
	// files.
	Chart *ChartArchive `json:",omitempty"`
	// Dependencies are the chart's dependencies fetched from their
	// repositories because charts/ does not hold them.
	Dependencies []ChartArchive `json:",omitempty"`
	// SkipCRDs leaves out the chart's crds/ directory; SkipHooks its hooks.
	// Test hooks (helm.sh/hook: test) are never rendered.
	SkipCRDs, SkipHooks bool
}

// Source says where an object came from.
type Source struct {
	File string // relative to the rendered directory ("apps/web.yaml"); for Helm, the chart template
	Line int    // 1-based line of the object's document; 0 when unknown
}

func (s Source) String() string {
	if s.Line > 0 {
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return s.File
}

// Result is a rendered set of objects.
type Result struct {
	// Objects in render order: files in lexical order then document order
	// for plain YAML, Kustomize's and Helm's own order otherwise.
	Objects []*unstructured.Unstructured
	// Sources[i] is where Objects[i] came from.
	Sources []Source
	// Mode is the mode used (the detected one for Auto).
	Mode Mode
	// Dir is the rendered directory as the caller named it, prefixed to
	// sources by Origin.
	Dir string
	// Skipped are YAML documents of a plain directory that are not
	// Kubernetes objects (config files living next to the manifests).
	Skipped []Skipped
}

// Skipped is a YAML document that was not rendered, and why.
type Skipped struct {
	Source Source
	Reason string
}

// Origin names where object i came from, for messages: "dir/file.yaml:12".
// It has the signature resolver.Resolve takes.
func (r *Result) Origin(i int) string {
	if i < 0 || i >= len(r.Sources) {
		return ""
	}
	s := r.Sources[i]
	if s.File == "" {
		return r.Dir
	}
	if r.Dir != "" && r.Dir != "." && s.File != "<stdin>" {
		s.File = path.Join(filepath.ToSlash(r.Dir), s.File)
	}
	return s.String()
}

func (r *Result) add(obj *unstructured.Unstructured, src Source) {
	r.Objects = append(r.Objects, obj)
	r.Sources = append(r.Sources, src)
}

// ErrNoManifests is returned when a plain directory holds no YAML or JSON
// file at all (as opposed to files that hold no object).
var ErrNoManifests = errors.New("no YAML or JSON files found")

// Dir renders the directory dir on disk.
func Dir(ctx context.Context, dir string, opts Options) (*Result, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", dir, err)
	}
	if !fi.IsDir() {
		// A single file renders as plain YAML.
		data, err := os.ReadFile(dir)
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %w", dir, err)
		}
		res := &Result{Mode: Plain}
		if err := decodeFile(res, filepath.Base(dir), data); err != nil {
			return nil, err
		}
		res.Dir = filepath.Dir(dir)
		return res, nil
	}
	src := source{fsys: os.DirFS(dir), kfs: filesys.MakeFsOnDisk(), kdir: dir, valuesFS: osValues{}}
	res, err := render(ctx, src, opts)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", dir, err)
	}
	res.Dir = dir
	return res, nil
}

// FS renders the directory dir of fsys (a Git snapshot, for the controller).
// Kustomize may reach outside dir (../base), so it sees all of fsys.
func FS(ctx context.Context, fsys fs.FS, dir string, opts Options) (*Result, error) {
	dir = path.Clean(strings.TrimPrefix(filepath.ToSlash(dir), "/"))
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", dir, err)
	}
	src := source{fsys: sub, whole: fsys, kdir: dir, valuesFS: fsValues{fsys}}
	res, err := render(ctx, src, opts)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", dir, err)
	}
	res.Dir = dir
	return res, nil
}

// source is a directory to render, seen the ways the three modes need it.
type source struct {
	fsys fs.FS // the directory itself
	// Kustomize works on a filesys.FileSystem: the disk (kfs), or an
	// in-memory copy of whole made when needed; kdir is the directory in it.
	kfs      filesys.FileSystem
	whole    fs.FS
	kdir     string
	valuesFS valuesReader
}

func render(ctx context.Context, src source, opts Options) (*Result, error) {
	mode := opts.Mode
	if opts.Helm.Chart != nil {
		mode = Helm // the chart came from a repository; the directory holds values
	}
	if mode == Auto {
		mode = Detect(src.fsys)
	}
	switch mode {
	case Plain:
		return renderPlain(ctx, src.fsys)
	case Kustomize:
		return renderKustomize(ctx, src, opts.NoRemoteBases, opts.RemoteHosts)
	case Helm:
		return renderHelm(ctx, src, opts.Helm)
	}
	return nil, fmt.Errorf("unknown render mode %q", mode)
}

// kustomizationFiles are the names kustomize accepts, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Detect is the mode Auto picks for the directory fsys: Kustomize when it
// holds a kustomization file, Helm when it holds a Chart.yaml, else Plain.
// Callers that treat modes differently (the controller renders Helm and
// Kustomize in a sandboxed process) decide with it before rendering.
func Detect(fsys fs.FS) Mode {
	for _, name := range kustomizationFiles {
		if fileExists(fsys, name) {
			return Kustomize
		}
	}
	if fileExists(fsys, "Chart.yaml") {
		return Helm
	}
	return Plain
}

func fileExists(fsys fs.FS, name string) bool {
	fi, err := fs.Stat(fsys, name)
	return err == nil && !fi.IsDir()
}

// valuesReader reads Helm values files: from disk for Dir, from the fs.FS
// for FS.
type valuesReader interface {
	ReadFile(name string) ([]byte, error)
}

type osValues struct{}

func (osValues) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

type fsValues struct{ fsys fs.FS }

func (f fsValues) ReadFile(name string) ([]byte, error) {
	return fs.ReadFile(f.fsys, path.Clean(strings.TrimPrefix(filepath.ToSlash(name), "/")))
}
