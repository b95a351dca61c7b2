package migration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/resolver/reference"
	"github.com/latchkey-dev/latchkey/scanner/manifest"
)

// A Secret that mixes Vault references and literals keeps its references:
// its literals are sealed into spec.encryptedData and each reference stays,
// as written, in spec.template.data, which the sealed-secrets format keeps
// in clear. Latchkey resolves them after unsealing; the upstream controller
// does not (to it template data is a Go template, and a reference is plain
// text), so such a SealedSecret needs Latchkey to apply it.

// referenceKeys returns the keys of the Secret document doc whose values
// hold references, with the text to keep (decoded when written base64 in
// data), or why the Secret cannot be sealed keeping them.
func referenceKeys(doc []byte) (map[string]string, string) {
	docs, err := manifest.Parse(doc)
	if err != nil || len(docs) != 1 {
		return nil, "the Secret's document does not parse on its own: move it to a file of its own"
	}
	refs := map[string]string{}
	seen := map[string]bool{}
	reason := ""
	for _, field := range []string{"data", "stringData"} {
		manifest.Entries(manifest.Get(docs[0], field), func(k, v *yaml.Node) {
			key, s := k.Value, v.Value
			if seen[key] && reason == "" {
				reason = fmt.Sprintf("key %s is in both data and stringData: keep one, then run again", key)
			}
			seen[key] = true
			if field == "data" && !reference.Contains(s) {
				if b, err := base64.StdEncoding.DecodeString(s); err == nil {
					s = string(b)
				}
			} else if field == "data" && reason == "" {
				// The resolved value would land in data as is, so Vault holds
				// it base64: in template data it would stay encoded.
				reason = fmt.Sprintf("data.%s holds a reference written in clear (its Vault value is base64): move it to stringData, then run again", key)
			}
			if !reference.Contains(s) {
				return
			}
			if strings.Contains(s, "{{") && reason == "" {
				reason = fmt.Sprintf("the reference in %s.%s contains {{, which the sealed-secrets controller reads as a template: use --fix vault for this Secret", field, key)
			}
			refs[key] = s
		})
	}
	if reason != "" {
		return nil, reason
	}
	return refs, ""
}

// withoutKeys is the Secret document doc without the keys in refs, for
// kubeseal to seal the literals only.
func withoutKeys(doc []byte, refs map[string]string) ([]byte, error) {
	if len(refs) == 0 {
		return doc, nil
	}
	var obj map[string]any
	if err := sigsyaml.Unmarshal(doc, &obj); err != nil {
		return nil, err
	}
	for _, field := range []string{"data", "stringData"} {
		if m, ok := obj[field].(map[string]any); ok {
			for k := range refs {
				delete(m, k)
			}
		}
	}
	return json.Marshal(obj)
}

// keepReferences writes refs into the spec.template.data of the sealed
// document kubeseal produced.
func keepReferences(sealed []byte, refs map[string]string) ([]byte, error) {
	if len(refs) == 0 {
		return sealed, nil
	}
	var obj map[string]any
	if err := sigsyaml.Unmarshal(sealed, &obj); err != nil {
		return nil, err
	}
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil, fmt.Errorf("the SealedSecret has no spec")
	}
	tmpl, _ := spec["template"].(map[string]any)
	if tmpl == nil {
		tmpl = map[string]any{}
		spec["template"] = tmpl
	}
	data := map[string]any{}
	for _, k := range slices.Sorted(mapKeys(refs)) {
		data[k] = refs[k]
	}
	tmpl["data"] = data
	out, err := sigsyaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return bytes.TrimPrefix(out, []byte("---\n")), nil
}
