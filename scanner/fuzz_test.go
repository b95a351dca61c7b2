package scanner

import (
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/resolver/reference"
	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// FuzzScanFile runs the whole scanner over any input, read as each kind of
// file, and checks it never panics (ScanFile recovers, so a recovered panic
// is caught here through the shape of its output), reports positions inside
// the input, and never accepts as plaintext a value the reference grammar
// says is a reference.
func FuzzScanFile(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: Secret\nstringData:\n  password: hunter2-Prod\n",
		"kind: Secret\ndata:\n  .dockerconfigjson: eyJhdXRocyI6e319\n",
		"- name: DB_PASSWORD\n  value: \"x<path:secret/data/a#b>\"\n",
		"password: {{ .Values.x }}\ntoken: ref+vault://a#/b\n",
		"DB_PASSWORD=Env-8d7f6g5h\nexport TOKEN=$(cat x)\n",
		"-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA\\n",
		"postgres://u:p@h https://hooks.slack.com/services/T0/B0/x",
		"secretGenerator:\n- literals: [A=b]\n  envs: [../../x]\n",
		"kind: Secret\nmetadata: {name: {{ .x }}}\ndata:\n  {{- if .y }}\n  a: {{ .z | b64enc }}\n  {{- end }}\n  b: c2tfbGl2ZQ==\n",
		"args: [\"--token\", \"d8Fk2LmQ9pXz\"]\napiKeys:\n  - 8ea2fa122beee386\nheaders:\n  - {key: X-Api-Key, value: k}\n",
	} {
		f.Add(seed)
	}
	sc, err := New(Options{Workers: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Count(s, "\n") + 1
		for _, name := range []string{"x.yaml", "chart/templates/x.yaml", "x.env", "x.md"} {
			for _, fd := range sc.ScanFile(&File{Path: name}, []byte(s)) {
				if fd.Line < 1 || fd.Line > lines || fd.Column < 1 {
					t.Fatalf("%s: finding at %d:%d outside the input (%d lines)", name, fd.Line, fd.Column, lines)
				}
				if fd.Secret == "" || fd.Fingerprint == "" {
					t.Fatalf("%s: finding without mask or fingerprint: %+v", name, fd)
				}
			}
		}
		// One grammar: a value that is exactly a reference is never plaintext.
		for _, r := range reference.FindAll(s) {
			if ref := s[r.Start:r.End]; rules.Literal(ref) {
				t.Fatalf("reference %q judged a literal", ref)
			}
		}
		_ = rules.StripIndirection(s)
	})
}
