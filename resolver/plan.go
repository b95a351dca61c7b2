package resolver

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// objectPlan is what one object needs: its references, where they sit, and
// the argocd-vault-plugin annotations that change how they are read.
type objectPlan struct {
	index int                        // position in the input
	obj   *unstructured.Unstructured // the private copy being resolved
	ref   ObjectRef

	ignore bool
	sealed bool // a SealedSecret to unseal
	// After unsealing, obj and sites are those of the unsealed Secret;
	// encrypted names the keys that came from spec.encryptedData.
	unsealErr     error
	encrypted     []string
	removeMissing bool
	kvHint        int    // avp.kubernetes.io/kv-version, else the configured default
	hintFromAnno  bool   // kvHint came from the object's annotation
	genericPath   string // avp.kubernetes.io/path
	genericVer    string // avp.kubernetes.io/secret-version

	sites []*site
}

// site is one string in an object that holds references.
type site struct {
	field string
	text  string // the string, base64-decoded when encoded
	refs  []reference.Ref
	// encoded: text was decoded from a Secret's data (or a ConfigMap's
	// binaryData) and the result is re-encoded.
	encoded bool
	// typed: a reference spanning the whole string may be replaced by a
	// non-string value (replicas: <path:...#replicas> becomes an int).
	typed  bool
	set    func(any)
	remove func() // nil for list elements, which cannot be dropped
}

const (
	sealedSecretGroup = "bitnami.com"
	sealedSecretKind  = "SealedSecret"
)

// IsSealedSecret reports whether obj is a bitnami-labs SealedSecret.
func IsSealedSecret(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	return gvk.Group == sealedSecretGroup && gvk.Kind == sealedSecretKind
}

// plan reads obj's annotations and finds every reference in it. Problems
// with the object itself (bad annotations, malformed placeholders) are added
// to fs.
func (r *Resolver) plan(index int, obj *unstructured.Unstructured, origin string, fs *failures) *objectPlan {
	return r.planAs(index, obj, objectRefOf(obj, origin), fs)
}

// planAs plans obj with failures naming ref: an unsealed Secret's name the
// SealedSecret its author wrote.
func (r *Resolver) planAs(index int, obj *unstructured.Unstructured, ref ObjectRef, fs *failures) *objectPlan {
	p := &objectPlan{index: index, obj: obj, ref: ref, kvHint: r.opts.DefaultKVVersion}
	anno := obj.GetAnnotations()
	objectFailure := func(problem, fix string) {
		fs.add(index, Failure{Object: p.ref, Problem: problem, Fix: fix})
	}

	if v, ok := anno[reference.AnnotationIgnore]; ok {
		ignore, err := strconv.ParseBool(v)
		if err != nil {
			objectFailure(fmt.Sprintf("annotation %s=%q is not a boolean", reference.AnnotationIgnore, v), `write "true" or "false"`)
		}
		if ignore {
			p.ignore = true
			return p
		}
	}
	if IsSealedSecret(obj) && r.opts.Unsealer != nil {
		p.sealed = true
		return p
	}
	if v, ok := anno[reference.AnnotationKVVersion]; ok {
		switch strings.TrimSpace(v) {
		case "1":
			p.kvHint, p.hintFromAnno = 1, true
		case "2":
			p.kvHint, p.hintFromAnno = 2, true
		default:
			objectFailure(fmt.Sprintf("annotation %s=%q is not 1 or 2", reference.AnnotationKVVersion, v), `write "1" or "2", or remove it to use the mount's version`)
		}
	}
	if v, ok := anno[reference.AnnotationRemoveMissing]; ok {
		rm, err := strconv.ParseBool(v)
		if err != nil {
			objectFailure(fmt.Sprintf("annotation %s=%q is not a boolean", reference.AnnotationRemoveMissing, v), `write "true" or "false"`)
		}
		if rm && obj.GetKind() != "Secret" && obj.GetKind() != "ConfigMap" {
			objectFailure(fmt.Sprintf("annotation %s only applies to a Secret or a ConfigMap", reference.AnnotationRemoveMissing), "remove the annotation from this object")
		}
		p.removeMissing = rm
	}
	if v, ok := anno[reference.AnnotationPath]; ok {
		p.genericPath = strings.Trim(strings.TrimSpace(v), "/")
		if p.genericPath == "" {
			objectFailure(fmt.Sprintf("annotation %s is empty", reference.AnnotationPath), "set it to the Vault path of the secret the <key> placeholders read")
		}
	}
	if v, ok := anno[reference.AnnotationSecretVersion]; ok {
		p.genericVer = strings.TrimSpace(v)
		if n, err := strconv.Atoi(p.genericVer); err != nil || n < 0 {
			objectFailure(fmt.Sprintf("annotation %s=%q is not a version number", reference.AnnotationSecretVersion, v), "write a KV v2 version number, or remove it to read the latest version")
		}
	}

	grammar := reference.Options{Generic: p.genericPath != "", AnyVersion: true}
	w := walker{plan: p, grammar: grammar, fs: fs, configMap: obj.GetKind() == "ConfigMap"}
	w.object(obj.Object)
	return p
}

