package render

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// ErrRemoteRefused is wrapped by the error of a Kustomize render that would
// load a remote base or file while Options.NoRemoteBases is set.
var ErrRemoteRefused = errors.New("remote kustomize bases and resources are refused")

// refuseRemote returns an error naming every remote reference of the
// kustomization at dir and of the local kustomizations it reaches, before
// kustomize runs: kustomize fetches a remote file over HTTP and clones a
// remote base by running git, as soon as it meets one, and offers no hook
// to stop it. Anything kustomize would treat as remote is refused, plus a
// few spellings it would reject anyway; the rest is left to kustomize.
func refuseRemote(fsys filesys.FileSystem, dir string, allow Hosts) error {
	s := &remoteScan{fs: fsys, root: dir, seen: map[string]bool{}, allow: allow}
	s.kustomization(dir, false)
	if len(s.found) == 0 {
		return nil
	}
	return fmt.Errorf("%w (vendor them into the repository, or allow their hosts with --allow-remote-hosts):\n  %s", ErrRemoteRefused, strings.Join(s.found, "\n  "))
}

// remoteScan walks kustomizations as kustomize would load them.
type remoteScan struct {
	fs    filesys.FileSystem
	root  string
	seen  map[string]bool
	found []string
	allow Hosts // hosts remote references may name
}

// refused says whether ref is remote and its host not allowed.
func (s *remoteScan) refused(ref string) bool {
	if !isRemote(ref) {
		return false
	}
	h := hostOf(ref)
	return h == "" || !s.allow.Allows(h)
}

// kustomization scans the kustomization file of dir. configs says its
// resources are generator or transformer configurations (it is listed in
// generators, transformers or validators), whose fields name files too.
func (s *remoteScan) kustomization(dir string, configs bool) {
	key := fmt.Sprintf("%s\x00%t", dir, configs)
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	file, data := s.kustomizationFile(dir)
	if file == "" {
		return // not a kustomization: kustomize says so
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return // kustomize reports it, with its own words
	}
	k.FixKustomization() // bases into resources, env into envs, ...
	in := s.name(file)
	check := func(field, ref string) bool {
		if !isRemote(ref) {
			return false
		}
		if !s.refused(ref) {
			return true // remote, allowed: kustomize fetches it
		}
		s.found = append(s.found, fmt.Sprintf("%s: %s: %s", in, field, strings.TrimSpace(ref)))
		return true
	}

	for _, r := range k.Resources {
		if !check("resources", r) {
			s.local(dir, r, configs)
		}
	}
	for _, c := range k.Components {
		if !check("components", c) {
			s.local(dir, c, configs)
		}
	}
	for _, f := range k.Crds {
		check("crds", f)
	}
	for _, f := range k.Configurations {
		check("configurations", f)
	}
	check("openapi.path", k.OpenAPI["path"])
	//lint:ignore SA1019 deprecated, and still loaded by kustomize
	for _, p := range k.PatchesStrategicMerge {
		if !isInline(string(p)) {
			check("patchesStrategicMerge", string(p))
		}
	}
	for _, p := range k.Patches {
		check("patches.path", p.Path)
	}
	//lint:ignore SA1019 deprecated, and still loaded by kustomize
	for _, p := range k.PatchesJson6902 {
		check("patchesJson6902.path", p.Path)
	}
	for _, r := range k.Replacements {
		check("replacements.path", r.Path)
	}
	kv := func(field string, src types.KvPairSources) {
		for _, f := range src.FileSources {
			check(field+".files", f)
		}
		for _, f := range src.EnvSources {
			check(field+".envs", f)
		}
	}
	for _, g := range k.ConfigMapGenerator {
		kv("configMapGenerator", g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		kv("secretGenerator", g.KvPairSources)
	}
	for _, h := range k.HelmCharts {
		check("helmCharts.repo", h.Repo)
		check("helmCharts.valuesFile", h.ValuesFile)
		for _, f := range h.AdditionalValuesFiles {
			check("helmCharts.additionalValuesFiles", f)
		}
	}
	for _, plugins := range []struct {
		field   string
		entries []string
	}{{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators}} {
		for _, e := range plugins.entries {
			if isInline(e) {
				s.configs(in, plugins.field, []byte(e))
			} else if !check(plugins.field, e) {
				s.local(dir, e, true)
			}
		}
	}
}

// local follows a local entry: a directory is a kustomization to scan, a
// file listed as a configuration is scanned for the files it names.
func (s *remoteScan) local(dir, entry string, configs bool) {
	p := filepath.Join(dir, entry)
	switch {
	case s.fs.IsDir(p):
		s.kustomization(p, configs)
	case configs && s.fs.Exists(p):
		if data, err := s.fs.ReadFile(p); err == nil {
			s.configs(s.name(p), "", data)
		}
	}
}

// configFields are the fields of kustomize's builtin generator and
// transformer configurations (PatchTransformer, ReplacementTransformer,
// ConfigMapGenerator, HelmChartInflationGenerator, ...) that name a file or
// a repository.
var configFields = []string{
	"path", "paths", "targetFilePath", "files", "envs", "env",
	"valuesFile", "additionalValuesFiles", "repo", "chartRepoUrl",
}

// configs scans generator or transformer configurations (YAML documents).
func (s *remoteScan) configs(in, field string, data []byte) {
	for _, d := range splitDocuments(data) {
		var doc map[string]any
		if err := yaml.Unmarshal(d.data, &doc); err != nil || doc == nil {
			continue // kustomize reports it
		}
		kind, _ := doc["kind"].(string)
		where := in
		if field != "" {
			where += ": " + field
		}
		if kind != "" {
			where += ": " + kind
		}
		check := func(f string, v any) {
			if ref, ok := v.(string); ok && s.refused(ref) {
				s.found = append(s.found, fmt.Sprintf("%s.%s: %s", where, f, strings.TrimSpace(ref)))
			}
		}
		for _, f := range configFields {
			switch v := doc[f].(type) {
			case []any:
				for _, e := range v {
					check(f, e)
				}
			default:
				check(f, v)
			}
		}
		if rs, ok := doc["replacements"].([]any); ok {
			for _, r := range rs {
				if m, ok := r.(map[string]any); ok {
					check("replacements.path", m["path"])
				}
			}
		}
	}
}

func (s *remoteScan) kustomizationFile(dir string) (string, []byte) {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, n)
		if s.fs.Exists(p) && !s.fs.IsDir(p) {
			data, err := s.fs.ReadFile(p)
			if err != nil {
				return "", nil
			}
			return p, data
		}
	}
	return "", nil
}

// name is p relative to the rendered directory, for messages.
func (s *remoteScan) name(p string) string {
	if rel, err := filepath.Rel(s.root, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

// scpUser is the "git@" of an scp-like Git URL (git@host:org/repo).
var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote says whether kustomize could fetch ref from outside the
// repository: any URL (http, https, ssh, file, ...), an scp-like address,
// or github.com/org/repo, with or without the git:: prefix kustomize strips.
func isRemote(ref string) bool {
	ref = strings.TrimSpace(ref)
	if len(ref) >= 5 && strings.EqualFold(ref[:5], "git::") {
		ref = ref[5:]
	}
	l := strings.ToLower(ref)
	return strings.Contains(l, "://") || scpUser.MatchString(ref) ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:")
}

// isInline says whether a patch, generator or transformer entry is YAML
// written in the kustomization rather than a path.
func isInline(entry string) bool {
	e := strings.TrimSpace(entry)
	return strings.Contains(e, "\n") || strings.HasPrefix(e, "{")
}
