package reconcile

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func objs(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func TestRedactor(t *testing.T) {
	pem := "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7\n-----END PRIVATE KEY-----\n"
	jsonValue := `{"user":"admin-canary","pass":"p<&>q"}`
	rendered := objs(t,
		"kind: Deployment\nspec: {replicas: '<path:secret/data/app#replicas>', template: {spec: {containers: [{name: web, image: nginx, env: [{name: T, value: '<path:secret/data/app#token>'}]}]}}}",
		"kind: Secret\ndata: {password: PHBhdGg6c2VjcmV0L2RhdGEvYXBwI3Bhc3N3b3JkPg==}",
		"kind: SealedSecret\nmetadata: {name: api-token, namespace: shop}\nspec: {encryptedData: {token: AgBy8}}",
		"kind: Secret\nmetadata: {name: tls}\nstringData: {tls.key: '<path:secret/data/tls#key>', config: '<path:secret/data/app#json>'}",
		"kind: ConfigMap\nmetadata: {name: short}\ndata: {pin: '<path:secret/data/app#pin>', flag: '<path:secret/data/app#flag>'}",
		"kind: Secret\nmetadata: {name: bin}\ndata: {bin: PHBhdGg6c2VjcmV0L2RhdGEvYXBwI2Jpbj4=}\nstringData: {user: '<path:secret/data/app#user>'}",
	)
	resolved := objs(t,
		"kind: Deployment\nspec: {replicas: 31337, template: {spec: {containers: [{name: web, image: nginx, env: [{name: T, value: token-canary-77}]}]}}}",
		"kind: Secret\ndata: {password: Y2FuYXJ5LXZhbHVlLTQy}",                                            // canary-value-42
		"kind: Secret\nmetadata: {name: api-token, namespace: shop}\ndata: {token: dW5zZWFsZWQtdG9rZW4=}", // unsealed-token
		"kind: Secret\nmetadata: {name: tls}\nstringData: {tls.key: '"+strings.ReplaceAll(pem, "\n", "\\n")+"'}",
		"kind: ConfigMap\nmetadata: {name: short}\ndata: {pin: '7', flag: ab}",
		// Bytes that are no text (ff fe 01), and "team", which happens to
		// be base64 too: neither may break the redactor.
		"kind: Secret\nmetadata: {name: bin}\ndata: {bin: //4B}\nstringData: {user: team}",
	)
	resolved[3].Object["stringData"].(map[string]any)["tls.key"] = pem
	resolved[3].Object["stringData"].(map[string]any)["config"] = jsonValue
	r := newRedactor(rendered, resolved)
	jsonMsg, _ := json.Marshal(map[string]string{"config": jsonValue})
	tests := []struct {
		name, in string
		gone     []string
		kept     []string
	}{
		{name: "a bare integer value", in: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: 31337`, gone: []string{"31337"}, kept: []string{"spec.replicas"}},
		{name: "a decoded secret value", in: "value canary-value-42 rejected", gone: []string{"canary-value-42"}},
		{name: "an encoded secret value", in: "data Y2FuYXJ5LXZhbHVlLTQy", gone: []string{"Y2FuYXJ5LXZhbHVlLTQy"}},
		{name: "an unsealed value", in: "bad unsealed-token", gone: []string{"unsealed-token"}},
		{name: "an unsealed Secret's name is not secret", in: `Secret "api-token" in shop: bad unsealed-token`, gone: []string{"unsealed-token"}, kept: []string{`"api-token"`, "shop"}},
		{name: "unchanged fields are not secret", in: "image nginx of container web", kept: []string{"nginx", "web"}},
		{name: "a PEM key quoted with %q: newlines as \\n",
			in:   `Secret "tls" is invalid: stringData[tls.key]: Invalid value: ` + strconv.Quote(pem) + `: too long`,
			gone: []string{"MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7", "BEGIN PRIVATE KEY"}, kept: []string{`stringData[tls.key]: Invalid value: `, ": too long"}},
		{name: "a JSON value escaped inside a JSON string", in: "data: Invalid value: " + string(jsonMsg),
			gone: []string{"admin-canary", `p\u003c\u0026\u003eq`}, kept: []string{`{"config":`}},
		{name: "a JSON value quoted with %q", in: "Invalid value: " + strconv.Quote(jsonValue), gone: []string{"admin-canary"}},
		{name: "a value as base64", in: "env: " + base64.StdEncoding.EncodeToString([]byte("token-canary-77")), gone: []string{base64.StdEncoding.EncodeToString([]byte("token-canary-77"))}},
		{name: "a short value quoted whole", in: `ConfigMap "short" is invalid: data[flag]: Invalid value: "ab": bad; ['ab']`,
			gone: []string{`"ab"`, `'ab'`}, kept: []string{`ConfigMap "short"`, "data[flag]: Invalid value: ", ": bad"}},
		{name: "a short bare value after a colon", in: `spec.x: Invalid value: 7: must be less than 5, [a: 7, b: 7]`,
			gone: []string{": 7"}, kept: []string{"spec.x: Invalid value: <redacted>: must be less than 5", "[a: <redacted>, b: <redacted>]"}},
		{name: "a binary value", in: `Secret "bin" is invalid: data[bin]: Invalid value: "//4B"`, gone: []string{"//4B"}, kept: []string{`Secret "bin"`}},
		{name: "a short value inside words, numbers and names is kept",
			in:   `line 7 of v7.yaml: 17 items in "tab" abc; apps/v1 took 7s: 77`,
			kept: []string{`line 7 of v7.yaml: 17 items in "tab" abc; apps/v1 took 7s: 77`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Error(errors.New(tc.in)).Error()
			for _, g := range tc.gone {
				if strings.Contains(got, g) {
					t.Errorf("%q still contains %q", got, g)
				}
			}
			for _, k := range tc.kept {
				if !strings.Contains(got, k) {
					t.Errorf("%q lost %q", got, k)
				}
			}
		})
	}
}
