package config

import (
	"reflect"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"-f values-prod.yaml --set image.tag=1.2", []string{"-f", "values-prod.yaml", "--set", "image.tag=1.2"}, false},
		{`--set 'a=b c' --set "x=\"y\"" --set z=a\ b`, []string{"--set", "a=b c", "--set", `x="y"`, "--set", "z=a b"}, false},
		{"  ", nil, false},
		{`--set ""`, []string{"--set", ""}, false},
		{`'unterminated`, nil, true},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestArgoCDAppFromEnv(t *testing.T) {
	a, err := ArgoCDAppFromEnv(MapEnv(map[string]string{
		"ARGOCD_APP_NAME": "shop", "ARGOCD_APP_NAMESPACE": "prod", "KUBE_VERSION": "1.37", "KUBE_API_VERSIONS": "v1, apps/v1",
		"ARGOCD_APP_PARAMETERS": `[{"name":"values-files","array":["values-prod.yaml"]},{"name":"set","map":{"replicas":"3"}},{"name":"mode","string":"helm"}]`,
		"ARGOCD_ENV_HELM_ARGS":  "-f extra.yaml",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "shop" || a.Namespace != "prod" || a.KubeVersion != "1.37" || !reflect.DeepEqual(a.APIVersions, []string{"v1", "apps/v1"}) ||
		!reflect.DeepEqual(a.ExtraArgs, []string{"-f", "extra.yaml"}) {
		t.Fatalf("%+v", a)
	}
	if p, ok := a.Parameter("values-files"); !ok || !reflect.DeepEqual(p.Array, []string{"values-prod.yaml"}) {
		t.Fatalf("values-files = %+v", p)
	}
	if p, _ := a.Parameter("mode"); p.String == nil || *p.String != "helm" {
		t.Fatalf("mode = %+v", p)
	}
	if _, err := ArgoCDAppFromEnv(MapEnv(map[string]string{"ARGOCD_APP_PARAMETERS": "{"})); err == nil {
		t.Fatal("bad parameters accepted")
	}
}
