package migration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each form of a scalar is replaced exactly over its text: quotes and block
// indicators included, comments and the rest of the line kept.
func TestRewriteOfEachScalarStyle(t *testing.T) {
	key := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n"
	block := "    " + strings.ReplaceAll(strings.TrimSuffix(key, "\n"), "\n", "\n    ") + "\n"
	tests := []struct {
		name, doc, want string
		value           string
	}{
		{
			name:  "a block scalar becomes one line",
			doc:   "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\nstringData:\n  tls.key: |\n" + block + "  tls.crt: public\n",
			want:  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\nstringData:\n  tls.key: <path:secret/data/default/tls#tls.key>\n  tls.crt: public\n",
			value: key,
		},
		{
			name:  "a flow mapping keeps its braces",
			doc:   "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: \"Qe5-canary-flow-Hn3Xc7\", user: app}\n",
			want:  "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: \"<path:secret/data/default/db#password>\", user: app}\n",
			value: "Qe5-canary-flow-Hn3Xc7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "secret.yaml"), []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			sites, skipped, err := Locate(root, scanTree(t, root), "default")
			if err != nil || len(skipped) > 0 || len(sites) != 1 {
				t.Fatalf("sites %+v skipped %+v err %v", sites, skipped, err)
			}
			if sites[0].value != tt.value {
				t.Fatalf("located value %q, want %q", sites[0].value, tt.value)
			}
			store := memStore{}
			plan, err := PlanVault(context.Background(), root, sites, nil, DefaultVaultPath, store)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plan.Write(context.Background(), store); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(root, "secret.yaml"))
			if string(got) != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestAddResourceEdit(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"an indented list", "resources:\n  - a.yaml\nnamespace: x\n", "resources:\n  - a.yaml\n  - web-env-secret.yaml\nnamespace: x\n"},
		{"a flush list with CRLF", "resources:\r\n- a.yaml\r\n", "resources:\r\n- a.yaml\r\n- web-env-secret.yaml\r\n"},
		{"no resources", "namespace: x", "namespace: x\nresources:\n- web-env-secret.yaml\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := addResourceEdit(newText([]byte(tt.in)), "web-env-secret.yaml")
			if err != nil {
				t.Fatal(err)
			}
			out, _ := applyEdits([]byte(tt.in), []edit{e})
			if string(out) != tt.want {
				t.Fatalf("got %q, want %q", out, tt.want)
			}
		})
	}
	if _, err := addResourceEdit(newText([]byte("resources: [a.yaml]\n")), "b.yaml"); err == nil {
		t.Error("a flow list was edited")
	}
}

func TestValuesLeftAlone(t *testing.T) {
	tests := []struct{ name, file, doc, reason string }{
		{"a ConfigMap", "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  DB_PASSWORD: Ts6-canary-cm-Lp9Wq2\n", "a ConfigMap field"},
		{"a config file inside a Secret", "s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  app.properties: |\n    db.url=jdbc:postgresql://db/app\n    db.password=Ts6-canary-props-Lp9Wq2\n", "part of a larger value"},
		{"a Helm template", "chart/templates/d.yaml", "env:\n  - name: API_TOKEN\n    value: Ts6-canary-tpl-Lp9Wq2\n", "Helm template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			p := filepath.Join(root, filepath.FromSlash(tt.file))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			findings := scanTree(t, root)
			if len(findings) == 0 {
				t.Fatal("the scanner finds nothing")
			}
			sites, skipped, err := Locate(root, findings, "default")
			if err != nil || len(sites) != 0 || len(skipped) == 0 || !strings.Contains(skipped[0].Reason, tt.reason) {
				t.Fatalf("sites %+v skipped %+v err %v", sites, skipped, err)
			}
		})
	}
}
