package reference

import (
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
			if n, err := strconv.Atoi(args[0]); err != nil || n < 0 {
				return nil, fmt.Errorf("modifier indent needs a non-negative number of spaces, got %q", args[0])
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
