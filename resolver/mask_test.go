package resolver

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func objectFromYAML(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMaskShowsReferencesVersionsAndHMACsNeverValues(t *testing.T) {
	const literal = "literal-canary-4411"
	secret := objectFromYAML(t, `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
data:
  encoded: `+base64.StdEncoding.EncodeToString([]byte("<path:secret/data/db#user>"))+`
  literal: `+base64.StdEncoding.EncodeToString([]byte(literal))+`
stringData:
  dsn: postgres://<path:secret/data/db#user>:<path:secret/data/db#password>@db:5432/shop
  plain: `+literal+`
  empty: ""
`)
	cm := objectFromYAML(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data:
  level: info
  region: <path:secret/data/db#region>
`)
	prov := []Provenance{{Refs: []RefProvenance{
		{Reference: "secret/data/db#user", Fields: []string{"data.encoded", "stringData.dsn"}, Version: 3, HMAC: strings.Repeat("a", 64)},
		{Reference: "secret/data/db#password", Fields: []string{"stringData.dsn"}, Version: 3, HMAC: strings.Repeat("b", 64)},
	}}, {}}
	r := New(nil, Options{HMACKey: []byte("0123456789abcdef0123456789abcdef")})

	got := r.Mask([]*unstructured.Unstructured{secret, cm}, prov)
	data, _, _ := unstructured.NestedStringMap(got[0].Object, "data")
	str, _, _ := unstructured.NestedStringMap(got[0].Object, "stringData")
	cmData, _, _ := unstructured.NestedStringMap(got[1].Object, "data")
	litMAC := r.mac([]byte(literal))[:16]
	for _, tt := range []struct{ what, got, want string }{
		{"an encoded reference", data["encoded"], "<path:secret/data/db#user> [v3 hmac:aaaaaaaaaaaaaaaa]"},
		{"a literal in data", data["literal"], "[literal value hmac:" + litMAC + "]"},
		{"references inside a string", str["dsn"], "postgres://<path:secret/data/db#user> [v3 hmac:aaaaaaaaaaaaaaaa]:<path:secret/data/db#password> [v3 hmac:bbbbbbbbbbbbbbbb]@db:5432/shop"},
		{"a literal in stringData, same value as in data", str["plain"], "[literal value hmac:" + litMAC + "]"},
		{"an empty value", str["empty"], ""},
		{"a reference whose value was not recorded", cmData["region"], "<path:secret/data/db#region> [no value]"},
		{"a ConfigMap's literal, which Git holds anyway", cmData["level"], "info"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.what, tt.got, tt.want)
		}
	}
	if s := fmt.Sprint(got[0].Object); strings.Contains(s, literal) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(literal))) {
		t.Errorf("the masked Secret holds its literal value: %s", s)
	}
	if v, _, _ := unstructured.NestedString(secret.Object, "stringData", "plain"); v != literal {
		t.Errorf("Mask modified its input")
	}

	unresolved := r.Mask([]*unstructured.Unstructured{cm}, nil)
	if v, _, _ := unstructured.NestedString(unresolved[0].Object, "data", "region"); v != "<path:secret/data/db#region> [not resolved]" {
		t.Errorf("without provenance: %q", v)
	}
}
