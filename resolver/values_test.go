package resolver

import (
	"encoding/base64"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(m map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: m} }

// FindValues finds a resolved Helm value where a chart put it as it is,
// base64-encoded, or inside a Secret's encoded data, says where that is,
// and ignores what the chart made of it otherwise (a checksum).
func TestFindValues(t *testing.T) {
	const pw = "s3cret-password"
	before := ValuesObject(map[string]any{"db": map[string]any{"password": "<path:secret/data/db#password>"}, "port": "5432"})
	after := ValuesObject(map[string]any{"db": map[string]any{"password": pw}, "port": "5432"})
	prov := Provenance{Refs: []RefProvenance{{Reference: "secret/data/db#password", Field: "values.db.password", Fields: []string{"values.db.password"}}}}
	b64 := base64.StdEncoding.EncodeToString([]byte(pw))
	conn := base64.StdEncoding.EncodeToString([]byte("postgres://app:" + pw + "@db:5432/app"))

	objs := []*unstructured.Unstructured{
		obj(map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db"},
			"data": map[string]any{"password": b64, "url": conn}}),
		obj(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cfg", "labels": map[string]any{"pw": pw}},
			"data": map[string]any{"port": "5432", "dsn": "host=db password=" + pw}}),
		obj(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "app"},
			"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"annotations": map[string]any{"checksum": "9f86d081884c7d65"}}}}}),
	}
	got := map[string]Landing{}
	for _, l := range FindValues(before, after, prov, objs) {
		if l.Ref.Reference != "secret/data/db#password" {
			t.Errorf("landing %s attributed to %q", l.Field, l.Ref.Reference)
		}
		got[objs[l.Index].GetName()+" "+l.Field] = l.Landing
	}
	want := map[string]Landing{
		"db data.password":       InSecret,
		"db data.url":            InSecret,
		"cfg metadata.labels.pw": InMetadata,
		"cfg data.dsn":           OutsideSecret,
	}
	for k, l := range want {
		if g, ok := got[k]; !ok || g != l {
			t.Errorf("%s: got %v (found %t), want %v", k, g, ok, l)
		}
	}
	if len(got) != len(want) {
		t.Errorf("found %v, want only %v (the unchanged port value and the checksum are not values)", got, want)
	}
}