// walker visits every string of an object in a stable order.
type walker struct {
	plan      *objectPlan
	grammar   reference.Options
	fs        *failures
	configMap bool
}

func (w *walker) object(root map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(root)) {
		// A Secret's data and a ConfigMap's binaryData hold base64: a
		// placeholder may be written encoded there.
		encodedMap := (w.plan.obj.GetKind() == "Secret" && k == "data") || (w.configMap && k == "binaryData")
		if m, ok := root[k].(map[string]any); ok && encodedMap {
			for _, dk := range slices.Sorted(maps.Keys(m)) {
				if s, ok := m[dk].(string); ok {
					w.encodedStr(m, dk, s, fieldPath(k, dk))
				} else {
					w.value(m[dk], fieldPath(k, dk), setMap(m, dk), removeMap(m, dk))
				}
			}
			continue
		}
		w.value(root[k], fieldPath("", k), setMap(root, k), removeMap(root, k))
	}
}

func (w *walker) value(v any, field string, set func(any), remove func()) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			w.value(x[k], fieldPath(field, k), setMap(x, k), removeMap(x, k))
		}
	case []any:
		for i := range x {
			w.value(x[i], fmt.Sprintf("%s[%d]", field, i), setSlice(x, i), nil)
		}
	case string:
		w.add(x, field, false, set, remove)
	}
}

// encodedStr handles one string of a base64 map: references written in clear
// are substituted as they are; otherwise, if the string is base64 whose
// decoding holds references, those are substituted and the result re-encoded.
func (w *walker) encodedStr(m map[string]any, k, s, field string) {
	if !w.mayHold(s) {
		if dec, err := base64.StdEncoding.DecodeString(s); err == nil && w.mayHold(string(dec)) {
			w.add(string(dec), field, true, setMap(m, k), removeMap(m, k))
			return
		}
	}
	w.add(s, field, false, setMap(m, k), removeMap(m, k))
}

// mayHold is a cheap pre-check: can s contain a reference at all?
func (w *walker) mayHold(s string) bool {
	if w.grammar.Generic {
		return strings.Contains(s, "<")
	}
	return strings.Contains(s, "<path:") || strings.Contains(s, "ref+vault://")
}

func (w *walker) add(s, field string, encoded bool, set func(any), remove func()) {
	if !w.mayHold(s) {
		return
	}
	refs, err := reference.ParseWith(s, w.grammar)
	if err != nil {
		var se *reference.SyntaxError
		problem := err.Error()
		ref := ""
		if errors.As(err, &se) {
			problem, ref = "malformed reference: "+se.Reason, se.Text
		}
		w.fs.add(w.plan.index, Failure{Object: w.plan.ref, Field: field, Ref: ref, Problem: problem,
			Fix: "write <path:PATH#KEY>, <path:PATH#KEY#VERSION> or ref+vault://PATH#/KEY, optionally followed by | modifiers"})
		return
	}
	if len(refs) == 0 {
		return
	}
	w.plan.sites = append(w.plan.sites, &site{
		field: field, text: s, refs: refs, encoded: encoded,
		typed: !encoded && !w.configMap,
		set:   set, remove: remove,
	})
}

func setMap(m map[string]any, k string) func(any) { return func(v any) { m[k] = v } }
func removeMap(m map[string]any, k string) func() { return func() { delete(m, k) } }
func setSlice(s []any, i int) func(any)           { return func(v any) { s[i] = v } }

// fieldPath appends key to a dotted path, bracketing keys that contain dots.
func fieldPath(parent, key string) string {
	if strings.ContainsAny(key, ".[]") {
		return parent + `["` + key + `"]`
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}
