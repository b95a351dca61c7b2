package drift

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func mac(v []byte) string {
	m := hmac.New(sha256.New, []byte("test key"))
	m.Write(v)
	return hex.EncodeToString(m.Sum(nil))
}

func parse(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFields(t *testing.T) {
	tests := []struct {
		name       string
		live, want string
		fields     []string
	}{
		{
			name:   "same object, different bookkeeping",
			live:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, resourceVersion: '5', labels: {a: b}}\ndata: {k: v}",
			want:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, resourceVersion: '6', labels: {a: b}}\ndata: {k: v}",
			fields: nil,
		},
		{
			name:   "edited value and label",
			live:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: x}}\ndata: {k: edited, extra: y}",
			want:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: b}}\ndata: {k: v}",
			fields: []string{"data.extra", "data.k", "metadata.labels.a"},
		},
		{
			name:   "scaled deployment, ints of either type",
			live:   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 5, template: {spec: {containers: [{name: a, image: x}]}}}",
			want:   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 2.0, template: {spec: {containers: [{name: a, image: x}]}}}",
			fields: []string{"spec.replicas"},
		},
		{
			name:   "secret value changed: the key is named, compared by HMAC",
			live:   "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: ZWRpdGVk, user: YWRtaW4=}",
			want:   "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: czNjcjN0, user: YWRtaW4=}",
			fields: []string{"data.password"},
		},
		{
			name:   "dotted keys are bracketed",
			live:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {app.properties: a}",
			want:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {app.properties: b}",
			fields: []string{`data["app.properties"]`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Fields(parse(t, tc.live), parse(t, tc.want), mac)
			if !reflect.DeepEqual(got, tc.fields) {
				t.Errorf("Fields = %v, want %v", got, tc.fields)
			}
		})
	}
	if got := Fields(nil, parse(t, "kind: ConfigMap"), mac); !reflect.DeepEqual(got, []string{Missing}) {
		t.Errorf("deleted object: %v", got)
	}
}

func TestOwnChange(t *testing.T) {
	t0 := metav1.NewTime(time.Unix(1000, 0))
	t1 := metav1.NewTime(time.Unix(1001, 0))
	entry := func(manager string, at metav1.Time, sub string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Time: &at, Subresource: sub}
	}
	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    bool
	}{
		{name: "only ours", entries: []metav1.ManagedFieldsEntry{entry("latchkey", t0, "")}, want: true},
		{name: "a later kubectl edit", entries: []metav1.ManagedFieldsEntry{entry("latchkey", t0, ""), entry("kubectl-edit", t1, "")}, want: false},
		{name: "our later re-apply", entries: []metav1.ManagedFieldsEntry{entry("kubectl-edit", t0, ""), entry("latchkey", t1, "")}, want: true},
		{name: "same second: not called ours", entries: []metav1.ManagedFieldsEntry{entry("latchkey", t1, ""), entry("kubectl-edit", t1, "")}, want: false},
		{name: "status updates do not count", entries: []metav1.ManagedFieldsEntry{entry("latchkey", t0, ""), entry("kube-controller-manager", t1, "status")}, want: true},
		{name: "no entries", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &metav1.ObjectMeta{ManagedFields: tc.entries}
			if got := OwnChange(o, "latchkey"); got != tc.want {
				t.Errorf("OwnChange = %t, want %t", got, tc.want)
			}
		})
	}
}
