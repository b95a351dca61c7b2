package resolver

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// lookup finds key in a secret's data. AVP keys are top-level field names;
// vals keys may walk into nested maps with "/" ("api/token").
func lookup(data map[string]any, key string, nested bool) (any, bool) {
	if v, ok := data[key]; ok || !nested {
		return v, ok && v != nil
	}
	var cur any = data
	for _, part := range strings.Split(key, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// normalise converts a value as decoded from JSON (json.Number, nested maps
// and slices) into the types unstructured objects hold: int64, float64,
// string, bool, map[string]any, []any.
func normalise(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalise(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalise(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalise(e)
		}
		return out
	}
	return v
}

// stringify renders a value for insertion into a longer string, a ConfigMap
// or a base64-decoded Secret value: scalars as text, maps and lists as JSON.
func stringify(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []byte:
		return string(x), nil
	case nil:
		return "", nil
	}
	b, err := json.Marshal(normalise(v))
	if err != nil {
		// The encoder's message may quote the value; say only what the type was.
		return "", fmt.Errorf("a %s cannot be written as text", typeName(v))
	}
	return string(b), nil
}

// canonical is the byte form of a value that provenance HMACs are computed
// over: the string itself, or JSON for anything else.
func canonical(v any) []byte {
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	b, err := json.Marshal(normalise(v))
	if err != nil {
		return nil
	}
	return b
}

// typeName names a value's type for messages, without showing the value.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number, int64, int, float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any, map[any]any:
		return "map"
	case []any:
		return "list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
