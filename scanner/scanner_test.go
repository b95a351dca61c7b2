package scanner

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// scan runs a default scanner over one in-memory file.
func scan(t *testing.T, name, content string) []Finding {
	t.Helper()
	sc, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Run(context.Background(), &Input{Name: name, Data: []byte(content)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

func positions(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%d:%d %s", f.Line, f.Column, f.RuleID))
	}
	return strings.Join(out, ", ")
}

// scanCase is one file and the findings expected in it.
type scanCase struct {
	name, file, content string
	want                string // "line:col rule, ..."
}

func runScanCases(t *testing.T, cases []scanCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := positions(scan(t, tc.file, tc.content)); got != tc.want {
				t.Errorf("findings = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScanFindsPlaintextAtTheValue(t *testing.T) {
	runScanCases(t, []scanCase{
		{
			name:    "Secret stringData with kind after data",
			file:    "s.yaml",
			content: "stringData:\n  password: hunter2-Prod\nmetadata: {name: db}\nkind: Secret\napiVersion: v1\n",
			want:    "2:13 kubernetes-secret",
		},
		{
			name:    "Secret data is decoded",
			file:    "s.yaml",
			content: "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata:\n  password: \"aHVudGVyMi1Qcm9k\"\n",
			want:    "5:14 kubernetes-secret",
		},
		{
			name:    "JSON Secret",
			file:    "s.json",
			content: "{\"apiVersion\": \"v1\", \"kind\": \"Secret\",\n \"stringData\": {\"token\": \"tk-8f3Kq0s9dLx\"}}\n",
			want:    "2:27 kubernetes-secret",
		},
		{
			name:    "env literal in a Deployment",
			file:    "d.yaml",
			content: "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          env:\n            - name: DB_PASSWORD\n              value: Wk-9s8d7f6g\n",
			want:    "9:22 env-literal",
		},
		{
			name:    "Helm values key",
			file:    "values.yaml",
			content: "auth:\n  existingSecret: \"\"\n  rootPassword: 'R00t-9s8d7f'\n",
			want:    "3:18 helm-values-secret",
		},
		{
			name:    "Helm template line",
			file:    "chart/templates/s.yaml",
			content: "data:\n  a: {{ .Values.a | b64enc }}\n  password: \"Tpl-8s7d6f5g\"\n",
			want:    "3:14 secret-assignment",
		},
		{
			name:    "URL password in a README",
			file:    "README.md",
			content: "run: psql postgres://admin:Xq7-2kd9s0@db:5432/app\n",
			want:    "1:28 url-password",
		},
		{
			name:    "private key in a block scalar points at BEGIN",
			file:    "v.yaml",
			content: "tls:\n  key: |\n    -----BEGIN EC PRIVATE KEY-----\n    MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5NOpJhtB9LhjzoAoGCCqGSM49AwEHoUQDQgAE\n    -----END EC PRIVATE KEY-----\n",
			want:    "3:5 private-key",
		},
		{
			name:    "dotenv",
			file:    "prod.env",
			content: "DB_HOST=db\nDB_PASSWORD=Env-8d7f6g5h\n",
			want:    "2:13 dotenv-secret",
		},
		{
			name:    "latchkey:allow on the line",
			file:    "values.yaml",
			content: "password: Sh0p-8s7d6f # latchkey:allow reviewed test value\n",
			want:    "",
		},
		{
			name:    "references are not secrets",
			file:    "s.yaml",
			content: "kind: Secret\nstringData:\n  a: <path:secret/data/x#a>\n  b: ref+vault://secret/x#/b\n  c: ${FLUX_VAR}\n  d: ''\n",
			want:    "",
		},
	})
}

// TestScanGeneralises covers forms found by the blind hold-out set
// (testdata/holdout2): each case is a shape, not a file of that set.
func TestScanGeneralises(t *testing.T) {
	runScanCases(t, []scanCase{
		{
			name:    "nested config file in a Secret points at its line",
			file:    "s.yaml",
			content: "kind: Secret\nstringData:\n  config.yml: |\n    auth:\n      oidc:\n        client_secret: \"Xk2-9fLq-7Zp3-Wm8R\"\n",
			want:    "6:25 kubernetes-secret",
		},
		{
			name:    "one-line JAAS entry in Secret data",
			file:    "s.yaml",
			content: "kind: Secret\ndata:\n  sasl.jaas.config: b3JnLmFwYWNoZS5rYWZrYS5jb21tb24uc2VjdXJpdHkuc2NyYW0uU2NyYW1Mb2dpbk1vZHVsZSByZXF1aXJlZCB1c2VybmFtZT0ib3JkZXJzIiBwYXNzd29yZD0iSnE4LUtzNzItTG0zeCI7\n",
			want:    "3:21 kubernetes-secret",
		},
		{
			name:    "settings beside credentials in a Secret",
			file:    "s.yaml",
			content: "kind: Secret\nstringData:\n  CLUSTER_DOMAIN: prod.acme.io\n  DB_SSLMODE: verify-full\n  FROM: no-reply@acme.io\n  TIMEOUT_MS: 2500ms\n  STRIPE_PUBLISHABLE_KEY: pk_live_51Hq2LkP9xR2mT4vW6yZ8aC0eG\n  TWILIO_ACCOUNT_SID: AC0123456789abcdef0123456789abcdef\n  APNS_KEY_ID: Q7RZ3K8M2X\n  LICENSE: Lk9-2Qx7-Vb4n-8Pz1\n",
			want:    "10:12 kubernetes-secret",
		},
		{
			name:    "dockerconfigjson block points at the auth",
			file:    "s.yaml",
			content: "kind: Secret\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: |\n    {\n      \"auths\": {\n        \"quay.io\": {\n          \"auth\": \"cm9ib3Q6UTlYSzJNN0xQNFZXOFJUMw==\"\n        }\n      }\n    }\n",
			want:    "8:20 kubernetes-dockerconfig",
		},
		{
			name:    "HTTP header key/value pair",
			file:    "a.yaml",
			content: "kind: AnalysisTemplate\nspec:\n  metrics:\n    - provider:\n        web:\n          headers:\n            - key: DD-API-KEY\n              value: 4f1c2a9e8b7d6c5b4a39281706f5e4d3\n",
			want:    "8:22 env-literal",
		},
		{
			name:    "list of credentials",
			file:    "values.yaml",
			content: "apiKeys:\n  - 8ea2fa122beee386a6ce0cdb82b0bab2\nsecrets:\n  - app-tls\nhosts:\n  - 9a75a5aea9f23a482b2a6d7bcf95dfd7\n",
			want:    "2:5 helm-values-secret",
		},
		{
			name:    "flag and value as separate arguments",
			file:    "d.yaml",
			content: "kind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - args: [\"--token\", \"d8Fk2LmQ9pXz7VbN3sRt6YwE\", \"--log-level\", \"debug\"]\n",
			want:    "6:30 secret-assignment",
		},
		{
			name:    "key-like names count when the value is random",
			file:    "values.yaml",
			content: "pagerduty:\n  routing_key: 0f3b8c2d9e4a7f1b6c5d8e2a9f0b3c7d\nsortKey: createdAt\ntopologyKey: topology.kubernetes.io/zone\ncacheKey: user-profile-v2\n",
			want:    "2:16 helm-values-secret",
		},
		{
			name:    "Secret in a chart template, neutral key",
			file:    "chart/templates/secret.yaml",
			content: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ include \"x.fullname\" . }}\ndata:\n  {{- if .Values.stripe }}\n  stripe: c2tfbGl2ZV81MUhxMkxrUDl4UjJtVDR2VzZ5WjhhQzBlRzJpSzRtTzZxUzh1VzB5QTJjRQ==\n  {{- end }}\n  webhook: {{ .Values.webhook | b64enc | quote }}\n",
			want:    "7:11 kubernetes-secret",
		},
		{
			name:    "kustomization without kind or resources",
			file:    "overlay/kustomization.yaml",
			content: "secretGenerator:\n  - name: app\n    literals:\n      - SIGNING_SEED=Q9xK2m7LpW4vR8tY3nB6\n      - REGION=eu-west-1\n",
			want:    "4:22 kustomize-secret-generator",
		},
		{
			name:    "base64 PEM key in a kubeconfig",
			file:    "kubeconfig.yaml",
			content: "users:\n- name: ci\n  user:\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlDWEFJQkFBS0JnUUNxR0t1a08xRGU3emhaajYrSDBxdGpUa1Z4d1RDcHZLZTRlQ1owRlBxcmkwY2IySlpmWEovRGdZU0Y2dlVwCi0tLS0tRU5EIFJTQSBQUklWQVRFIEtFWS0tLS0tCg==\n",
			want:    "4:22 private-key-base64",
		},
		{
			name:    "JSON documents in a Secret are judged by their members",
			file:    "s.yaml",
			content: "kind: Secret\ndata:\n  credentials.json: eyJ0eXBlIjoic2VydmljZV9hY2NvdW50IiwiY2xpZW50X3NlY3JldCI6ImQtRkw5NVExOXE3TVFtRnBkN2hIRDBUeSJ9\n  key.json: eyJ0eXBlIjoic2VydmljZV9hY2NvdW50IiwicHJpdmF0ZV9rZXlfaWQiOiJhYmMiLCJjbGllbnRfZW1haWwiOiJ4QHkuaWFtLmdzZXJ2aWNlYWNjb3VudC5jb20ifQ==\nstringData:\n  settings: '{\"foo\":\"bar\"}'\n",
			want:    "3:21 kubernetes-secret",
		},
		{
			name:    "every credential of a dockerconfigjson block",
			file:    "s.yaml",
			content: "kind: Secret\nstringData:\n  .dockerconfigjson: |\n    {\"auths\": {\"registry.acme.io\": {\n      \"username\": \"ci\",\n      \"password\": \"Rg-9f8e7d6c5b\",\n      \"auth\": \"Y2k6UmctOWY4ZTdkNmM1Yg==\"}}}\n",
			want:    "6:20 kubernetes-dockerconfig, 7:16 kubernetes-dockerconfig",
		},
		{
			name:    ".npmrc settings scoped to a registry are not comments",
			file:    ".npmrc",
			content: "//registry.npmjs.org/:_auth=YWNtZTpOcG0tUGE1NS14\n// a comment: _password=not-read-here\n",
			want:    "1:29 dotenv-secret",
		},
		{
			name:    "entries of a map that declares secrets",
			file:    "values.yaml",
			content: "secrets:\n  STRIPE: rk_x9Kq2Lm7Pz4Vb8Nc3Xw6\n  REGION: eu-west-1\nextraSecretEnvVars:\n  PARTNER: Q9xK2m7LpW4vR8tY3nB6\nconfig:\n  build: Q9xK2m7LpW4vR8tY3nB6\n",
			want:    "2:11 helm-values-secret, 5:12 helm-values-secret",
		},
		{
			name:    "configuration under credential-looking names",
			file:    "values.yaml",
			content: "tokenizer: bert-base-uncased\npassword_encryption: scram-sha-256\nsecretEngine: kv-v2\napiKeySecret: app-api-key\nadminPasswordMtime: \"2024-01-01T00:00:00Z\"\nstripe:\n  apiKey: sk_test_xxxxxxxxxxxxxxxxxxxxxxxx\ns3:\n  accessKey: minio\n",
			want:    "",
		},
		{
			name:    "references of other tools",
			file:    "d.yaml",
			content: "kind: Pod\nspec:\n  containers:\n    - env:\n        - name: AWS_SECRET_ACCESS_KEY\n          value: vault:secret/data/accounts/aws#AWS_SECRET_ACCESS_KEY\n        - name: DSN\n          value: ${DB_PASSWORD:=fallback}\n",
			want:    "",
		},
	})
}

// TestNoSecretInOutput plants a canary and checks no finding field carries it.
func TestNoSecretInOutput(t *testing.T) {
	const canary = "Canary-7f3a9c1e5b"
	fs := scan(t, "values.yaml", "auth:\n  password: "+canary+"\n")
	if len(fs) != 1 {
		t.Fatalf("want 1 finding, got %d", len(fs))
	}
	dump := fmt.Sprintf("%#v", fs)
	if strings.Contains(dump, canary) || strings.Contains(dump, canary[4:]) {
		t.Errorf("finding carries the secret: %s", dump)
	}
	if !strings.HasPrefix(fs[0].Secret, "Can") || strings.Contains(fs[0].Secret, "7f3a") {
		t.Errorf("mask %q: want a short prefix only", fs[0].Secret)
	}
}

// TestHostileInput feeds inputs that must neither crash nor blow memory.
func TestHostileInput(t *testing.T) {
	bomb := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i := 'b'; i <= 'z'; i++ {
		bomb += fmt.Sprintf("%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	long := "password: " + strings.Repeat("x9", 5<<20) + "\n"
	for _, tc := range []struct{ name, file, content string }{
		{"alias bomb", "bomb.yaml", bomb},
		{"alias bomb in a Secret", "bomb.yaml", "kind: Secret\ndata:\n" + indent(bomb)},
		{"10 MB single line", "long.yaml", long},
		{"10 MB line of keywords", "long.txt", strings.Repeat("password=ghp_ token ", 500000)},
		{"invalid UTF-8", "bad.yaml", "kind: Secret\nstringData:\n  password: \xff\xfe\xfd-s3cr3t\n"},
		{"binary", "bin.yaml", "password: x\x00\x01\x02"},
		{"deep flow nesting", "deep.yaml", strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
		{"unterminated everything", "u.yaml", "a: \"\nb: '\n- {\n  ? |\n"},
		{"template garbage", "templates/x.yaml", "{{ {{ }} name: \n value: \"\n- name: TOKEN\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			scan(t, tc.file, tc.content) // must return, without a panic
			runtime.ReadMemStats(&after)
			// Memory is linear in the input: no alias expansion, no per-match blowup.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(16*len(tc.content))+(8<<20) {
				t.Errorf("allocated %d MiB for %d KiB of input", alloc>>20, len(tc.content)>>10)
			}
		})
	}
}

func indent(s string) string {
	var b bytes.Buffer
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}

func TestConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
allow:
  paths: ["fixtures/**", "*.sample"]
disable: [jwt]
rules:
  - id: acme-token
    regex: 'acme_([a-z0-9]{16})'
    keywords: [acme_]
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := New(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	src := &multi{files: map[string]string{
		"fixtures/a/values.yaml": "password: Sh0p-8s7d6f\n",
		"app/x.sample":           "password: Sh0p-8s7d6f\n",
		"notes.txt":              "acme_0123456789abcdef and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
	}}
	res, err := sc.Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got := positions(res.Findings); got != "1:6 acme-token" {
		t.Errorf("findings = %q, want only the custom rule in notes.txt", got)
	}
	for _, bad := range []string{"rules: [{id: x}]", "disable: x: y", "unknown: 1", "rules: [{id: jwt, regex: a}]", "rules: [{id: x, regex: '('}]"} {
		if _, err := ParseConfig([]byte(bad), "bad"); err == nil {
			t.Errorf("ParseConfig(%q) accepted an invalid config", bad)
		}
	}
}

// multi is an in-memory tree.
type multi struct{ files map[string]string }

func (m *multi) Files(_ context.Context, yield func(*File) error) error {
	for p, c := range m.files {
		if err := yield(&File{Path: p, Data: []byte(c)}); err != nil {
			return err
		}
	}
	return nil
}
