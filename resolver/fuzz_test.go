package resolver

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

const fuzzSecret = "fz-Q7wm2Xc9Lr4"

func fuzzStore() *memBackend {
	m := newMem()
	m.mounts["secret/"] = 2
	m.put("secret/app", map[string]any{
		"k":    fuzzSecret,
		"json": `{"a":{"b":"` + fuzzSecret + `"}}`,
		"b64":  base64.StdEncoding.EncodeToString([]byte(fuzzSecret)),
		"yaml": "a:\n  b: " + fuzzSecret + "\n",
	})
	return m
}

// FuzzSubstitute resolves arbitrary strings in every position the walker
// treats differently (plain fields, a Secret's base64 data, a ConfigMap,
// an object with generic placeholders). It must never panic, must be all or
// nothing, and its errors must never hold the secret value.
func FuzzSubstitute(f *testing.F) {
	for _, s := range []string{
		"<path:secret/data/app#k>", "x<path:secret/app#json | jsonPath {.a.b}>y",
		"<path:secret/app#b64 | base64decode | base64encode>", "<k | indent 2>", "<path:secret/app#yaml | yamlParse | jsonPath {.a}>",
		"ref+vault://secret/app#/k", "<path:secret/app#nope>", "<path:", "<<path:a#b>>",
		base64.StdEncoding.EncodeToString([]byte("pw=<path:secret/app#k>")),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, fuzzSecret[:6]) {
			t.Skip() // the input itself names the value; errors may quote the input
		}
		objs := []*unstructured.Unstructured{
			{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}, "data": map[string]any{"d": s}, "stringData": map[string]any{"x": s}}},
			{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}, "data": map[string]any{"d": s}}},
			{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "annotations": map[string]any{reference.AnnotationPath: "secret/app"}}, "spec": map[string]any{"l": []any{s, map[string]any{"x": s}}}}},
		}
		res, err := New(fuzzStore(), Options{HMACKey: []byte("k")}).Resolve(context.Background(), objs, nil)
		if err != nil {
			if res != nil {
				t.Fatal("a failed Resolve returned objects")
			}
			if strings.Contains(err.Error(), fuzzSecret) || strings.Contains(err.Error(), fuzzSecret[3:11]) {
				t.Fatalf("the error holds the value: %v", err)
			}
			return
		}
		if len(res.Objects) != len(objs) {
			t.Fatalf("%d objects out for %d in", len(res.Objects), len(objs))
		}
		for _, p := range res.Provenance {
			for _, r := range p.Refs {
				if strings.Contains(r.Reference+r.HMAC+r.Field+r.Key, fuzzSecret) {
					t.Fatalf("provenance holds the value: %+v", r)
				}
			}
		}
	})
}

// FuzzBase64Data checks the decode, substitute, re-encode path: a Secret
// data value that is the base64 of text around one placeholder resolves to
// the base64 of that text around the value, whatever the text.
func FuzzBase64Data(f *testing.F) {
	f.Add("user: ", "\n", "")
	f.Add("", "", " | base64encode")
	f.Add("\x00\xff", "tail", " | sha256sum")
	f.Fuzz(func(t *testing.T, prefix, suffix, mods string) {
		if strings.ContainsAny(prefix+suffix, "<>") || strings.Contains(prefix+suffix, "ref+vault://") || (mods != "" && !strings.HasPrefix(mods, " | ")) {
			t.Skip()
		}
		placeholder := "<path:secret/app#k" + mods + ">"
		refs, err := reference.Parse(placeholder)
		if err != nil || len(refs) != 1 || refs[0].End != len(placeholder) {
			t.Skip() // not one well-formed placeholder: covered by FuzzSubstitute
		}
		want, err := applyModifiers(refs[0].Modifiers, fuzzSecret, DefaultMaxValueBytes)
		if err != nil {
			t.Skip()
		}
		wantText, err := stringify(want)
		if err != nil {
			t.Skip()
		}
		in := base64.StdEncoding.EncodeToString([]byte(prefix + placeholder + suffix))
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}, "data": map[string]any{"d": in}}}
		res, err := New(fuzzStore(), Options{}).Resolve(context.Background(), []*unstructured.Unstructured{obj}, nil)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", prefix+placeholder+suffix, err)
		}
		got, _, _ := unstructured.NestedString(res.Objects[0].Object, "data", "d")
		dec, err := base64.StdEncoding.DecodeString(got)
		if err != nil {
			t.Fatalf("the result is not base64: %q", got)
		}
		if string(dec) != prefix+wantText+suffix {
			t.Fatalf("decoded %q, want %q", dec, prefix+wantText+suffix)
		}
	})
}

// FuzzModifiers runs arbitrary pipelines over arbitrary values: no panic,
// and no error that quotes the value.
func FuzzModifiers(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"a":[1,2,{"b":"c"}]}`, "jsonPath {.a[2].b}"}, {"a: [1, 2]", "yamlParse | jsonPath {.a[*]}"},
		{"aGVsbG8=", "base64decode | sha256sum | base64encode"}, {"l1\nl2", "indent 4"}, {"not json at all", "jsonParse"},
		{`{"k": "v"}`, "jsonParse | jsonPath {range .*}{@}{end}"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, value, pipeline string) {
		refs, err := reference.Parse("<path:s/p#k | " + pipeline + ">")
		if err != nil || len(refs) != 1 {
			return
		}
		_, err = applyModifiers(refs[0].Modifiers, value, DefaultMaxValueBytes)
		if err != nil && len(value) >= 8 && !strings.Contains(pipeline, value) && strings.Contains(err.Error(), value) {
			t.Fatalf("the error quotes the value: %v", err)
		}
	})
}
