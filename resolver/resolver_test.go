package resolver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// store is the Vault content the substitution specs below resolve against.
func store() *memBackend {
	m := newMem()
	m.mounts["secret/"] = 2
	m.mounts["kv1/"] = 1
	m.put("secret/app", map[string]any{
		"user": "admin", "password": "s3cr3t", "replicas": json.Number("3"), "enabled": true,
		"config": `{"db":{"host":"db.internal","port":5432}}`,
		"yaml":   "a: 1\nb: two\n",
		"b64":    "aGVsbG8=",
		"pem":    "line1\nline2\n",
		"nested": map[string]any{"token": "tok"},
	})
	m.put("secret/versioned", map[string]any{"v": "one"})
	m.put("secret/versioned", map[string]any{"v": "two"})
	m.put("kv1/legacy", map[string]any{"name": "legacy-name", "port": json.Number("8080")})
	return m
}

func objects(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("bad test YAML: %v", err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

func toYAML(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	var b strings.Builder
	for _, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(y)
		b.WriteString("---\n")
	}
	return b.String()
}

func canon(t *testing.T, docs ...string) string {
	t.Helper()
	return toYAML(t, objects(t, docs...))
}

func TestResolveSubstitution(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "an inline placeholder in a string",
			in:   "kind: ConfigMap\nmetadata: {name: c}\ndata: {dsn: 'postgres://<path:secret/data/app#user>:<path:secret/data/app#password>@db'}",
			want: "kind: ConfigMap\nmetadata: {name: c}\ndata: {dsn: 'postgres://admin:s3cr3t@db'}",
		},
		{
			name: "KV v2 paths with or without data/ are the same secret",
			in:   "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '<path:secret/app#user>', b: '<path:secret/data/app#user>'}",
			want: "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: admin, b: admin}",
		},
		{
			name: "a whole-value placeholder keeps the type of the value",
			in:   "kind: Deployment\nmetadata: {name: d}\nspec: {replicas: '<path:secret/app#replicas>', paused: '<path:secret/app#enabled>'}",
			want: "kind: Deployment\nmetadata: {name: d}\nspec: {replicas: 3, paused: true}",
		},
		{
			name: "a number inside a longer string is written as text",
			in:   "kind: Service\nmetadata: {name: s}\nspec: {note: 'port <path:kv1/legacy#port>'}",
			want: "kind: Service\nmetadata: {name: s}\nspec: {note: 'port 8080'}",
		},
		{
			name: "a ConfigMap's data stays text",
			in:   "kind: ConfigMap\nmetadata: {name: c}\ndata: {replicas: '<path:secret/app#replicas>'}",
			want: "kind: ConfigMap\nmetadata: {name: c}\ndata: {replicas: '3'}",
		},
		{
			name: "a base64-encoded placeholder in a Secret's data is decoded, substituted and re-encoded",
			// base64("user=<path:secret/app#user>")
			in:   "kind: Secret\nmetadata: {name: s}\ndata: {creds: dXNlcj08cGF0aDpzZWNyZXQvYXBwI3VzZXI+}",
			want: "kind: Secret\nmetadata: {name: s}\ndata: {creds: dXNlcj1hZG1pbg==}",
		},
		{
			name: "ordinary base64 data is left alone",
			in:   "kind: Secret\nmetadata: {name: s}\ndata: {plain: aGVsbG8=}",
			want: "kind: Secret\nmetadata: {name: s}\ndata: {plain: aGVsbG8=}",
		},
		{
			name: "modifiers: base64encode, jsonPath, jsonParse, yamlParse, base64decode, sha256sum, indent",
			in: `kind: Secret
metadata: {name: s}
stringData:
  enc: '<path:secret/app#user | base64encode>'
  host: '<path:secret/app#config | jsonPath {.db.host}>'
  port: '<path:secret/app#config | jsonPath {.db.port} | jsonParse>'
  yb: '<path:secret/app#yaml | yamlParse | jsonPath {.b}>'
  dec: '<path:secret/app#b64 | base64decode>'
  sum: '<path:secret/app#user | sha256sum>'
  pem: "key: <path:secret/app#pem | indent 2>"`,
			want: `kind: Secret
metadata: {name: s}
stringData:
  enc: YWRtaW4=
  host: db.internal
  port: 5432
  yb: two
  dec: hello
  sum: 8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918
  pem: "key: line1\n  line2\n"`,
		},
		{
			name: "a jsonParse'd map is inserted as a map",
			in:   "kind: X\nmetadata: {name: x}\nspec: {db: '<path:secret/app#config | jsonParse | jsonPath {.db} | jsonParse>'}",
			want: "kind: X\nmetadata: {name: x}\nspec: {db: {host: db.internal, port: 5432}}",
		},
		{
			name: "generic placeholders read the annotated path",
			in: `kind: Deployment
metadata:
  name: <user>
  annotations: {avp.kubernetes.io/path: secret/data/app}
spec: {replicas: <replicas>, image: 'repo/<user>:<path:kv1/legacy#name>'}`,
			want: `kind: Deployment
metadata:
  name: admin
  annotations: {avp.kubernetes.io/path: secret/data/app}
spec: {replicas: 3, image: 'repo/admin:legacy-name'}`,
		},
		{
			name: "without the path annotation <key> is just text",
			in:   "kind: ConfigMap\nmetadata: {name: c}\ndata: {help: 'usage: run <file>'}",
			want: "kind: ConfigMap\nmetadata: {name: c}\ndata: {help: 'usage: run <file>'}",
		},
		{
			name: "secret-version pins the generic placeholders, inline ones read what they say",
			in: `kind: Secret
metadata:
  name: s
  annotations: {avp.kubernetes.io/path: secret/versioned, avp.kubernetes.io/secret-version: "1"}
stringData: {a: <v>, b: '<path:secret/versioned#v>', c: '<path:secret/versioned#v#2>'}`,
			want: `kind: Secret
metadata:
  name: s
  annotations: {avp.kubernetes.io/path: secret/versioned, avp.kubernetes.io/secret-version: "1"}
stringData: {a: one, b: two, c: two}`,
		},
		{
			name: "a version on KV v1 is ignored, as argocd-vault-plugin does",
			in:   "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '<path:kv1/legacy#name#version>', b: '<path:kv1/legacy#name#4>'}",
			want: "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: legacy-name, b: legacy-name}",
		},
		{
			name: "vals references, nested keys and versions",
			in:   "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: 'ref+vault://secret/app#/nested/token', b: 'x=ref+vault://secret/versioned?version=1#/v+;'}",
			want: "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: tok, b: 'x=one;'}",
		},
		{
			name: "ignore leaves the object untouched",
			in:   "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/ignore: 'True', avp.kubernetes.io/path: nowhere}}\nstringData: {a: <missing>, b: '<path:nowhere#x>'}",
			want: "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/ignore: 'True', avp.kubernetes.io/path: nowhere}}\nstringData: {a: <missing>, b: '<path:nowhere#x>'}",
		},
		{
			name: "remove-missing drops fields whose key is missing",
			in:   "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/path: secret/app, avp.kubernetes.io/remove-missing: 'true'}}\nstringData: {u: <user>, gone: <nope>, alsoGone: 'x<path:secret/app#nope2>'}",
			want: "kind: Secret\nmetadata: {name: s, annotations: {avp.kubernetes.io/path: secret/app, avp.kubernetes.io/remove-missing: 'true'}}\nstringData: {u: admin}",
		},
		{
			name: "references in lists",
			in:   "kind: Pod\nmetadata: {name: p}\nspec: {args: ['--user=<path:secret/app#user>', '<path:secret/app#replicas>']}",
			want: "kind: Pod\nmetadata: {name: p}\nspec: {args: ['--user=admin', 3]}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := objects(t, tt.in)
			before := toYAML(t, in)
			res, err := New(store(), Options{}).Resolve(context.Background(), in, nil)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got, want := toYAML(t, res.Objects), canon(t, tt.want); got != want {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
			if toYAML(t, in) != before {
				t.Fatalf("Resolve modified its input")
			}
		})
	}
}

