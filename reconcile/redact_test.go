package reconcile

import (
	"errors"
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
	rendered := objs(t,
		"kind: Deployment\nspec: {replicas: '<path:secret/data/app#replicas>', template: {spec: {containers: [{name: web, image: nginx}]}}}",
		"kind: Secret\ndata: {password: PHBhdGg6c2VjcmV0L2RhdGEvYXBwI3Bhc3N3b3JkPg==}",
		"kind: SealedSecret\nspec: {encryptedData: {token: AgBy8}}",
	)
	resolved := objs(t,
		"kind: Deployment\nspec: {replicas: 31337, template: {spec: {containers: [{name: web, image: nginx}]}}}",
		"kind: Secret\ndata: {password: Y2FuYXJ5LXZhbHVlLTQy}", // canary-value-42
		"kind: Secret\ndata: {token: dW5zZWFsZWQtdG9rZW4=}",    // unsealed-token
	)
	r := newRedactor(rendered, resolved)
	tests := []struct {
		name, in string
		gone     []string
		kept     []string
	}{
		{name: "a quoted integer value", in: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: 31337`, gone: []string{"31337"}, kept: []string{"spec.replicas"}},
		{name: "a decoded secret value", in: "value canary-value-42 rejected", gone: []string{"canary-value-42"}},
		{name: "an encoded secret value", in: "data Y2FuYXJ5LXZhbHVlLTQy", gone: []string{"Y2FuYXJ5LXZhbHVlLTQy"}},
		{name: "an unsealed value", in: "bad unsealed-token", gone: []string{"unsealed-token"}},
		{name: "unchanged fields are not secret", in: "image nginx of container web", kept: []string{"nginx", "web"}},
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
