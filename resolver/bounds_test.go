package resolver

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// boundsStore holds values sized for the bounds below: MaxValueBytes 1 KiB.
func boundsStore() *memBackend {
	m := newMem()
	m.mounts["secret/"] = 2
	m.put("secret/big", map[string]any{
		"k800":  strings.Repeat("k", 800),      // fits; base64 of it does not
		"lines": strings.Repeat("line\n", 100), // 500 bytes; indented by 8 it is 1,292
		"json":  `{"a": "` + strings.Repeat("j", 300) + `"}`,
		"k2000": strings.Repeat("v", 2000),              // over the bound as read
		"list":  "[" + strings.Repeat("1,", 100) + "1]", // for the jsonPath fan-out
		"small": "tinyvalue",
	})
	return m
}

func TestResolveBoundsEachValue(t *testing.T) {
	tests := []struct {
		name, ref string
		want      string // prefix of the failure after the reference
	}{
		{"indent beyond its maximum is refused by the grammar", "<path:secret/big#small | indent 9000000000000>",
			"malformed reference: modifier indent takes at most 64 spaces"},
		{"indent just past the maximum", "<path:secret/big#small | indent 65>",
			"malformed reference: modifier indent takes at most 64 spaces"},
		{"an indent that overflows an int is over the limit, not wrapped", "<path:secret/big#small | indent 99999999999999999999999999>",
			"malformed reference: modifier indent takes at most 64 spaces"},
		{"a negative indent", "<path:secret/big#small | indent -1>",
			"malformed reference: modifier indent needs a number of spaces from 0 to 64"},
		{"an indent whose result would exceed the value bound", "<path:secret/big#lines | indent 8>",
			`modifier "indent 8": the value exceeds the limit of 1Ki per resolved value`},
		{"base64encode growing past the bound", "<path:secret/big#k800 | base64encode>",
			`modifier "base64encode": the value exceeds the limit of 1Ki per resolved value`},
		{"a chain of base64encode stops at the bound", "<path:secret/big#small" + strings.Repeat(" | base64encode", 40) + ">",
			`modifier "base64encode": the value exceeds the limit of 1Ki per resolved value`},
		{"a jsonPath template printing the value many times", "<path:secret/big#json | jsonPath " + strings.Repeat("{.a}", 10) + ">",
			`modifier "jsonPath ` + strings.Repeat("{.a}", 10) + `": the value exceeds the limit of 1Ki per resolved value`},
		{"a jsonPath template that fans out too widely", "<path:secret/big#list | jsonPath {[*]}{[*]}{[*]}>",
			`modifier "jsonPath {[*]}{[*]}{[*]}": JSONPath {[*]}{[*]}{[*]} selects too widely: at most 2`},
		{"a jsonPath recursive descent", "<path:secret/big#json | jsonPath {..a}>",
			`modifier "jsonPath {..a}": JSONPath {..a} uses a recursive descent`},
		{"a value over the bound as read", "<path:secret/big#k2000>",
			"the value exceeds the limit of 1Ki per resolved value"},
		{"a value over the bound as read, before a pipeline that would shrink it", "<path:secret/big#k2000 | sha256sum>",
			"the value exceeds the limit of 1Ki per resolved value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := objects(t, fmt.Sprintf("kind: Secret\nmetadata: {name: s}\nstringData: {a: '%s'}", tt.ref))
			res, err := New(boundsStore(), Options{MaxValueBytes: 1 << 10}).Resolve(context.Background(), in, nil)
			if res != nil {
				t.Fatal("a set with a value over its bound returned objects")
			}
			var re *Error
			if !errors.As(err, &re) || len(re.Failures) != 1 {
				t.Fatalf("want one failure in a *Error, got %v", err)
			}
			f := re.Failures[0]
			if f.Field != "stringData.a" || !strings.HasPrefix(f.Problem, tt.want) || f.Fix == "" {
				t.Fatalf("failure %s\nwant field stringData.a, problem prefix %q and a fix", f, tt.want)
			}
			for _, v := range []string{"kkkkkkkk", "line\nline", "jjjjjjjj", "vvvvvvvv", "tinyvalue", "1,1,1,1"} {
				if strings.Contains(err.Error(), v) {
					t.Fatalf("the error quotes the value: %v", err)
				}
			}
		})
	}
}

