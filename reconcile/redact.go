package reconcile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// minRedacted is the shortest value redacted wherever it appears. A shorter
// value ("1", "on", "abc") is also a fragment of countless words, numbers and
// names: replacing it everywhere would garble every message. It is redacted
// only where a message quotes a value as a whole (see shortForms).
const minRedacted = 4

// redactor removes the secret values of one resolved set from text that is
// about to leave the process (status, events, logs): an API server
// validation error may quote the value of the field it rejects.
//
// The API server does not quote a value as it was applied: a string is
// printed with Go's %q (field.Error: `Invalid value: "..."`), so a PEM key's
// newlines become `\n` and quotes `\"`; a list or map is printed as JSON
// (with <, > and & as \u003c...); numbers and booleans bare
// (`Invalid value: 3: must be...`); Secret data as base64. Each value is
// redacted in all of these forms.
type redactor struct {
	values []string       // long values and their forms, longest first, so a value that contains another is replaced whole
	short  *regexp.Regexp // short values where quoted whole; nil if none
}

// newRedactor collects every value resolution put into resolved: each
// string leaf that differs from the rendered original, plus the data of
// Secrets whose values came from elsewhere (an unsealed SealedSecret: its
// metadata is the template's, not secret), both as written and
// base64-decoded.
func newRedactor(rendered, resolved []*unstructured.Unstructured) *redactor {
	long, short := map[string]bool{}, map[string]bool{}
	add := func(s string) {
		addForms(s, long, short)
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) > 0 {
			addForms(string(b), long, short)
		}
	}
	for i := range resolved {
		if resolved[i] == nil {
			continue
		}
		var before map[string]any
		if i < len(rendered) && rendered[i] != nil {
			before = rendered[i].Object
		}
		if before != nil && rendered[i].GetKind() != resolved[i].GetKind() {
			// A SealedSecret became a Secret: all of its data is secret.
			collect(nil, resolved[i].Object["data"], add)
			collect(nil, resolved[i].Object["stringData"], add)
			continue
		}
		collect(before, resolved[i].Object, add)
	}
	r := &redactor{}
	for v := range long {
		r.values = append(r.values, v)
	}
	sort.Slice(r.values, func(i, j int) bool {
		if len(r.values[i]) != len(r.values[j]) {
			return len(r.values[i]) > len(r.values[j])
		}
		return r.values[i] < r.values[j]
	})
	r.short = shortPattern(short)
	return r
}

// addForms records value v in the forms a message may carry it in: as is,
// escaped as inside Go's %q (and its ASCII-only %+q), escaped as inside a
// JSON string (with and without HTML escaping), and base64-encoded.
func addForms(v string, long, short map[string]bool) {
	if v == "" {
		return
	}
	if len(v) < minRedacted {
		short[v] = true
		long[base64.StdEncoding.EncodeToString([]byte(v))] = true // "MQ==" is not a word
		return
	}
	forms := []string{
		v,
		unquoted(strconv.Quote(v)),
		unquoted(strconv.QuoteToASCII(v)),
		unquoted(jsonString(v, true)),
		unquoted(jsonString(v, false)),
		base64.StdEncoding.EncodeToString([]byte(v)),
		base64.RawStdEncoding.EncodeToString([]byte(v)),
	}
	for _, f := range forms {
		if len(f) >= minRedacted {
			long[f] = true
		}
	}
}

func unquoted(q string) string {
	if len(q) >= 2 {
		return q[1 : len(q)-1]
	}
	return q
}

func jsonString(v string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// shortPattern matches the short values where a message quotes one as a
// whole: as a Go or JSON quoted string ("1", with the same escapes as
// above), single-quoted ('1'), or bare after ": " up to the next ":", ",",
// ";", ")", "]", space or the end, which is how field.Error prints a number
// or a boolean (`spec.replicas: Invalid value: 3: must be...`). A short
// value inside a word or a longer token ("10s", "v1", "line 3") is kept.
func shortPattern(short map[string]bool) *regexp.Regexp {
	if len(short) == 0 {
		return nil
	}
	quoted := map[string]bool{}
	var bare []string
	for v := range short {
		quoted[strconv.Quote(v)] = true
		quoted[strconv.QuoteToASCII(v)] = true
		quoted[jsonString(v, true)] = true
		quoted[jsonString(v, false)] = true
		quoted["'"+v+"'"] = true
		bare = append(bare, regexp.QuoteMeta(v))
	}
	var alts []string
	for q := range quoted {
		alts = append(alts, regexp.QuoteMeta(q))
	}
	sort.Strings(alts)
	sort.Strings(bare)
	// Longest alternatives first, so "ab" wins over "a".
	byLen := func(s []string) { sort.SliceStable(s, func(i, j int) bool { return len(s[i]) > len(s[j]) }) }
	byLen(alts)
	byLen(bare)
	return regexp.MustCompile(`(` + strings.Join(alts, "|") + `)|(: )(` + strings.Join(bare, "|") + `)([:,;)\] \n]|$)`)
}

func collect(before, after any, add func(string)) {
	switch a := after.(type) {
	case map[string]any:
		b, _ := before.(map[string]any)
		for k, v := range a {
			var bv any
			if b != nil {
				bv = b[k]
			}
			collect(bv, v, add)
		}
	case []any:
		b, _ := before.([]any)
		for i, v := range a {
			var bv any
			if i < len(b) {
				bv = b[i]
			}
			collect(bv, v, add)
		}
	case nil:
	default:
		if before == nil || fmt.Sprint(before) != fmt.Sprint(after) {
			add(fmt.Sprint(after))
		}
	}
}

// String redacts s.
func (r *redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	if r.short != nil {
		s = r.short.ReplaceAllStringFunc(s, r.redactShort)
	}
	return s
}

// redactShort replaces one match of the short pattern, keeping the ": "
// before a bare value and the delimiter after it.
func (r *redactor) redactShort(m string) string {
	sub := r.short.FindStringSubmatch(m)
	if sub[1] != "" {
		return `"<redacted>"`
	}
	return sub[2] + "<redacted>" + sub[4]
}

// Error returns err with every value redacted from its message; the
// original error is dropped when anything was redacted, so no caller can
// unwrap its way back to the value.
func (r *redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := err.Error()
	if red := r.String(msg); red != msg {
		return errors.New(red)
	}
	return err
}