func TestResolveFailsClosedListingEveryReference(t *testing.T) {
	m := store()
	m.fail["secret/forbidden"] = fmt.Errorf("reading secret/data/forbidden: %w", ErrPermissionDenied)
	in := objects(t,
		"kind: Secret\nmetadata: {name: a, namespace: ns1}\nstringData: {ok: '<path:secret/app#user>', k: '<path:secret/app#nokey>'}",
		"kind: Deployment\nmetadata: {name: b, namespace: ns2}\nspec: {replicas: '<path:secret/missing#x>'}",
		"kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '<path:secret/forbidden#x>', b: '<path:secret/app#user | jsonParse>', c: '<path:secret/app#config | jsonPath {.nope}>'}",
		"kind: ConfigMap\nmetadata: {name: d}\ndata: {a: '<path:secret/app#user#latest>', b: '<path:secret/app#x | rot13>'}",
		"kind: Deployment\nmetadata: {name: e, annotations: {avp.kubernetes.io/kv-version: '1'}}\nspec: {x: '<path:secret/app#user>'}",
	)
	origins := []string{"a.yaml:1", "b.yaml:3", "", "d.yaml:1", "e.yaml:1"}
	res, err := New(m, Options{}).Resolve(context.Background(), in, func(i int) string { return origins[i] })
	if res != nil {
		t.Fatalf("a failed resolve returned objects")
	}
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	want := []string{
		`Secret ns1/a (a.yaml:1) field stringData.k: secret/app#nokey: key "nokey" not found in secret/app (KV v2) at its latest version (1); its keys are: b64, config, enabled, nested, password, pem, replicas, user, yaml (fix: add the key`,
		`Deployment ns2/b (b.yaml:3) field spec.replicas: secret/missing#x: no secret at secret/missing (KV v2): not found (fix: check the path`,
		`ConfigMap c field data.a: secret/forbidden#x: reading secret/data/forbidden: permission denied (fix: grant`,
		`ConfigMap c field data.b: secret/app#user | jsonParse: modifier "jsonParse": the value is not valid JSON (at byte 1) (fix: correct the modifier`,
		`ConfigMap c field data.c: secret/app#config | jsonPath {.nope}: modifier "jsonPath {.nope}": JSONPath {.nope} does not match`,
		`ConfigMap d (d.yaml:1) field data.a: secret/app#user#latest: version "latest" is not a number`,
		`ConfigMap d (d.yaml:1) field data.b: <path:secret/app#x | rot13>: malformed reference: unknown modifier "rot13"`,
		`Deployment e (e.yaml:1) field spec.x: secret/app#user: KV version mismatch: the object says KV v1`,
	}
	if len(re.Failures) != len(want) {
		t.Fatalf("got %d failures, want %d:\n%v", len(re.Failures), len(want), err)
	}
	for i, w := range want {
		if got := re.Failures[i].String(); !strings.HasPrefix(got, w) {
			t.Errorf("failure %d:\n got %s\nwant prefix %s", i, got, w)
		}
	}
	for _, secret := range []string{"admin", "s3cr3t", "db.internal"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error contains the value %q:\n%v", secret, err)
		}
	}
}

