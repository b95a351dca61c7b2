package reconcile

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/resolver"
)

// podTemplatePaths are where the pod template sits in each workload kind
// that rolls its pods when the template changes (a Job's template is
// immutable, so Jobs are left alone).
var podTemplatePaths = map[string][]string{
	"apps/Deployment":  {"spec", "template"},
	"apps/StatefulSet": {"spec", "template"},
	"apps/DaemonSet":   {"spec", "template"},
	"apps/ReplicaSet":  {"spec", "template"},
	"batch/CronJob":    {"spec", "jobTemplate", "spec", "template"},
}

// secretHMACs maps "namespace/name" of every resolved Secret that received
// values to the lines "field=hmac" of its values, sorted.
func secretHMACs(objs []*unstructured.Unstructured, prov []resolver.Provenance) map[string][]string {
	out := map[string][]string{}
	for i, o := range objs {
		if o.GetKind() != "Secret" || o.GroupVersionKind().Group != "" || i >= len(prov) || len(prov[i].Refs) == 0 {
			continue
		}
		var lines []string
		for _, r := range prov[i].Refs {
			lines = append(lines, r.Field+"\x00"+r.Reference+"="+r.HMAC)
		}
		sort.Strings(lines)
		out[o.GetNamespace()+"/"+o.GetName()] = lines
	}
	return out
}

// annotateWorkloads sets AnnotationSecretsHMAC on the pod template of every
// workload in objs that consumes a Secret of the set holding resolved
// values: a keyed HMAC over the HMACs of those values. It changes exactly
// when a consumed value changes, so the workload rolls then and only then.
// It returns how many workloads were annotated.
func annotateWorkloads(objs []*unstructured.Unstructured, prov []resolver.Provenance, key []byte) int {
	secrets := secretHMACs(objs, prov)
	if len(secrets) == 0 || len(key) == 0 {
		return 0
	}
	n := 0
	for _, o := range objs {
		path, ok := podTemplatePaths[o.GroupVersionKind().Group+"/"+o.GetKind()]
		if !ok {
			continue
		}
		tmpl, found, err := unstructured.NestedMap(o.Object, path...)
		if err != nil || !found {
			continue
		}
		podSpec, _, _ := unstructured.NestedMap(tmpl, "spec")
		var consumed []string
		for _, name := range consumedSecrets(podSpec) {
			if _, ok := secrets[o.GetNamespace()+"/"+name]; ok {
				consumed = append(consumed, name)
			}
		}
		if len(consumed) == 0 {
			continue
		}
		sort.Strings(consumed)
		m := hmac.New(sha256.New, key)
		for _, name := range consumed {
			m.Write([]byte(name + "\n"))
			for _, l := range secrets[o.GetNamespace()+"/"+name] {
				m.Write([]byte(l + "\n"))
			}
		}
		annotations, _, _ := unstructured.NestedStringMap(tmpl, "metadata", "annotations")
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationSecretsHMAC] = hex.EncodeToString(m.Sum(nil))
		_ = unstructured.SetNestedStringMap(o.Object, annotations, append(append([]string{}, path...), "metadata", "annotations")...)
		n++
	}
	return n
}

// consumedSecrets lists the Secrets a pod spec reads: env valueFrom,
// envFrom, secret volumes and projected volume sources, in every container.
func consumedSecrets(podSpec map[string]any) []string {
	set := map[string]bool{}
	for _, list := range []string{"containers", "initContainers", "ephemeralContainers"} {
		containers, _, _ := unstructured.NestedSlice(podSpec, list)
		for _, c := range containers {
			cm, _ := c.(map[string]any)
			env, _, _ := unstructured.NestedSlice(cm, "env")
			for _, e := range env {
				em, _ := e.(map[string]any)
				if n, _, _ := unstructured.NestedString(em, "valueFrom", "secretKeyRef", "name"); n != "" {
					set[n] = true
				}
			}
			envFrom, _, _ := unstructured.NestedSlice(cm, "envFrom")
			for _, e := range envFrom {
				em, _ := e.(map[string]any)
				if n, _, _ := unstructured.NestedString(em, "secretRef", "name"); n != "" {
					set[n] = true
				}
			}
		}
	}
	volumes, _, _ := unstructured.NestedSlice(podSpec, "volumes")
	for _, v := range volumes {
		vm, _ := v.(map[string]any)
		if n, _, _ := unstructured.NestedString(vm, "secret", "secretName"); n != "" {
			set[n] = true
		}
		sources, _, _ := unstructured.NestedSlice(vm, "projected", "sources")
		for _, s := range sources {
			sm, _ := s.(map[string]any)
			if n, _, _ := unstructured.NestedString(sm, "secret", "name"); n != "" {
				set[n] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
