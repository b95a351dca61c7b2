package resolver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// applyModifiers runs a placeholder's pipeline over the value read from the
// backend, with argocd-vault-plugin's semantics. Errors name the modifier and
// what was wrong with its input, never the input: decoder messages quote the
// text they choke on, so they are replaced, not wrapped.
//
// limit bounds every result of the pipeline in bytes. A modifier that grows
// its input (base64encode, indent, jsonPath) checks before it allocates, so
// a pipeline such as "base64encode | base64encode | ..." or a wide indent
// fails with the limit named instead of exhausting memory.
func applyModifiers(mods []reference.Modifier, v any, limit int64) (any, error) {
	for _, m := range mods {
		var err error
		v, err = applyModifier(m, v, limit)
		if err == nil {
			if s, ok := v.(string); ok && int64(len(s)) > limit {
				err = &sizeError{limit: limit}
			}
		}
		if err != nil {
			return nil, &modifierError{modifier: m.String(), err: err}
		}
	}
	return v, nil
}

// modifierError is a modifier of a reference's pipeline failing on the value
// it was given: the fix is the pipeline or the value in Vault.
type modifierError struct {
	modifier string
	err      error
}

func (e *modifierError) Error() string { return fmt.Sprintf("modifier %q: %v", e.modifier, e.err) }
func (e *modifierError) Unwrap() error { return e.err }

func applyModifier(m reference.Modifier, v any, limit int64) (any, error) {
	switch m.Name {
	case "base64encode":
		s, err := scalarText(v)
		if err != nil {
			return nil, err
		}
		if int64(base64.StdEncoding.EncodedLen(len(s))) > limit {
			return nil, &sizeError{limit: limit}
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
		if int64(len(j)) > limit {
			// Aliases expand: a small document can stand for a large one.
			return nil, &sizeError{limit: limit}
		}
		return parseJSON(string(j))
	case "jsonPath":
		return evalJSONPath(m.Args[0], v, limit)
	case "indent":
		s, ok := v.(string)
		if !ok {
			return nil, needString(v)
		}
		// The grammar already refused a width over reference.MaxIndent;
		// checked again so that no Modifier built another way can size an
		// allocation.
		n, err := reference.IndentWidth(m.Args[0])
		if err != nil {
			return nil, err
		}
		if indentedLen(s, n) > limit {
			return nil, &sizeError{limit: limit}
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
	if n == 0 {
		return s
	}
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i := 1; i < len(lines); i++ {
		if lines[i] != "" {
			lines[i] = pad + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// indentedLen is len(indent(s, n)), computed without building it.
func indentedLen(s string, n int) int64 {
	size := int64(len(s))
	for i := 0; i < len(s); i++ {
		// A line after a newline is padded unless it is empty.
		if s[i] == '\n' && i+1 < len(s) && s[i+1] != '\n' {
			size += int64(n)
		}
	}
	return size
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
