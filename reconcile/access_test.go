package reconcile

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

func TestUnionInventoryKeepsEveryEntryOnceSortedWithTheNewVersion(t *testing.T) {
	stored := []v1alpha1.InventoryEntry{{ID: "ns_b__ConfigMap", Version: "v1"}, {ID: "ns_w_example.com_Widget", Version: "v1alpha1"}}
	next := []v1alpha1.InventoryEntry{{ID: "ns_a__ConfigMap", Version: "v1"}, {ID: "ns_w_example.com_Widget", Version: "v1"}}
	want := []v1alpha1.InventoryEntry{{ID: "ns_a__ConfigMap", Version: "v1"}, {ID: "ns_b__ConfigMap", Version: "v1"}, {ID: "ns_w_example.com_Widget", Version: "v1"}}
	if got := unionInventory(stored, next); !reflect.DeepEqual(got, want) {
		t.Errorf("union = %v, want %v", got, want)
	}
}

func TestCRDsOfTheSetNameTheirResourceAndScope(t *testing.T) {
	crd := func(group, kind, plural, scope string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": plural + "." + group},
			"spec":     map[string]any{"group": group, "scope": scope, "names": map[string]any{"kind": kind, "plural": plural}},
		}}
	}
	got := crdsOf([]*unstructured.Unstructured{
		crd("example.com", "Widget", "widgets", "Namespaced"),
		crd("example.com", "Gadget", "gadgets", "Cluster"),
		crd("example.com", "", "", "Cluster"), // incomplete: ignored
	})
	want := map[schema.GroupKind]mapped{
		{Group: "example.com", Kind: "Widget"}: {resource: schema.GroupResource{Group: "example.com", Resource: "widgets"}, namespaced: true},
		{Group: "example.com", Kind: "Gadget"}: {resource: schema.GroupResource{Group: "example.com", Resource: "gadgets"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("crdsOf = %v, want %v", got, want)
	}
}

func TestReasonForRefusalsIsForbidden(t *testing.T) {
	gr := schema.GroupResource{Resource: "secrets"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&AccessDenied{Refusals: []string{"x"}}, v1alpha1.ReasonForbidden},
		{fmt.Errorf("applying: %w", &OwnershipConflict{Object: "ConfigMap a/b"}), v1alpha1.ReasonForbidden},
		{&tenancy.Denied{What: "no"}, v1alpha1.ReasonForbidden},
		{fmt.Errorf("pruning: %w", errors.Join(errors.New("other"), apierrors.NewForbidden(gr, "s", errors.New("rbac")))), v1alpha1.ReasonForbidden},
		{apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "x", nil), v1alpha1.ReasonApplyFailed},
	} {
		if got := reasonFor(tc.err, v1alpha1.ReasonApplyFailed); got != tc.want {
			t.Errorf("reasonFor(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestOwnerOfIgnoresUnlabelledAndOwnObjects(t *testing.T) {
	me := types.NamespacedName{Namespace: "team-a", Name: "app"}
	for _, tc := range []struct {
		labels map[string]string
		other  bool
	}{
		{nil, false},
		{map[string]string{LabelSync: "app", LabelSyncNamespace: "team-a"}, false},
		{map[string]string{LabelSync: "app", LabelSyncNamespace: "team-b"}, true},
		{map[string]string{LabelSync: "other", LabelSyncNamespace: "team-a"}, true},
	} {
		if _, other := ownerOf(tc.labels, me); other != tc.other {
			t.Errorf("ownerOf(%v) other = %t, want %t", tc.labels, other, tc.other)
		}
	}
}

func TestAccessCacheForgetsAllowedDecisionsAfterAMinute(t *testing.T) {
	var c accessCache
	k := accessKey{user: "system:serviceaccount:a:d", verb: "create", resource: "configmaps", namespace: "a"}
	now := time.Now()
	if c.get(k, now) {
		t.Fatal("an unknown decision is cached")
	}
	c.put(k, now)
	if !c.get(k, now.Add(allowedFor-time.Second)) {
		t.Error("an allowed decision was not reused within its minute")
	}
	if c.get(k, now.Add(allowedFor+time.Second)) {
		t.Error("an allowed decision was reused after its minute")
	}
	other := k
	other.user = "system:serviceaccount:b:d"
	c.put(k, now)
	if c.get(other, now) {
		t.Error("one ServiceAccount's decision answered for another")
	}
}
