package scanner

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestJSONPatchValueNamedByPath: a JSON patch operation names its value by
// the last segment of its path, inline in a kustomization, in a patch file
// and in JSON; a path that names no credential, and a reference under one
// that does, stay quiet. Lines with a "want" mark are the only findings.
func TestJSONPatchValueNamedByPath(t *testing.T) {
	sc, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, file, content string }{
		{"inline in a kustomization", "overlays/prod/kustomization.yaml", "resources:\n  - ../../base\npatches:\n  - target: {kind: Secret, name: db}\n    patch: |-\n      - op: replace\n        path: /data/DB_PASSWORD\n        value: UGs4ZktxMkxtWHo3V2M= #want\n      - op: replace\n        path: /spec/replicas\n        value: 4\n"},
		{"patch file", "overlays/prod/db-patch.yaml", "- op: add\n  path: /stringData/api_token\n  value: Tk8fKq2LmXz7Wc4NpQ #want\n- op: add\n  path: /metadata/labels/tier\n  value: backend\n"},
		{"JSON, escaped pointer", "overlays/prod/patch.json", "[{\"op\": \"replace\", \"path\": \"/data/db~1password\", \"value\": \"Jp8fKq2LmXz7Wc\"}] #want\n"},
		{"references stay quiet", "overlays/dev/kustomization.yaml", "patches:\n  - patch: |-\n      - op: replace\n        path: /stringData/password\n        value: ${DB_PASSWORD}\n      - op: replace\n        path: /stringData/token\n        value: <path:kv/data/app#token>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			lines := strings.Split(tc.content, "\n")
			for i, l := range lines {
				if strings.HasSuffix(l, " #want") {
					want = append(want, strconv.Itoa(i+1))
					lines[i] = strings.TrimSuffix(l, " #want")
				}
			}
			var got []string
			for _, f := range sc.ScanFile(&File{Path: tc.file}, []byte(strings.Join(lines, "\n"))) {
				if l := strconv.Itoa(f.Line); !slices.Contains(got, l) {
					got = append(got, l)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings on lines %v, want %v", got, want)
			}
		})
	}
}
