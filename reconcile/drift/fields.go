package drift

import (
	"encoding/base64"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// MaxFields bounds how many paths Fields reports for one object, so a
// rewritten object does not flood the status.
const MaxFields = 20

// Missing is the field reported for an object that does not exist (it was
// deleted, or, in observe mode, never created).
const Missing = "(missing)"

// MAC is a keyed hash of a value.
type MAC func(value []byte) string

// Fields returns the paths at which live differs from want (the result of a
// server-side dry-run apply of the desired object, so defaults and other
// managers' fields are already merged in). Metadata other than labels and
// annotations, and status, are not compared. Secret data is compared by
// mac of the decoded values.
func Fields(live, want *unstructured.Unstructured, mac MAC) []string {
	if live == nil {
		return []string{Missing}
	}
	var d differ
	d.mac = mac
	d.metadata(live.Object, want.Object)
	secret := want.GetKind() == "Secret" && want.GroupVersionKind().Group == ""
	for _, k := range keys(live.Object, want.Object) {
		switch {
		case k == "metadata" || k == "status" || k == "apiVersion" || k == "kind":
		case secret && k == "data":
			d.secretData(asMap(live.Object[k]), asMap(want.Object[k]))
		default:
			d.value(k, live.Object[k], want.Object[k])
		}
	}
	sort.Strings(d.paths)
	if len(d.paths) > MaxFields {
		d.paths = append(d.paths[:MaxFields], fmt.Sprintf("(and %d more)", len(d.paths)-MaxFields))
	}
	return d.paths
}

type differ struct {
	mac   MAC
	paths []string
}

func (d *differ) metadata(live, want map[string]any) {
	lm, wm := asMap(live["metadata"]), asMap(want["metadata"])
	for _, k := range []string{"labels", "annotations"} {
		d.value("metadata."+k, lm[k], wm[k])
	}
}

func (d *differ) secretData(live, want map[string]any) {
	for _, k := range keys(live, want) {
		lv, lok := live[k].(string)
		wv, wok := want[k].(string)
		if lok != wok || d.hash(lv) != d.hash(wv) {
			d.paths = append(d.paths, join("data", k))
		}
	}
}

// hash decodes a Secret data value and MACs it; values that do not decode
// are MACed as they are (the API server rejects them anyway).
func (d *differ) hash(encoded string) string {
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		b = []byte(encoded)
	}
	return d.mac(b)
}

func (d *differ) value(path string, live, want any) {
	lm, lok := live.(map[string]any)
	wm, wok := want.(map[string]any)
	if lok && wok {
		for _, k := range keys(lm, wm) {
			d.value(join(path, k), lm[k], wm[k])
		}
		return
	}
	ls, lok := live.([]any)
	ws, wok := want.([]any)
	if lok && wok && len(ls) == len(ws) {
		for i := range ls {
			d.value(fmt.Sprintf("%s[%d]", path, i), ls[i], ws[i])
		}
		return
	}
	if !reflect.DeepEqual(normalise(live), normalise(want)) {
		d.paths = append(d.paths, path)
	}
}

// normalise makes numbers comparable: JSON decoding gives int64 or float64
// depending on the source.
func normalise(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func keys(a, b map[string]any) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}

func join(parent, key string) string {
	if strings.ContainsAny(key, ".[]") {
		return parent + `["` + key + `"]`
	}
	return parent + "." + key
}
