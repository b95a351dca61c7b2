package manifest

import (
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// FuzzWalk checks that parsing and walking any input neither panics nor
// visits more nodes than the input could hold without alias expansion.
func FuzzWalk(f *testing.F) {
	for _, seed := range []string{
		"kind: Secret\ndata:\n  password: aHVudGVy\n",
		"a: &a [1, 2]\nb: [*a, *a]\nc: {<<: *a}\n",
		"{\"kind\": \"Secret\", \"stringData\": {\"k\": \"v\"}}",
		"- name: TOKEN\n  value: x\n---\n- [[[[]]]]\n",
		"key: |\n  line\n  line2\n",
		"a: !!binary aGVsbG8=\n? [complex, key]\n: value\n",
		"\xff\xfe: \x00\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		docs, _ := Parse(data)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("parsing %d bytes took %v", len(data), d)
		}
		visits := 0
		for _, d := range docs {
			Walk(d, func(path []string, key, value *yaml.Node) bool {
				visits++
				if value == nil {
					t.Fatal("nil value")
				}
				_ = Scalar(value)
				_ = Get(value, "kind")
				return true
			})
		}
		// Each visit is a node written in the input: aliases are not followed.
		if visits > 2*len(data)+2 {
			t.Fatalf("%d visits for %d bytes: aliases were expanded", visits, len(data))
		}
	})
}
