package reconcile

import (
	"testing"

	"github.com/latchkey-dev/latchkey/resolver"
)

func TestAnnotateWorkloads(t *testing.T) {
	set := func(hmacValue string) ([]string, int) {
		o := objs(t,
			"apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app}\ndata: {password: eA==}",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: plain, namespace: app}\ndata: {x: eA==}",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: env, namespace: app}\nspec: {template: {spec: {containers: [{name: a, env: [{name: P, valueFrom: {secretKeyRef: {name: db, key: password}}}]}]}}}",
			"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: vol, namespace: app}\nspec: {template: {spec: {containers: [{name: a}], volumes: [{name: v, projected: {sources: [{secret: {name: db}}]}}]}}}",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: unrelated, namespace: app}\nspec: {template: {spec: {containers: [{name: a, envFrom: [{secretRef: {name: plain}}]}]}}}",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other-ns, namespace: elsewhere}\nspec: {template: {spec: {containers: [{name: a, envFrom: [{secretRef: {name: db}}]}]}}}",
		)
		prov := make([]resolver.Provenance, len(o))
		prov[0] = resolver.Provenance{Refs: []resolver.RefProvenance{{Field: "data.password", Reference: "secret/data/db#password", HMAC: hmacValue}}}
		n := annotateWorkloads(o, prov, []byte("key"))
		var got []string
		for _, w := range o[2:] {
			path := podTemplatePaths["apps/"+w.GetKind()]
			a, _, _ := unstructuredString(w.Object, append(path, "metadata", "annotations", AnnotationSecretsHMAC)...)
			got = append(got, a)
		}
		return got, n
	}
	before, n := set("aaaa")
	if n != 2 {
		t.Fatalf("annotated %d workloads, want 2 (env and projected volume consumers)", n)
	}
	if before[0] == "" || before[1] == "" || before[2] != "" || before[3] != "" {
		t.Fatalf("annotations = %q: want the two consumers of app/db only", before)
	}
	after, _ := set("bbbb")
	if after[0] == before[0] || after[1] == before[1] {
		t.Error("a changed value HMAC did not change the workload annotation")
	}
	again, _ := set("aaaa")
	if again[0] != before[0] {
		t.Error("the annotation is not deterministic")
	}
}

func unstructuredString(obj map[string]any, path ...string) (string, bool, error) {
	cur := any(obj)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[p]
	}
	s, ok := cur.(string)
	return s, ok, nil
}
