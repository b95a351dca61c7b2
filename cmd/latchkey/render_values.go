package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/resolver"
)

// resolvedValues are a chart's values with their references resolved
// (--resolve-values), in memory only.
type resolvedValues struct {
	before, after *unstructured.Unstructured
	prov          resolver.Provenance
	forms         []string // the values as messages may carry them, longest first
}

// resolveChartValues merges the values the chart at dir would be rendered
// with and resolves their references.
func resolveChartValues(ctx context.Context, rsv *resolver.Resolver, dir string, helm render.HelmOptions) (*resolvedValues, error) {
	merged, err := render.HelmValuesDir(dir, helm)
	if err != nil {
		return nil, fmt.Errorf("--resolve-values: %w", err)
	}
	before := resolver.ValuesObject(merged)
	res, err := rsv.Resolve(ctx, []*unstructured.Unstructured{before}, func(int) string { return "Helm values (--resolve-values)" })
	if err != nil {
		return nil, err
	}
	v := &resolvedValues{before: before, after: res.Objects[0], prov: res.Provenance[0]}
	for _, s := range resolver.ValueStrings(before, v.after) {
		if len(s) < 4 {
			continue // too short to tell from the words around it
		}
		v.forms = append(v.forms, s, strings.Trim(strconv.Quote(s), `"`), base64.StdEncoding.EncodeToString([]byte(s)))
	}
	sort.Slice(v.forms, func(i, j int) bool { return len(v.forms[i]) > len(v.forms[j]) })
	return v, nil
}

// redact returns err with the values removed from its message (the
// original is dropped, so nothing unwraps back to a value).
func (v *resolvedValues) redact(err error) error {
	msg := err.Error()
	red := msg
	for _, f := range v.forms {
		red = strings.ReplaceAll(red, f, "<redacted>")
	}
	if red == msg {
		return err
	}
	return errors.New(red)
}

// warnValues says where the chart put the values outside a Secret's data,
// as render warns about any value placed there (the controller refuses it).
func warnValues(cmd *cobra.Command, v *resolvedValues, out *resolver.Result, origin func(int) string) {
	for _, l := range resolver.FindValues(v.before, v.after, v.prov, out.Objects) {
		if l.Landing == resolver.InSecret {
			continue
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "latchkey: warning: %s: field %s: the value of %s (a Helm value) is %s, readable by whoever may read the object (the controller refuses it%s)\n",
			v.redactText(origin(l.Index)), l.Field, l.Ref.Reference, placementWhere(l.Landing), placementOptIn(l.Landing))
	}
}

func (v *resolvedValues) redactText(s string) string {
	for _, f := range v.forms {
		s = strings.ReplaceAll(s, f, "<redacted>")
	}
	return s
}
