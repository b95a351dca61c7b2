package reference

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Modifier is one step of a placeholder's pipeline, e.g. "jsonPath {.a.b}".
type Modifier struct {
	Name string
	Args []string
}

func (m Modifier) String() string {
	if len(m.Args) == 0 {
		return m.Name
	}
	return m.Name + " " + strings.Join(m.Args, " ")
}

// The modifiers argocd-vault-plugin defines, and how many arguments each takes.
var modifierArity = map[string]struct{ min, max int }{
	"base64encode": {0, 0},
	"base64decode": {0, 0},
	"jsonParse":    {0, 0},
	"yamlParse":    {0, 0},
	"sha256sum":    {0, 0},
	"jsonPath":     {1, 1 << 10},
	"indent":       {1, 1},
}

// parseModifiers parses the "| name args | name args" tail of a placeholder.
func parseModifiers(stages []string) ([]Modifier, error) {
	if len(stages) == 0 {
		return nil, nil
	}
	mods := make([]Modifier, 0, len(stages))
	for _, stage := range stages {
		fields := strings.Fields(stage)
		if len(fields) == 0 {
			return nil, fmt.Errorf("empty modifier after '|'")
		}
		name := fields[0]
		var args []string
		if len(fields) > 1 {
			args = fields[1:]
		}
		arity, ok := modifierArity[name]
		if !ok {
			return nil, fmt.Errorf("unknown modifier %q (known: base64encode, base64decode, jsonPath, jsonParse, yamlParse, indent, sha256sum)", name)
		}
		if len(args) < arity.min || len(args) > arity.max {
			return nil, fmt.Errorf("modifier %q takes %s, got %d", name, arityText(arity.min, arity.max), len(args))
		}
		if name == "indent" {
			if _, err := IndentWidth(args[0]); err != nil {
				return nil, err
			}
		}
		if name == "jsonPath" {
			// jsonPath expressions may contain spaces; keep them as one argument.
			args = []string{strings.Join(args, " ")}
		}
		mods = append(mods, Modifier{Name: name, Args: args})
	}
	return mods, nil
}

// MaxIndent bounds indent's argument. Each line of the value grows by that
// many bytes, so an unbounded width is a memory bomb in a manifest
// (indent 9000000000000 asked for terabytes); no YAML nesting needs more.
const MaxIndent = 64

// IndentWidth parses indent's argument: a number of spaces from 0 to
// MaxIndent. A number too large for an int is refused as over the limit, not
// wrapped; the argument is manifest text, but a refused width is not echoed,
// so that an overlong one does not flood the message.
func IndentWidth(arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	switch {
	case strings.HasPrefix(arg, "-") || (err != nil && !errors.Is(err, strconv.ErrRange)):
		return 0, fmt.Errorf("modifier indent needs a number of spaces from 0 to %d", MaxIndent)
	case err != nil || n > MaxIndent:
		return 0, fmt.Errorf("modifier indent takes at most %d spaces", MaxIndent)
	}
	return n, nil
}

func arityText(lo, hi int) string {
	switch {
	case lo == 0 && hi == 0:
		return "no arguments"
	case lo == hi:
		return fmt.Sprintf("%d argument(s)", lo)
	default:
		return fmt.Sprintf("at least %d argument(s)", lo)
	}
}
