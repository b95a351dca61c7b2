package scanner

import (
	"fmt"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/scanner/manifest"
)

// kustomization checks secretGenerator (and configMapGenerator) entries:
// literals inline, and the env and files they point to, which become Secret
// data verbatim.
func (f *fileScan) kustomization(root *yaml.Node) {
	for _, gen := range []struct {
		field  string
		secret bool
	}{{"secretGenerator", true}, {"configMapGenerator", false}} {
		list := manifest.Get(root, gen.field)
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for _, g := range list.Content {
			name := manifest.Scalar(manifest.Get(g, "name"))
			if lits := manifest.Get(g, "literals"); lits != nil && lits.Kind == yaml.SequenceNode {
				for _, l := range lits.Content {
					f.literal(l, name, gen.secret)
				}
			}
			var envs []*yaml.Node
			if e := manifest.Get(g, "env"); e != nil && e.Kind == yaml.ScalarNode {
				envs = append(envs, e)
			}
			if e := manifest.Get(g, "envs"); e != nil && e.Kind == yaml.SequenceNode {
				envs = append(envs, e.Content...)
			}
			for _, e := range envs {
				f.generatorFile(e.Value, "", name, gen.secret, true)
			}
			if files := manifest.Get(g, "files"); files != nil && files.Kind == yaml.SequenceNode && gen.secret {
				for _, fl := range files.Content {
					key, p, ok := strings.Cut(fl.Value, "=")
					if !ok {
						key, p = path.Base(fl.Value), fl.Value
					}
					f.generatorFile(p, key, name, gen.secret, false)
				}
			}
		}
	}
}

// literal checks one "KEY=VALUE" generator literal, reporting the position of
// VALUE itself.
func (f *fileScan) literal(l *yaml.Node, name string, secret bool) {
	if l.Kind != yaml.ScalarNode {
		return
	}
	key, value, ok := strings.Cut(l.Value, "=")
	if !ok {
		return
	}
	// A configMapGenerator literal is ConfigMap data, judged as ConfigMap
	// data is; a secretGenerator literal is Secret data.
	at := atKey
	if secret {
		at = inSecretData
	}
	if judge(key, value, at) == notSecret {
		return
	}
	line, col := f.valuePos(l)
	if !strings.Contains(l.Value, "\n") {
		col += utf8Len(key) + 1
	}
	what := "secretGenerator"
	c := checkKustomize
	if !secret {
		what, c = "configMapGenerator", checkConfigMap
	}
	f.report(finding{
		check: c,
		why:   fmt.Sprintf("%s %q literal %s is plaintext", what, name, key),
		line:  line, col: col, keyLine: l.Line, secret: value, object: name, key: key,
	})
}

// generatorFile scans a file a generator reads: env files as assignments
// (every non-public name counts in a secretGenerator), other files as one
// value. Findings are reported against that file.
func (f *fileScan) generatorFile(rel, key, name string, secret, env bool) {
	if f.file.Sibling == nil || rel == "" || path.IsAbs(rel) {
		return
	}
	target := path.Clean(path.Join(path.Dir(f.file.Path), rel))
	if strings.HasPrefix(target, "../") || target == ".." {
		return
	}
	data, err := f.file.Sibling(target)
	if err != nil || isBinary(data) {
		return
	}
	other := &fileScan{sc: f.sc, file: &File{Path: target, Commit: f.file.Commit}, data: data}
	value := strings.TrimRight(string(data), "\r\n")
	switch {
	case env:
		other.scanLines(0, len(data), lineContext{check: checkKustomize, secretContext: secret})
	case strings.Contains(value, "PRIVATE KEY-----"), strings.HasPrefix(value, "-----BEGIN "):
		// Private keys are reported by their rule where they are; certificates are public.
	case strings.Contains(value, "\n"):
		// A configuration file (JSON credentials, a properties file): its
		// secret-named assignments are the findings.
		other.scanLines(0, len(data), lineContext{check: checkKustomize})
	default:
		if judge(key, value, inSecretData) != notSecret {
			other.report(finding{
				check: checkKustomize,
				why:   fmt.Sprintf("secretGenerator %q reads key %s from this file, which is plaintext", name, key),
				line:  1, col: 1, secret: value, object: name, key: key,
			})
		}
	}
	f.out = append(f.out, other.out...)
}

func utf8Len(s string) int { return len([]rune(s)) }
