package resolver

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// applyModifiers runs a placeholder's pipeline over the value read from the
// backend, with argocd-vault-plugin's semantics. Errors name the modifier and
// what was wrong with its input, never the input: decoder messages quote the
// text they choke on, so they are replaced, not wrapped.
func applyModifiers(mods []reference.Modifier, v any) (any, error) {
	for _, m := range mods {
		var err error
		v, err = applyModifier(m, v)
		if err != nil {
			return nil, fmt.Errorf("modifier %q: %w", m.String(), err)
		}
	}
	return v, nil
}

func applyModifier(m reference.Modifier, v any) (any, error) {
	switch m.Name {
	case "base64encode":
		s, err := scalarText(v)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "base64decode":
		s, ok := v.(string)
		if !ok {
			return nil, needString(v)
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			var ce base64.CorruptInputError
			if errors.As(err, &ce) {
				return nil, fmt.Errorf("the value is not valid base64 (at byte %d)", int64(ce))
			}
			return nil, errors.New("the value is not valid base64")
		}
		return string(b), nil
	case "jsonParse":
		s, ok := v.(string)
		if !ok {
			return nil, needString(v)
		}
		return parseJSON(s)
	case "yamlParse":
		s, ok := v.(string)
		if !ok {
			return nil, needString(v)
		}
		j, err := yaml.YAMLToJSON([]byte(s))
		if err != nil {
			return nil, errors.New("the value is not valid YAML")
		}
		return parseJSON(string(j))
	case "jsonPath":
		return evalJSONPath(m.Args[0], v)
	case "indent":
		s, ok := v.(string)
		if !ok {
			return nil, needString(v)
		}
		n, err := strconv.Atoi(m.Args[0])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("indent needs a non-negative number of spaces, got %q", m.Args[0])
		}
		return indent(s, n), nil
	case "sha256sum":
		s, err := scalarText(v)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:]), nil
	}
	return nil, fmt.Errorf("unknown modifier")
}

// evalJSONPath evaluates a Kubernetes JSONPath template over v, decoding v
// first when it is a JSON string, and returns the printed result, as
// argocd-vault-plugin does (chain jsonParse to get a typed value back).
func evalJSONPath(expr string, v any) (any, error) {
	jp := jsonpath.New("modifier")
	jp.AllowMissingKeys(false)
	if err := jp.Parse(expr); err != nil {
		// Parse errors only quote the expression, which is in the manifest.
		return nil, fmt.Errorf("invalid JSONPath %s: %v", expr, err)
	}
	if s, ok := v.(string); ok {
		parsed, err := parseJSON(s)
		if err != nil {
			return nil, fmt.Errorf("jsonPath needs a map, a list or a JSON string: %w", err)
		}
		v = parsed
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, normalise(v)); err != nil {
		// Execution errors may print the data they walked; keep only the fact.
		return nil, fmt.Errorf("JSONPath %s does not match the value (a path or index that does not exist, or a type that cannot be walked)", expr)
	}
	return buf.String(), nil
}

func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("the value is not valid JSON (at byte %d)", se.Offset)
		}
		return nil, errors.New("the value is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the value is not valid JSON (text after the first JSON value)")
	}
	return normalise(out), nil
}

// indent prefixes every line but the first with n spaces, so a multi-line
// value can sit under a YAML key; empty lines stay empty.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i := 1; i < len(lines); i++ {
		if lines[i] != "" {
			lines[i] = pad + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

func scalarText(v any) (string, error) {
	switch v.(type) {
	case map[string]any, []any, map[any]any:
		return "", needString(v)
	}
	return stringify(v)
}

func needString(v any) error {
	return fmt.Errorf("needs a string value, got a %s", typeName(v))
}
