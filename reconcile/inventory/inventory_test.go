package inventory

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

func obj(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func TestStale(t *testing.T) {
	cm := obj("v1", "ConfigMap", "app", "cfg")
	dep := obj("apps/v1", "Deployment", "app", "web")
	ns := obj("v1", "Namespace", "", "app")
	depV2 := obj("apps/v2", "Deployment", "app", "web")

	tests := []struct {
		name              string
		previous, current []*unstructured.Unstructured
		want              []string
	}{
		{name: "nothing removed", previous: []*unstructured.Unstructured{cm, dep}, current: []*unstructured.Unstructured{dep, cm}},
		{name: "one removed", previous: []*unstructured.Unstructured{cm, dep, ns}, current: []*unstructured.Unstructured{dep, ns},
			want: []string{"ConfigMap app/cfg"}},
		{name: "an API version change is not a removal", previous: []*unstructured.Unstructured{dep}, current: []*unstructured.Unstructured{depV2}},
		{name: "cluster-scoped", previous: []*unstructured.Unstructured{ns, cm}, current: []*unstructured.Unstructured{cm},
			want: []string{"Namespace app"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stale, err := Stale(Of(tc.previous), Of(tc.current))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range stale {
				got = append(got, Describe(s))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("stale = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestObjectRoundTrip(t *testing.T) {
	for _, o := range []*unstructured.Unstructured{
		obj("apps/v1", "Deployment", "app", "web"),
		obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader"),
	} {
		got, err := Object(Of([]*unstructured.Unstructured{o})[0])
		if err != nil {
			t.Fatal(err)
		}
		if got.GroupVersionKind() != o.GroupVersionKind() || got.GetNamespace() != o.GetNamespace() || got.GetName() != o.GetName() {
			t.Errorf("round trip of %s gave %s %s", Describe(o), got.GroupVersionKind(), Describe(got))
		}
	}
	if _, err := Object(v1alpha1.InventoryEntry{ID: "bad", Version: "v1"}); err == nil {
		t.Error("a malformed entry was accepted")
	}
}