func TestResolveAcceptsValuesUpToTheBound(t *testing.T) {
	// Exactly at the bound: 768 bytes encode to 1,024.
	m := boundsStore()
	m.put("secret/edge", map[string]any{"k": strings.Repeat("e", 768), "l": strings.Repeat("x\n", 100)})
	in := objects(t, "kind: Secret\nmetadata: {name: s}\nstringData: {a: '<path:secret/edge#k | base64encode>', b: '<path:secret/edge#l | indent 3>', c: '<path:secret/big#list | jsonPath {[*]}>'}")
	if _, err := New(m, Options{MaxValueBytes: 1 << 10}).Resolve(context.Background(), in, nil); err != nil {
		t.Fatalf("values at the bound: %v", err)
	}
}

func TestResolveBoundsTheWholeSet(t *testing.T) {
	// Twenty references to one 800-byte value, 16,000 bytes, against a total
	// of 4 KiB: the fifth value crosses it. One failure names the limit, the
	// rest of the set is not computed.
	var docs []string
	for i := range 4 {
		docs = append(docs, fmt.Sprintf("kind: Secret\nmetadata: {name: s%d}\nstringData: {a: '<path:secret/big#k800>', b: '<path:secret/big#k800>', c: '<path:secret/big#k800>', d: '<path:secret/big#k800>', e: '<path:secret/big#k800>'}", i))
	}
	res, err := New(boundsStore(), Options{MaxValueBytes: 1 << 10, MaxTotalBytes: 4 << 10}).Resolve(context.Background(), objects(t, docs...), nil)
	if res != nil {
		t.Fatal("a set over its total returned objects")
	}
	var re *Error
	if !errors.As(err, &re) || len(re.Failures) != 1 {
		t.Fatalf("want one failure, got %v", err)
	}
	want := "Secret s1 field stringData.a: secret/big#k800: the values resolved for this set exceed the limit of 4Ki in total (fix: reference fewer"
	if got := re.Failures[0].String(); !strings.HasPrefix(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestResolveDefaultBounds(t *testing.T) {
	r := New(nil, Options{})
	if r.opts.MaxValueBytes != 1<<20 || r.opts.MaxTotalBytes != 64<<20 {
		t.Fatalf("defaults: %d per value, %d in total", r.opts.MaxValueBytes, r.opts.MaxTotalBytes)
	}
	// A value of 1 MiB + 1 fails with the default bound named.
	m := newMem()
	m.mounts["secret/"] = 2
	m.put("secret/huge", map[string]any{"k": strings.Repeat("h", 1<<20+1)})
	in := objects(t, "kind: Secret\nmetadata: {name: s}\nstringData: {a: '<path:secret/huge#k>'}")
	_, err := New(m, Options{}).Resolve(context.Background(), in, nil)
	if err == nil || !strings.Contains(err.Error(), "the value exceeds the limit of 1Mi per resolved value") {
		t.Fatalf("got %v", err)
	}
}

func TestResolveIndentBombAllocatesNothing(t *testing.T) {
	// The reproduction: before the bound this was a fatal
	// out-of-memory, which no recover() can catch.
	in := objects(t, "kind: Secret\nmetadata: {name: s}\nstringData: {a: '<path:secret/big#lines | indent 9000000000000>'}")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := New(boundsStore(), Options{}).Resolve(context.Background(), in, nil)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "modifier indent takes at most 64 spaces") {
		t.Fatalf("got %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("the refused reference allocated %d bytes", grew)
	}
}