func TestResolveReadsEachSecretVersionOnce(t *testing.T) {
	m := store()
	var docs []string
	for i := range 50 {
		docs = append(docs, fmt.Sprintf(`kind: Secret
metadata: {name: s%d, annotations: {avp.kubernetes.io/path: secret/data/app}}
stringData: {a: <user>, b: '<path:secret/app#password>', c: '<path:secret/data/app#user>', d: '<path:secret/versioned#v#1>', e: 'ref+vault://secret/versioned?version=1#/v', f: '<path:secret/versioned#v>'}`, i))
	}
	res, err := New(m, Options{}).Resolve(context.Background(), objects(t, docs...), nil)
	if err != nil {
		t.Fatal(err)
	}
	// secret/app latest, secret/versioned@1, secret/versioned latest.
	if got := m.totalReads(); got != 3 || res.Reads != 3 {
		t.Fatalf("backend reads = %d (Result.Reads %d), want 3: %v", got, res.Reads, m.reads)
	}
}

func TestCacheServesLaterRenders(t *testing.T) {
	m := store()
	r := New(m, Options{Cache: NewCache(1 << 40)})
	in := objects(t, "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '<path:secret/app#user>'}")
	for range 3 {
		if _, err := r.Resolve(context.Background(), in, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.totalReads(); got != 1 {
		t.Fatalf("reads = %d, want 1", got)
	}
	r.opts.Cache.Invalidate(Location{Mount: "secret/", Path: "app", KVVersion: 2})
	res, err := r.Resolve(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.totalReads(); got != 2 || res.Reads != 1 || res.CacheHits != 0 {
		t.Fatalf("after Invalidate: reads = %d, Result = %d reads %d hits", got, res.Reads, res.CacheHits)
	}
}

func TestProvenance(t *testing.T) {
	key := []byte("provenance-key")
	in := objects(t, `kind: Secret
metadata: {name: s, annotations: {avp.kubernetes.io/path: secret/versioned, avp.kubernetes.io/secret-version: "1"}}
stringData: {a: <v>, b: '<path:secret/app#password | base64encode>', c: '<path:secret/app#password>'}`)
	res, err := New(store(), Options{HMACKey: key}).Resolve(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(v string) string {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(v))
		return hex.EncodeToString(h.Sum(nil))
	}
	want := []RefProvenance{
		{Source: SourceVault, Reference: "<v> (secret/versioned#v#1)", Field: "stringData.a", Fields: []string{"stringData.a"}, Location: Location{Mount: "secret/", Path: "versioned", KVVersion: 2}, Key: "v", Version: 1, Pinned: true, HMAC: mac("one")},
		{Source: SourceVault, Reference: "secret/app#password | base64encode", Field: "stringData.b", Fields: []string{"stringData.b"}, Location: Location{Mount: "secret/", Path: "app", KVVersion: 2}, Key: "password", Version: 1, HMAC: mac("s3cr3t")},
		{Source: SourceVault, Reference: "secret/app#password", Field: "stringData.c", Fields: []string{"stringData.c"}, Location: Location{Mount: "secret/", Path: "app", KVVersion: 2}, Key: "password", Version: 1, HMAC: mac("s3cr3t")},
	}
	got := res.Provenance[0].Refs
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("provenance\n got %+v\nwant %+v", got, want)
	}
	if s := fmt.Sprintf("%+v", res.Provenance); strings.Contains(s, "s3cr3t") || strings.Contains(s, "one}") {
		t.Fatalf("provenance holds a value: %s", s)
	}
	// Without a key there is no HMAC at all, never an unkeyed hash.
	res, err = New(store(), Options{}).Resolve(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rp := range res.Provenance[0].Refs {
		if rp.HMAC != "" {
			t.Fatalf("HMAC without a key: %+v", rp)
		}
	}
}
