package resolver

import (
	"bytes"
	"errors"
	"fmt"

	"k8s.io/client-go/util/jsonpath"
)

// evalJSONPath evaluates a Kubernetes JSONPath template over v, decoding v
// first when it is a JSON string, and returns the printed result, as
// argocd-vault-plugin does (chain jsonParse to get a typed value back).
func evalJSONPath(expr string, v any, limit int64) (any, error) {
	jp := jsonpath.New("modifier")
	jp.AllowMissingKeys(false)
	if err := jp.Parse(expr); err != nil {
		// Parse errors only quote the expression, which is in the manifest.
		return nil, fmt.Errorf("invalid JSONPath %s: %v", expr, err)
	}
	if err := checkJSONPathCost(expr); err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok {
		parsed, err := parseJSON(s)
		if err != nil {
			return nil, fmt.Errorf("jsonPath needs a map, a list or a JSON string: %w", err)
		}
		v = parsed
	}
	out := &cappedBuffer{limit: limit}
	if err := jp.Execute(out, normalise(v)); err != nil {
		if out.over {
			return nil, &sizeError{limit: limit}
		}
		// Execution errors may print the data they walked; keep only the fact.
		return nil, fmt.Errorf("JSONPath %s does not match the value (a path or index that does not exist, or a type that cannot be walked)", expr)
	}
	return out.buf.String(), nil
}

// cappedBuffer refuses writes past limit, so that a template printing the
// value many times ({.a}{.a}{.a}...) stops at the bound.
type cappedBuffer struct {
	buf   bytes.Buffer
	limit int64
	over  bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if int64(c.buf.Len())+int64(len(p)) > c.limit {
		c.over = true
		return 0, errors.New("over the limit")
	}
	return c.buf.Write(p)
}

// Bounds of a jsonPath template. The evaluator collects every match of
// every action before printing, one reflect.Value each: "{[*]}" repeated
// fifty times over a list of 200,000 numbers allocated 1.3 GB here, and a
// range over a recursive descent is quadratic in the value's nodes. So the
// template's fan-out is bounded, not only its output: no recursive descent,
// at most maxJSONPathFanOut wildcards, slices, filters and unions, and no
// union of more than maxJSONPathUnion members. Reading fixed paths, as
// pipelines do ({.db.host}, {.items[0].name}), is unaffected.
const (
	maxJSONPathFanOut = 2
	maxJSONPathUnion  = 4
)

func checkJSONPathCost(expr string) error {
	p, err := jsonpath.Parse("modifier", expr)
	if err != nil {
		return fmt.Errorf("invalid JSONPath %s: %v", expr, err)
	}
	fanOut := 0
	var walk func(n jsonpath.Node) error
	walk = func(n jsonpath.Node) error {
		switch x := n.(type) {
		case *jsonpath.ListNode:
			for _, c := range x.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *jsonpath.RecursiveNode:
			return fmt.Errorf("JSONPath %s uses a recursive descent (..), which the jsonPath modifier does not allow: name the path", expr)
		case *jsonpath.WildcardNode:
			fanOut++
		case *jsonpath.ArrayNode:
			if !x.Params[1].Derived { // [n] selects one element, [a:b] a slice
				fanOut++
			}
		case *jsonpath.FilterNode:
			fanOut++
			for _, side := range []*jsonpath.ListNode{x.Left, x.Right} {
				if side != nil {
					if err := walk(side); err != nil {
						return err
					}
				}
			}
		case *jsonpath.UnionNode:
			fanOut++
			if len(x.Nodes) > maxJSONPathUnion {
				return fmt.Errorf("JSONPath %s has a union of more than %d members", expr, maxJSONPathUnion)
			}
			for _, c := range x.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(p.Root); err != nil {
		return err
	}
	if fanOut > maxJSONPathFanOut {
		return fmt.Errorf("JSONPath %s selects too widely: at most %d wildcards, slices, filters or unions", expr, maxJSONPathFanOut)
	}
	return nil
}
